"""The organization's awards list and the worker's badges page send the same number of SQL
statements for 5 and for 50 badges."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from portfolio.extensions import db
from tests.conftest import Client, QueryCounter
from tests.factories import bulk_users, clone_rows


def _more_awards(award: Any, n: int, start: int, recipients: list[int] | None = None) -> None:
    """Copies of `award` (each with a submission of its own) for `n` other workers, or for the
    given recipients."""
    subs = db.metadata.tables["submissions"]
    sub_id = db.session.scalar(select(subs.c.id).where(subs.c.id == award.submission_id))
    assert sub_id is not None
    ids = recipients or bulk_users(n, "holder", start)
    new_subs = clone_rows(
        "submissions",
        sub_id,
        [
            {"public_id": f"bulksub{start + i:016d}", "learner_id": uid, "attempt": start + i + 2}
            for i, uid in enumerate(ids)
        ],
    )
    # One decision per award: each copy gets a copy of the review of its own submission.
    new_reviews = clone_rows(
        "reviews",
        award.review_id,
        [
            {"public_id": f"bulkrev{start + i:018d}", "submission_id": sid}
            for i, sid in enumerate(new_subs)
        ],
    )
    clone_rows(
        "awards",
        award.id,
        [
            {
                "public_id": f"bulkaward{start + i:016d}",
                "recipient_id": uid,
                "submission_id": sid,
                "review_id": rid,
            }
            for i, (uid, sid, rid) in enumerate(zip(ids, new_subs, new_reviews, strict=True))
        ],
    )
    db.session.commit()


def test_awards_list_statements_do_not_grow_with_awards(
    earned: Any, app: Flask, query_counter: QueryCounter
) -> None:
    scenario, award = earned
    admin: Client = app.test_client()  # type: ignore[assignment]
    admin.login(scenario.admin.email)
    path = f"/o/{scenario.org.slug}/awards"
    _more_awards(award, 4, 0)
    small, page = query_counter.get(admin, path)
    assert all(f"Holder {i:03d}" in page for i in range(4))
    _more_awards(award, 45, 4)
    large, page = query_counter.get(admin, path)
    assert all(f"Holder {i:03d}" in page for i in range(49))
    assert small == large, f"{small} statements for 5 awards, {large} for 50"


def test_my_badges_statements_do_not_grow_with_badges(
    earned: Any, client: Client, query_counter: QueryCounter
) -> None:
    scenario, award = earned
    path = "/badges"
    _more_awards(award, 4, 0, recipients=[scenario.worker.id] * 4)
    small, page = query_counter.get(client, path)
    _more_awards(award, 45, 4, recipients=[scenario.worker.id] * 45)
    large, page = query_counter.get(client, path)
    assert page.count(scenario.credential.name) >= 50
    assert small == large, f"{small} statements for 5 badges, {large} for 50"
