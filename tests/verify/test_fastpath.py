"""The hosted documents and the stored badge page answered before Flask
(`portfolio.verify.fastpath`): the same status, bytes and headers as the views give, in one
query, and every case it must not answer (being signed, revoked, stale, a signed-in visitor, a
host the app does not serve) still reaches the app."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text, update
from werkzeug.test import Client as WsgiClient
from werkzeug.wrappers import Response

from portfolio.awards.models import Award
from portfolio.core.db import utcnow
from portfolio.extensions import db
from portfolio.verify.fastpath import HostedDocuments
from tests.conftest import DB_KIND, QueryCounter

VC = {"Accept": "application/vc+ld+json"}
LD = {"Accept": "application/ld+json"}
HTML = {"Accept": "text/html"}


def _fast(app: Flask) -> HostedDocuments:
    fast = app.extensions["portfolio.hosted_documents"]
    assert isinstance(fast, HostedDocuments) and fast.enabled
    return fast


def _both(app: Flask, path: str, headers: dict[str, str]) -> tuple[Response, Response]:
    """The answer through the middleware and the answer of the app behind it."""
    fast = _fast(app)
    outer = WsgiClient(fast, Response).get(path, headers=headers)
    inner = WsgiClient(fast.inner, Response).get(path, headers=headers)
    return outer, inner


def _same(outer: Response, inner: Response) -> None:
    assert outer.status == inner.status
    assert outer.get_data() == inner.get_data()
    skip = {"Date"}
    assert {k: v for k, v in outer.headers.items() if k not in skip} == {
        k: v for k, v in inner.headers.items() if k not in skip
    }


def _paths(award: Any) -> list[tuple[str, dict[str, str]]]:
    aid = award.public_id
    return [
        (f"/badges/{aid}/assertion.json", {}),
        (f"/badges/{aid}/credential.json", {}),
        (f"/badges/{aid}", LD),
        (f"/badges/{aid}", {"Accept": "application/json"}),
        (f"/badges/{aid}", VC),
        (f"/badges/{aid}", HTML),
        (f"/badges/{aid}", {}),
    ]


def test_documents_and_page_match_what_the_views_send(
    app: Flask, earned: Any, query_counter: QueryCounter
) -> None:
    _s, award = earned
    WsgiClient(app, Response).get(f"/badges/{award.public_id}", headers=HTML)  # store the page
    for path, headers in _paths(award):
        with query_counter as statements:
            outer, inner = _both(app, path, headers)
        assert outer.status_code == 200, path
        _same(outer, inner)
        # The app behind needs its own lookups; the middleware answered with one.
        with query_counter as statements:
            WsgiClient(_fast(app), Response).get(path, headers=headers)
        assert len(statements) == 1, (path, statements)
        etag = outer.headers["ETag"]
        outer, inner = _both(app, path, {**headers, "If-None-Match": etag})
        assert outer.status_code == 304, path
        _same(outer, inner)
        head = WsgiClient(_fast(app), Response).head(path, headers=headers)
        assert head.status_code == 200 and head.get_data() == b""


def test_it_answers_only_the_common_case(app: Flask, earned: Any) -> None:
    _s, award = earned
    aid = award.public_id
    page = f"/badges/{aid}"
    client = WsgiClient(app, Response)
    # Not stored yet: the app renders it (and stores it), and the middleware serves it next.
    first = client.get(page, headers=HTML)
    assert first.status_code == 200 and "Wren Worker" in first.get_data(as_text=True)
    _same(*_both(app, page, HTML))
    # A visitor with a session may be the earner: the app answers, privately.
    signed_in = client.get(page, headers={**HTML, "Cookie": "session=abc"})
    assert signed_in.status_code == 200
    # A query string, an unknown badge, a host the app does not answer for: the app's answers.
    assert client.get(f"/badges/{'x' * 22}/assertion.json").status_code == 404
    assert client.get(f"/badges/{aid}/assertion.json?x=1").status_code == 200
    # Revoked: the 410 with the reason comes from the app, and the page says revoked at once.
    db.session.execute(
        update(Award)
        .where(Award.id == award.id)
        .values(revoked_at=utcnow(), revocation_reason="Error")
    )
    db.session.commit()
    gone = client.get(f"/badges/{aid}/assertion.json")
    assert gone.status_code == 410
    _same(*_both(app, f"/badges/{aid}/assertion.json", {}))
    page_now = client.get(page, headers=HTML)
    assert page_now.status_code == 200 and "revoked" in page_now.get_data(as_text=True).lower()
    assert page_now.headers["ETag"] != first.headers["ETag"]
    # Being signed: the app's 404 with Retry-After.
    db.session.execute(
        update(Award)
        .where(Award.id == award.id)
        .values(revoked_at=None, signed_at=None, ob3_credential=None, ob3_sha256=None)
    )
    db.session.commit()
    signing = client.get(page, headers=VC)
    assert signing.status_code == 404 and signing.headers["Retry-After"]
    _same(*_both(app, page, VC))


def test_a_host_the_app_does_not_serve_gets_the_apps_refusal(app: Flask, earned: Any) -> None:
    _s, award = earned
    fast = _fast(app)
    fast.trusted = {"badges.example.org"}
    try:
        resp = WsgiClient(fast, Response).get(
            f"/badges/{award.public_id}/assertion.json", headers={"Host": "evil.example"}
        )
    finally:
        fast.trusted = set()
    inner = WsgiClient(fast.inner, Response).get(
        f"/badges/{award.public_id}/assertion.json", headers={"Host": "evil.example"}
    )
    assert resp.status_code == inner.status_code


@pytest.mark.skipif(DB_KIND != "postgresql", reason="ends a PostgreSQL server connection")
def test_a_dropped_database_connection_costs_no_answer(
    app: Flask, earned: Any, query_counter: QueryCounter
) -> None:
    """The fast path keeps a connection per thread: when the server ends it, that request is
    answered by the app, and the next one by the fast path again on a new connection."""
    _s, award = earned
    path = f"/badges/{award.public_id}/assertion.json"
    client = WsgiClient(_fast(app), Response)
    first = client.get(path)
    assert first.status_code == 200
    db.session.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    db.session.commit()
    with query_counter as statements:
        again = client.get(path)
    assert again.status_code == 200 and again.get_data() == first.get_data()
    assert len(statements) > 1  # the fast path's query failed; the app answered
    with query_counter as statements:
        third = client.get(path)
    assert third.status_code == 200 and third.get_data() == first.get_data()
    assert len(statements) == 1  # the fast path, on a fresh connection
