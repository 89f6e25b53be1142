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

from portfolio.awards import issuance
from portfolio.awards.models import Award
from portfolio.awards.ob import proof
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
    oid = credential["credentialStatus"]["id"].split("/issuers/")[1].split("/")[0]
    if issuer.startswith("did:web:"):
        document = _get(app, f"/issuers/{oid}/did.json").get_json()
    else:
        document = _get(app, f"/issuers/{oid}/keys").get_json()
    assert document["id"] == issuer
    return dict(document)


def test_issued_credential_is_valid_everywhere(
    app: Flask, issued: Any, tmp_path: Path, node_verifier: Path
) -> None:
    s, award = issued
    credential = json.loads(award.ob3_credential)
    assert_schema_valid(credential)
    controller = _controller(app, credential)
    report = proof.verify_credential(credential, proof.key_resolver([controller]), now=utcnow())
    assert report.valid, report.reasons
    status_path = "/" + credential["credentialStatus"]["id"].split("/", 3)[3]
    status = _get(app, status_path).get_json()
    code, node = run_verifier(node_verifier, tmp_path, credential, controller, status)
    assert code == 0 and node["verified"] is True, node
    # Tampering is caught by the independent verifier too.
    tampered = json.loads(award.ob3_credential)
    tampered["credentialSubject"]["result"][0]["achievedLevel"] += "x"
    code, node = run_verifier(node_verifier, tmp_path, tampered, controller, status)
    assert code == 1 and node["verified"] is False
    # After revocation the served status list makes it fail.
    issuance.revoke_award(s.admin, award, "Issued in error.")
    db.session.commit()
    status = _get(app, status_path).get_json()
    code, node = run_verifier(node_verifier, tmp_path, credential, controller, status)
    assert code == 1 and any("revoked" in e for e in node["errors"])
