"""What an employer sees without an account: the badge page with its verdict, the hosted
documents, evidence pages with the frozen files, baked downloads and the verification endpoint."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from flask import Flask

from portfolio.awards import issuance
from portfolio.awards.ob import bake
from portfolio.extensions import db
from portfolio.storage import get_storage
from tests.conftest import Client

LD = {"Accept": "application/ld+json"}


def _anon(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def test_badge_page_shows_verdict_rubric_evidence_and_sharing(
    app: Flask, client: Client, earned: Any
) -> None:
    s, award = earned
    resp = _anon(app).get(f"/badges/{award.public_id}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert 'data-status="valid"' in page and "This badge is valid" in page
    assert "Fillet Welding" in page and "Wren Worker" in page and "Acme Welding" in page
    assert "Pass the rubric." in page
    for element in s.elements:
        assert element.title in page
    assert "Exceeds" in page
    for item in award.evidence:
        assert f"/badges/{award.public_id}/evidence/{item.public_id}" in page
    assert 'property="og:title"' in page and 'property="og:image"' in page
    # LinkedIn is offered to the earner only (issue 15, finding 23).
    assert "linkedin.com" not in page
    mine = client.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME" in mine
    assert "certUrl=http%3A%2F%2Flocalhost%2Fbadges%2F" in mine
    assert "organizationName=Acme+Welding" in mine
    assert "/static/js/badge.js" in page and "<script>" not in page
    assert "wren@example.org" not in page


def test_badge_url_negotiates_json_ld(app: Flask, earned: Any) -> None:
    s, award = earned
    client = _anon(app)
    for accept in ("application/ld+json", "application/json"):
        resp = client.get(f"/badges/{award.public_id}", headers={"Accept": accept})
        assert resp.status_code == 200 and resp.mimetype == "application/ld+json"
        assert resp.get_data(as_text=True) == award.ob2_assertion
        assert resp.headers["Cache-Control"] == "public, max-age=60"
        assert "Accept" in resp.headers["Vary"]
    etag = resp.headers["ETag"]
    again = client.get(f"/badges/{award.public_id}", headers={**LD, "If-None-Match": etag})
    assert again.status_code == 304
    klass = client.get(f"/badgeclasses/{s.credential.public_id}", headers=LD).get_json()
    assert klass["type"] == "BadgeClass" and klass["issuer"].endswith(s.org.public_id)
    assert client.get(klass["image"].removeprefix("http://localhost")).mimetype == "image/png"
    profile = client.get(f"/issuers/{s.org.public_id}", headers=LD).get_json()
    assert profile["type"] == "Issuer" and profile["name"] == "Acme Welding"
    keys = client.get(f"/issuers/{s.org.public_id}/keys").get_json()
    assert keys["verificationMethod"][0]["type"] == "Multikey"
    assert (
        client.get(f"/badges/{award.public_id}/credential.json")
        .headers["Content-Disposition"]
        .startswith("attachment")
    )
    assert client.get("/badges/AAAAAAAAAAAAAAAAAAAAAA", headers=LD).status_code == 404
    assert client.get("/badges/1", headers=LD).status_code == 404


def test_evidence_page_shows_the_frozen_file(app: Flask, earned: Any) -> None:
    _s, award = earned
    client = _anon(app)
    photo = next(i for i in award.evidence if i.media_type == "image/png")
    page = client.get(f"/badges/{award.public_id}/evidence/{photo.public_id}").get_data(
        as_text=True
    )
    assert photo.sha256 in page and "Prepare the joint" in page and "photo shows it" in page
    assert "<img" in page
    resp = client.get(f"/badges/{award.public_id}/evidence/{photo.public_id}/file?inline=1")
    assert resp.status_code == 302
    file_resp = client.get(resp.location)
    assert file_resp.status_code == 200
    assert hashlib.sha256(file_resp.get_data()).hexdigest() == photo.sha256
    reflection = next(i for i in award.evidence if i.kind == "text")
    page = client.get(f"/badges/{award.public_id}/evidence/{reflection.public_id}").get_data(
        as_text=True
    )
    assert "<strong>arc</strong>" in page
    link = next(i for i in award.evidence if i.kind == "link")
    page = client.get(f"/badges/{award.public_id}/evidence/{link.public_id}").get_data(as_text=True)
    assert "https://example.org/log" in page
    assert (
        client.get(f"/badges/{award.public_id}/evidence/{link.public_id}/file").status_code == 404
    )


def test_baked_downloads_carry_the_documents_and_are_cached(app: Flask, earned: Any) -> None:
    _s, award = earned
    client = _anon(app)
    for major in ("2", "3"):
        for fmt in ("png", "svg"):
            resp = client.get(f"/badges/{award.public_id}/badge-ob{major}.{fmt}")
            assert resp.status_code == 200, (major, fmt)
            assert resp.headers["Content-Disposition"].startswith("attachment")
            data = resp.get_data()
            baked = bake.extract_png(data) if fmt == "png" else bake.extract_svg(data)
            assert baked is not None and baked.version == f"{major}.0"
            stored = award.ob2_assertion if major == "2" else award.ob3_credential
            assert baked.document == json.loads(stored)
            digest = award.ob2_sha256 if major == "2" else award.ob3_sha256
            key = f"badges/baked/{award.public_id}/ob{major}-{digest[:32]}.{fmt}"
            assert get_storage().exists(key)
            assert client.get(f"/badges/{award.public_id}/badge-ob{major}.{fmt}").get_data() == data
    assert client.get(f"/badges/{award.public_id}/badge-ob4.png").status_code == 404


def test_verify_button_and_endpoint(app: Flask, earned: Any) -> None:
    _s, award = earned
    client = _anon(app)
    page = client.get(f"/badges/{award.public_id}/verify").get_data(as_text=True)
    assert 'data-result="valid"' in page and "Signed by Acme Welding" in page
    report = client.get(
        f"/badges/{award.public_id}/verify", headers={"Accept": "application/json"}
    ).get_json()
    assert report["valid"] is True and report["status"] == "valid"
    # By URL of this service.
    report = client.post(
        "/verify",
        data={"url": f"http://localhost/badges/{award.public_id}"},
        headers={"Accept": "application/json"},
    ).get_json()
    assert report["valid"] is True and report["badge"]["recipient"] == "Wren Worker"
    # Other sites are never fetched.
    report = client.post(
        "/verify",
        data={"url": "http://169.254.169.254/latest/meta-data"},
        headers={"Accept": "application/json"},
    ).get_json()
    assert report["valid"] is False and report["status"] == "unknown"
    # A baked image, uploaded.
    png = client.get(f"/badges/{award.public_id}/badge-ob3.png").get_data()
    report = client.post(
        "/verify",
        data={"file": (io.BytesIO(png), "badge.png")},
        headers={"Accept": "application/json"},
        content_type="multipart/form-data",
    ).get_json()
    assert report["valid"] is True and report["format"].startswith("png")
    svg = client.get(f"/badges/{award.public_id}/badge-ob2.svg").get_data()
    report = client.post(
        "/verify",
        data={"file": (io.BytesIO(svg), "badge.svg")},
        headers={"Accept": "application/json"},
        content_type="multipart/form-data",
    ).get_json()
    assert report["valid"] is True, report
    # Credential JSON posted by a program; a tampered one fails.
    credential = json.loads(award.ob3_credential)
    assert client.post("/verify", json=credential).get_json()["valid"] is True
    credential["credentialSubject"]["result"][0]["achievedLevel"] += "x"
    report = client.post("/verify", json=credential).get_json()
    assert report["valid"] is False and report["status"] == "invalid"
    # And the HTML form.
    html = client.post("/verify", data={"json": award.ob2_assertion}).get_data(as_text=True)
    assert 'data-result="valid"' in html
    bad = client.post("/verify", data={"json": "not json"})
    assert bad.status_code == 400 and "not valid JSON" in bad.get_data(as_text=True)


def test_withheld_evidence_is_not_reachable(app: Flask, client: Client, earned: Any) -> None:
    _s, award = earned
    photo = next(i for i in award.evidence if i.media_type == "image/png")
    anon = _anon(app)
    file_url = f"/badges/{award.public_id}/evidence/{photo.public_id}/file"
    assert anon.get(file_url).status_code == 302
    resp = client.submit(
        f"/badges/{award.public_id}/visibility",
        {"hidden": "1", "evidence": photo.public_id},
        page="/badges",
    )
    assert resp.status_code == 302
    page = anon.get(f"/badges/{award.public_id}/evidence/{photo.public_id}")
    assert page.status_code == 403 and "withheld by the earner" in page.get_data(as_text=True)
    assert photo.sha256 not in page.get_data(as_text=True)
    assert anon.get(file_url).status_code == 404
    assert anon.get(file_url + "?inline=1").status_code == 404
    badge = anon.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert f"/evidence/{photo.public_id}" not in badge and "Withheld by the earner" in badge
    # The whole badge: the verdict stays, the details go.
    client.submit(f"/badges/{award.public_id}/visibility", {"hidden": "1"}, page="/badges")
    badge = anon.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert "This badge is valid" in badge and "Prepare the joint" not in badge
    for item in award.evidence:
        assert (
            anon.get(f"/badges/{award.public_id}/evidence/{item.public_id}/file").status_code == 404
        )
    assert (
        anon.get(
            f"/badges/{award.public_id}/verify", headers={"Accept": "application/json"}
        ).get_json()["valid"]
        is True
    )
    # Showing it again brings the page back.
    client.submit(f"/badges/{award.public_id}/visibility", {"hidden": "0"}, page="/badges")
    assert "Prepare the joint" in anon.get(f"/badges/{award.public_id}").get_data(as_text=True)


def test_public_views_are_read_only(app: Flask, earned: Any) -> None:
    _s, award = earned
    anon = _anon(app)
    assert anon.post(f"/badges/{award.public_id}").status_code == 405
    db.session.expire_all()
    assert issuance.get_award(award.public_id).ob2_sha256 == award.ob2_sha256
