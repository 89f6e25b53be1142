"""A worker downloads all their badges as one signed CLR 2.0 `ClrCredential` from My badges:
it verifies, embeds each signed badge unchanged, lists the achievements with their credit, and
relates a pathway's achievement to its components."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from portfolio.awards import documents, revocation, signing_keys
from portfolio.awards.ob import proof
from portfolio.core.db import utcnow
from portfolio.extensions import db
from tests.conftest import Client


def _download(client: Client, url: str = "/badges/learner-record") -> dict[str, Any]:
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/vc+ld+json"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    document: dict[str, Any] = json.loads(resp.get_data(as_text=True))
    return document


def test_my_badges_exports_one_signed_learner_record(
    app: Flask, client: Client, earned: Any
) -> None:
    s, award = earned
    html = client.get("/badges").get_data(as_text=True)
    assert 'href="/badges/learner-record"' in html and "Download the learner record" in html

    clr = _download(client)
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"]
    assert clr["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert clr["issuer"]["id"] == signing_keys.controller_id(s.org)
    subject = clr["credentialSubject"]
    assert subject["type"] == ["ClrSubject"]
    assert subject["identifier"][0]["identityHash"].startswith("sha256$")
    assert subject["verifiableCredential"] == [json.loads(award.ob3_credential)]
    assert [a["id"] for a in subject["achievement"]] == [documents.badge_class_url(s.credential)]

    report = proof.verify_credential(clr, signing_keys.key_resolver_for(s.org), now=utcnow())
    assert report.valid, report.reasons
    tampered = json.loads(json.dumps(clr))
    tampered["credentialSubject"]["achievement"][0]["name"] = "Something else"
    assert not proof.verify_credential(tampered, signing_keys.key_resolver_for(s.org)).valid


def test_revoked_badges_stay_out_and_nothing_to_export_says_so(
    app: Flask, client: Client, earned: Any
) -> None:
    s, award = earned
    revocation.revoke_award(s.admin, award, "Issued in error.")
    db.session.commit()
    resp = client.get("/badges/learner-record")
    assert resp.status_code == 302
    assert "You have no badges to export yet." in client.get("/badges").get_data(as_text=True)
