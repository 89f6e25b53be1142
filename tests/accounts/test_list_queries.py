"""The members page comes in keyset pages of 50, with the same number of SQL statements per
page at 60 and at 120 members, and every member on exactly one page."""

from __future__ import annotations

from typing import Any

from portfolio.accounts.models import Role
from tests.conftest import Client, QueryCounter
from tests.factories import bulk_members
from tests.paging import cells, follow, link


def test_members_page_statements_do_not_grow_with_members(
    client: Client, make: Any, query_counter: QueryCounter
) -> None:
    org = make.org()
    make.user((org, Role.ADMIN), email="admin@example.org")
    client.login("admin@example.org")
    path = f"/o/{org.slug}/members"
    bulk_members(org, 59)
    small, page = query_counter.get(client, path)
    assert page.count("Remove role") == 50
    second = link(page, "next")
    assert second is not None
    small_next, page = query_counter.get(client, second)
    assert page.count("Remove role") == 10 and link(page, "next") is None
    bulk_members(org, 60, start=59)
    large, page = query_counter.get(client, path)
    assert page.count("Remove role") == 50
    second = link(page, "next")
    assert second is not None
    large_next, page = query_counter.get(client, second)
    assert page.count("Remove role") == 50 and link(page, "next") is not None
    assert small == large, f"{small} statements for 60 members, {large} for 120"
    assert small_next == large_next, f"{small_next} statements for 60 members, {large_next} for 120"


def test_members_pages_show_every_member_once(client: Client, make: Any) -> None:
    org = make.org()
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    client.login("admin@example.org")
    bulk_members(org, 119)
    # The same person in two roles is two rows with one name: the membership id breaks the tie.
    bulk_members_again = [f"Member {i:03d}" for i in (48, 49, 50)]
    from sqlalchemy import select

    from portfolio.accounts.models import Membership, User
    from portfolio.core.db import utcnow
    from portfolio.extensions import db

    for name in bulk_members_again:
        uid = db.session.scalar(select(User.id).where(User.display_name == name))
        db.session.add(
            Membership(user_id=uid, organization_id=org.id, role=Role.ASSESSOR, created_at=utcnow())
        )
    db.session.commit()
    path = f"/o/{org.slug}/members"
    first = client.get(path).get_data(as_text=True)
    assert link(first, "prev") is None and link(first, "next") is not None
    pages = follow(client, path, "Name")
    assert [len(p) for p in pages] == [50, 50, 23]
    shown = [name for p in pages for name in p]
    expected = sorted([f"Member {i:03d}" for i in range(119)] + bulk_members_again)
    assert sorted(n for n in shown if n != admin.display_name) == expected
    assert shown.count(admin.display_name) == 1
    # "Previous page" from the second page shows the first page again.
    second = client.get(link(first, "next") or "").get_data(as_text=True)
    back = link(second, "prev")
    assert back is not None
    assert cells(client.get(back).get_data(as_text=True), "Name") == pages[0]
