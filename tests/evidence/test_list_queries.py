"""The portfolio library sends the same number of SQL statements for 5 and for 50 items, in
both layouts."""

from __future__ import annotations

import pytest

from portfolio.accounts.models import User
from portfolio.evidence import services
from portfolio.extensions import db
from tests.conftest import Client, QueryCounter


def _links(worker: User, n: int, start: int) -> None:
    for i in range(start, start + n):
        services.create_link(
            worker,
            title=f"Weld photo {i:03d}",
            url=f"https://example.org/welds/{i}",
            tags=[f"bay-{i % 7}", "welding"],
        )
    db.session.commit()


@pytest.mark.parametrize("path", ["/portfolio/", "/portfolio/?view=list"])
def test_library_statements_do_not_grow_with_items(
    worker: User, worker_client: Client, query_counter: QueryCounter, path: str
) -> None:
    _links(worker, 5, 0)
    small, page = query_counter.get(worker_client, path)
    assert "Weld photo 004" in page
    _links(worker, 45, 5)
    large, page = query_counter.get(worker_client, path)
    assert "Weld photo 049" in page
    assert small == large, f"{small} statements for 5 items, {large} for 50"
