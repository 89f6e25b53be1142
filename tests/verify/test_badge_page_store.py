"""The badge page an employer opens, served as stored bytes: one query, no user loaded, an ETag
and 304s for caches in front, and every change (revocation, hiding, an expiry passing, a new
credential version) visible on the next view."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import update

from portfolio.awards.models import Award
from portfolio.core.db import utcnow
from portfolio.extensions import db
from tests.conftest import Client, QueryCounter

LD = {"Accept": "application/ld+json"}


def _anon(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def _touches_users(statements: list[str]) -> list[str]:
    return [s for s in statements if "users" in s.lower()]


def test_repeat_views_are_one_query_with_etag_and_304(
    app: Flask, earned: Any, query_counter: QueryCounter
) -> None:
    _s, award = earned
    visitor = _anon(app)
    url = f"/badges/{award.public_id}"
    first = visitor.get(url)  # renders the page once and keeps it
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=60"
    etag = first.headers["ETag"]
    # Another page for a signed-in earner at the same URL: caches key on both.
    assert etag and {"Accept", "Cookie"} <= set(first.headers["Vary"].split(", "))
    assert "Set-Cookie" not in first.headers
    with query_counter as statements:
        again = _anon(app).get(url)
    assert again.status_code == 200 and again.headers["ETag"] == etag
    assert again.get_data() == first.get_data()
    assert "Wren Worker" in again.get_data(as_text=True)
    assert len(statements) == 1, statements
    assert not _touches_users(statements), statements
    with query_counter as statements:
        cached = _anon(app).get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.get_data() == b""
    assert cached.headers["ETag"] == etag
    assert len(statements) == 1 and not _touches_users(statements)


def test_hosted_documents_are_one_query_without_users_and_answer_304(
    app: Flask, earned: Any, query_counter: QueryCounter
) -> None:
    _s, award = earned
    for path, headers in (
        (f"/badges/{award.public_id}/assertion.json", {}),
        (f"/badges/{award.public_id}/credential.json", {}),
        (f"/badges/{award.public_id}", LD),
        (f"/badges/{award.public_id}", {"Accept": "application/vc+ld+json"}),
    ):
        with query_counter as statements:
            resp = _anon(app).get(path, headers=headers)
        assert resp.status_code == 200, path
        assert resp.headers["Cache-Control"] == "public, max-age=60"
        assert len(statements) == 1, (path, statements)
        assert not _touches_users(statements), (path, statements)
        again = _anon(app).get(path, headers={**headers, "If-None-Match": resp.headers["ETag"]})
        assert again.status_code == 304, path


def test_revocation_changes_the_etag_and_shows_at_once(app: Flask, earned: Any) -> None:
    s, award = earned
    url = f"/badges/{award.public_id}"
    before = _anon(app).get(url)
    assert 'data-status="valid"' in before.get_data(as_text=True)
    admin = _anon(app)
    admin.login("admin@example.org")
    resp = admin.submit(
        f"/o/{s.org.slug}/awards/{award.public_id}/revoke",
        {"reason": "Evidence was not the worker's own."},
        page=f"/o/{s.org.slug}/awards",
    )
    assert resp.status_code == 302
    after = _anon(app).get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    page = after.get_data(as_text=True)
    assert 'data-status="revoked"' in page and "Evidence was not the worker&#39;s own." in page
    # The revoked page is stored in turn: repeat views get the same bytes.
    assert _anon(app).get(url).headers["ETag"] == after.headers["ETag"]


def test_hiding_changes_the_etag_and_the_page(app: Flask, client: Client, earned: Any) -> None:
    _s, award = earned
    url = f"/badges/{award.public_id}"
    before = _anon(app).get(url)
    assert "Withheld by the earner" not in before.get_data(as_text=True)
    client.submit(f"/badges/{award.public_id}/visibility", {"hidden": "1"}, page="/badges")
    after = _anon(app).get(url)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "chosen not to show the details" in after.get_data(as_text=True)
    client.submit(f"/badges/{award.public_id}/visibility", {"hidden": "0"}, page="/badges")
    item = award.evidence[0]
    client.submit(
        f"/badges/{award.public_id}/visibility",
        {"hidden": "1", "evidence": item.public_id},
        page="/badges",
    )
    withheld = _anon(app).get(url).get_data(as_text=True)
    assert "chosen not to show the details" not in withheld
    assert "Withheld by the earner" in withheld


def test_an_expiry_passing_shows_without_any_change_to_the_award(app: Flask, earned: Any) -> None:
    _s, award = earned
    url = f"/badges/{award.public_id}"
    soon = utcnow() + timedelta(days=1)
    db.session.execute(update(Award).where(Award.id == award.id).values(expires_at=soon))
    db.session.commit()
    valid = _anon(app).get(url)
    assert 'data-status="valid"' in valid.get_data(as_text=True)
    # Time passes: nothing in the row changes but the clock (a Core statement that the page
    # store does not see, as no write happens when a badge expires).
    table = Award.__table__
    db.session.execute(
        update(table)
        .where(table.c.id == award.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    expired = _anon(app).get(url, headers={"If-None-Match": valid.headers["ETag"]})
    assert expired.status_code == 200
    assert 'data-status="expired"' in expired.get_data(as_text=True)


def test_the_earner_gets_a_private_page_of_their_own(
    app: Flask, client: Client, earned: Any
) -> None:
    _s, award = earned
    url = f"/badges/{award.public_id}"
    mine = client.get(url)
    assert mine.status_code == 200
    control = mine.headers["Cache-Control"]
    assert "private" in control and "public" not in control
    assert "Cookie" in mine.headers["Vary"]
    assert "Manage this badge" in mine.get_data(as_text=True)
    public = _anon(app).get(url)
    assert public.headers["Cache-Control"] == "public, max-age=60"
    text = public.get_data(as_text=True)
    assert "Manage this badge" not in text and "Signed in as" not in text
    assert "wren@example.org" not in text


def test_renaming_the_issuer_shows_on_the_next_view(app: Flask, earned: Any) -> None:
    s, award = earned
    url = f"/badges/{award.public_id}"
    before = _anon(app).get(url)
    assert "Acme Welding" in before.get_data(as_text=True)
    org = db.session.get(type(s.org), s.org.id)
    org.name = "Acme Welding and Fabrication"
    db.session.commit()
    after = _anon(app).get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert "Acme Welding and Fabrication" in after.get_data(as_text=True)


def test_issuer_documents_are_one_query_without_users_and_answer_304(
    app: Flask, earned: Any, query_counter: QueryCounter
) -> None:
    import json

    s, award = earned
    oid = s.org.public_id
    credential = json.loads(award.ob3_credential)
    status = credential["credentialStatus"]
    status = status[0] if isinstance(status, list) else status
    status_path = status["statusListCredential"].removeprefix("http://localhost")
    keys = _anon(app).get(f"/issuers/{oid}/keys")
    assert keys.status_code == 200
    multibase = keys.get_json()["assertionMethod"][0]
    multibase = multibase if isinstance(multibase, str) else multibase["id"]
    key_path = f"/issuers/{oid}/keys/{multibase.rsplit('/', 1)[-1].split('#')[-1]}"
    for path, headers in (
        (f"/issuers/{oid}", LD),
        (f"/issuers/{oid}/keys", {}),
        (key_path, {}),
        (status_path, {}),
    ):
        with query_counter as statements:
            resp = _anon(app).get(path, headers=headers)
        assert resp.status_code == 200, (path, resp.status_code)
        assert resp.headers["Cache-Control"] == "public, max-age=60", path
        assert len(statements) == 1, (path, statements)
        assert not _touches_users(statements), (path, statements)
        again = _anon(app).get(path, headers={**headers, "If-None-Match": resp.headers["ETag"]})
        assert again.status_code == 304, path
    assert _anon(app).get(f"/issuers/{oid}/keys/z6MkNoSuchKey").status_code == 404
    assert _anon(app).get("/issuers/nosuchissuer000000000/keys").status_code == 404


def test_account_deletion_shows_withdrawn_evidence_on_a_stored_page(
    app: Flask, client: Client, earned: Any
) -> None:
    _s, award = earned
    url = f"/badges/{award.public_id}"
    before = _anon(app).get(url)
    assert "Wren Worker" in before.get_data(as_text=True)
    resp = client.submit(
        "/account/delete",
        {"password": "correct horse battery", "confirm": "delete"},
        page="/account/data",
    )
    assert resp.status_code == 302
    after = _anon(app).get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    page = after.get_data(as_text=True)
    assert "Withdrawn by the earner" in page and 'data-status="valid"' in page
