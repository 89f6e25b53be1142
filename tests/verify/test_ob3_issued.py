"""Every OB 3.0 credential we issue validates against the 1EdTech schema and verifies, both with
our verifier and with Digital Bazaar's (tests/awards/ob/verifier), with the issuer's keys and
revocation list as served by the app; over https the issuer is a did:web DID."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portfolio.awards import revocation
from portfolio.awards.models import Award
from portfolio.awards.ob import proof, status_list
from portfolio.core.db import utcnow
from portfolio.extensions import db
from tests.awards.conftest import award_of, pass_submission
from tests.awards.ob.test_independent_verifier import (  # noqa: F401 - fixture reused
    node_verifier,
    run_verifier,
)
from tests.awards.ob.test_ob3 import assert_schema_valid
from tests.conftest import Client
from tests.submissions.conftest import Scenario


@pytest.fixture(params=["http://localhost", "https://badges.example.org"])
def issued(
    request: pytest.FixtureRequest,
    app: Flask,
    client: Client,
    other_client: Client,
    scenario: Scenario,
) -> tuple[Scenario, Award]:
    """A badge issued with PUBLIC_BASE_URL on http (a Multikey controller document) or https
    (a did:web issuer)."""
    cfg = app.config["PORTFOLIO"]
    app.config["PORTFOLIO"] = dataclasses.replace(cfg, public_base_url=request.param)
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    award = award_of(pass_submission(client, other_client, scenario))
    return scenario, award


def _get(app: Flask, path: str) -> Any:
    app.test_client_class = Client
    return app.test_client().get(path)


def _controller(app: Flask, credential: dict[str, Any]) -> dict[str, Any]:
    issuer = credential["issuer"]["id"]
    oid = credential["credentialStatus"]["statusListCredential"].split("/issuers/")[1]
    oid = oid.split("/")[0]
    if issuer.startswith("did:web:"):
        document = _get(app, f"/issuers/{oid}/did.json").get_json()
    else:
        document = _get(app, f"/issuers/{oid}/keys").get_json()
    assert document["id"] == issuer
    return dict(document)


def _status(app: Flask, credential: dict[str, Any]) -> tuple[Any, bool]:
    """The served status list response and whether the credential's bit is set in it."""
    entry = credential["credentialStatus"]
    response = _get(app, "/" + entry["statusListCredential"].split("/", 3)[3])
    assert response.status_code == 200
    listed = response.get_json()
    bits = status_list.decode_list(listed["credentialSubject"]["encodedList"])
    assert len(bits) * 8 >= 131_072
    return response, status_list.is_set(bits, int(entry["statusListIndex"]))


def test_issued_credential_is_valid_everywhere(
    app: Flask, issued: Any, tmp_path: Path, node_verifier: Path
) -> None:
    s, award = issued
    credential = json.loads(award.ob3_credential)
    assert_schema_valid(credential)
    controller = _controller(app, credential)
    resolver = proof.key_resolver([controller])
    report = proof.verify_credential(credential, resolver, now=utcnow())
    assert report.valid, report.reasons
    code, node = run_verifier(node_verifier, tmp_path, credential, controller)
    assert code == 0 and node["verified"] is True, node
    # Tampering is caught by the independent verifier too.
    tampered = json.loads(award.ob3_credential)
    tampered["credentialSubject"]["result"][0]["achievedLevel"] += "x"
    code, node = run_verifier(node_verifier, tmp_path, tampered, controller)
    assert code == 1 and node["verified"] is False
    # The status list credential is signed by the same issuer; the bit flips on revocation.
    response, revoked = _status(app, credential)
    assert not revoked
    assert response.headers["Cache-Control"] == "public, max-age=60" and response.headers["ETag"]
    listed = response.get_json()
    assert listed["issuer"] == credential["issuer"]["id"]
    assert proof.verify_credential(listed, resolver, now=utcnow()).valid
    revocation.revoke_award(s.admin, award, "Issued in error.")
    db.session.commit()
    again, revoked = _status(app, credential)
    assert revoked and again.headers["ETag"] != response.headers["ETag"]
    assert proof.verify_credential(again.get_json(), resolver, now=utcnow()).valid
    # Credentials issued before status lists keep their 1EdTech list.
    legacy = _get(app, f"/issuers/{s.org.public_id}/revocations").get_json()
    assert legacy["revokedCredential"][0]["id"] == credential["id"]


def test_share_url_answers_the_credential_to_wallets(app: Flask, issued: Any) -> None:
    _, award = issued
    path = f"/badges/{award.public_id}"
    app.test_client_class = Client
    web = app.test_client()
    vc = web.get(path, headers={"Accept": "application/vc+ld+json"})
    assert vc.status_code == 200 and vc.mimetype == "application/vc+ld+json"
    assert vc.get_json() == json.loads(award.ob3_credential)
    assertion = web.get(path, headers={"Accept": "application/ld+json"})
    assert assertion.get_json()["type"] == "Assertion"
    assert "text/html" in web.get(path, headers={"Accept": "text/html"}).content_type
