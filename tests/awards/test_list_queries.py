"""The organization's awards list comes in keyset pages of 50 with the same number of SQL
statements per page at 60 and at 120 awards; the worker's badges page sends the same number for
5 and for 50 badges."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from portfolio.extensions import db
from tests.conftest import Client, QueryCounter
from tests.factories import bulk_users, clone_rows
from tests.paging import cells, follow, link


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
    _more_awards(award, 59, 0)
    small, page = query_counter.get(admin, path)
    assert len(cells(page, "Worker")) == 50
    second = link(page, "next")
    assert second is not None
    small_next, page = query_counter.get(admin, second)
    assert len(cells(page, "Worker")) == 10 and link(page, "next") is None
    _more_awards(award, 60, 59)
    large, page = query_counter.get(admin, path)
    assert len(cells(page, "Worker")) == 50
    second = link(page, "next")
    assert second is not None
    large_next, page = query_counter.get(admin, second)
    assert len(cells(page, "Worker")) == 50 and link(page, "next") is not None
    assert small == large, f"{small} statements for 60 awards, {large} for 120"
    assert small_next == large_next, f"{small_next} statements for 60 awards, {large_next} for 120"


def test_awards_list_pages_show_every_award_once(earned: Any, app: Flask) -> None:
    scenario, award = earned
    admin: Client = app.test_client()  # type: ignore[assignment]
    admin.login(scenario.admin.email)
    # 119 copies issued at the same moment as the original: the id breaks the ties.
    _more_awards(award, 119, 0)
    path = f"/o/{scenario.org.slug}/awards"
    first = admin.get(path).get_data(as_text=True)
    assert link(first, "prev") is None and link(first, "next") is not None
    pages = follow(admin, path, "Worker")
    assert [len(p) for p in pages] == [50, 50, 20]
    shown = [name for p in pages for name in p]
    expected = {f"Holder {i:03d}" for i in range(119)} | {scenario.worker.display_name}
    assert len(shown) == 120 and set(shown) == expected
    # "Previous page" from the last page shows the second page again, in the same order.
    last = admin.get(path)
    for _ in range(2):
        nxt = link(last.get_data(as_text=True), "next")
        assert nxt is not None
        last = admin.get(nxt)
    back = link(last.get_data(as_text=True), "prev")
    assert back is not None
    assert cells(admin.get(back).get_data(as_text=True), "Worker") == pages[1]


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
