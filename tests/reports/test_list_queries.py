"""The reports dashboard sends the same number of SQL statements for 5 and for 50 more decided
submissions (with their reviews and scores)."""

from __future__ import annotations

from sqlalchemy import select

from portfolio.extensions import db
from tests.conftest import Client, QueryCounter
from tests.factories import bulk_users, clone_rows
from tests.reports.conftest import ReportData

PERIOD = "?from=2024-02-25&to=2024-03-31"


def _more_decided(data: ReportData, n: int, start: int) -> None:
    """Copies of a passed Fillet Welding submission, its review and scores, for `n` workers."""
    subs, reviews, scores = (db.metadata.tables[t] for t in ("submissions", "reviews", "scores"))
    sub_id, review_id = db.session.execute(
        select(subs.c.id, reviews.c.id)
        .join(reviews, reviews.c.submission_id == subs.c.id)
        .where(subs.c.credential_id == data.fillet.id, subs.c.state == "passed")
        .order_by(subs.c.id)
        .limit(1)
    ).one()
    score_ids = list(db.session.scalars(select(scores.c.id).where(scores.c.review_id == review_id)))
    for i, uid in enumerate(bulk_users(n, "reported", start)):
        (new_sub,) = clone_rows(
            "submissions", sub_id, [{"public_id": f"repsub{start + i:016d}", "learner_id": uid}]
        )
        change = {"public_id": f"reprev{start + i:016d}", "submission_id": new_sub}
        (new_review,) = clone_rows("reviews", review_id, [change])
        for score_id in score_ids:
            clone_rows("scores", score_id, [{"review_id": new_review}])
    db.session.commit()


def test_dashboard_statements_do_not_grow_with_submissions(
    report_data: ReportData, client: Client, query_counter: QueryCounter
) -> None:
    client.login("admin@example.org")
    path = "/o/acme/reports" + PERIOD
    _more_decided(report_data, 5, 0)
    small, page = query_counter.get(client, path)
    assert '<dd id="fig-decided">10</dd>' in page
    _more_decided(report_data, 45, 5)
    large, page = query_counter.get(client, path)
    assert '<dd id="fig-decided">55</dd>' in page
    assert small == large, f"{small} statements with 5 more submissions, {large} with 50"
