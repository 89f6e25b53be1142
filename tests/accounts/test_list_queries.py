"""The members page sends the same number of SQL statements for 5 and for 50 members."""

from __future__ import annotations

from typing import Any

from portfolio.accounts.models import Role
from tests.conftest import Client, QueryCounter
from tests.factories import bulk_members


def test_members_page_statements_do_not_grow_with_members(
    client: Client, make: Any, query_counter: QueryCounter
) -> None:
    org = make.org()
    make.user((org, Role.ADMIN), email="admin@example.org")
    client.login("admin@example.org")
    path = f"/o/{org.slug}/members"
    bulk_members(org, 4)
    small, page = query_counter.get(client, path)
    assert page.count("Remove role") == 5
    bulk_members(org, 45, start=4)
    large, page = query_counter.get(client, path)
    assert page.count("Remove role") == 50 and "Member 048" in page
    assert small == large, f"{small} statements for 5 members, {large} for 50"
