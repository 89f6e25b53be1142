"""The verifiers that wallets and employers use, run from Node against the live app: DCC's
@digitalcredentials/verifier-core (behind the Learner Credential Wallet and VerifierPlus) and
Digital Bazaar's @digitalbazaar/vc with @digitalbazaar/vc-bitstring-status-list.

Their document loaders fetch the verification method, the controller or DID document and the
status list credential from the app over loopback; nothing is registered by hand, and any
request to another host is refused (and would show in `refused`). Once over http (the embedded
default: keys at URLs of their own) and once over https with a did:web issuer on a local TLS
endpoint (a self-signed certificate trusted through NODE_EXTRA_CA_CERTS).
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portfolio.awards import issuance, revocation
from portfolio.core.db import utcnow
from portfolio.extensions import db
from tests.awards.conftest import award_of, pass_submission
from tests.conftest import Client
from tests.submissions.conftest import Scenario
from tests.verify.live_issuer import LiveIssuer, node_modules_ready, run_live_verifiers

pytestmark = pytest.mark.skipif(
    not node_modules_ready(), reason="npm ci has not installed the verifier libraries"
)


def _issue(client: Client, other_client: Client, scenario: Scenario) -> Any:
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    award = award_of(pass_submission(client, other_client, scenario))
    return award


def _nothing_else(report: dict[str, Any]) -> None:
    """Only the app was asked. DCC's informative schema check (its `additionalInformation`,
    not part of the verdict) asks purl.imsglobal.org for the 1EdTech JSON Schema: refused."""
    schema = {c["id"] for c in report.get("credentialSchema", [])} | {
        "https://purl.imsglobal.org/spec/ob/v3p0/schema/json-ld/"
        "ob_v3p0_achievementcredential_schema.json"
    }
    assert set(report["refused"]) <= schema, report["refused"]


def _loaded_from_app(
    report: dict[str, Any], issuer: LiveIssuer, credential: dict[str, Any]
) -> None:
    """Keys and status list came from the live app, and nothing else was fetched."""
    _nothing_else(report)
    fetched = report["fetched"]
    assert all(url.startswith(issuer.url) for url in fetched), fetched
    status_url = credential["credentialStatus"]["statusListCredential"]
    assert status_url in fetched
    method = credential["proof"][0]["verificationMethod"]
    if issuer.scheme == "https":
        assert method.startswith("did:web:127.0.0.1%3A")
        assert any(url.endswith("/did.json") for url in fetched), fetched
    else:
        assert method in fetched


def test_valid_then_revoked(
    app: Flask,
    live_issuer: LiveIssuer,
    client: Client,
    other_client: Client,
    scenario: Scenario,
    tmp_path: Path,
) -> None:
    award = _issue(client, other_client, scenario)
    credential = json.loads(award.ob3_credential)
    assert credential["credentialStatus"]["type"] == "BitstringStatusListEntry"
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]

    report = run_live_verifiers(live_issuer, credential, tmp_path)
    dcc, dbz = report["dcc"], report["db"]
    assert dcc["errors"] == [] and dcc["signature"] is True, report
    assert dcc["expired"] is False and dcc["statusChecked"] and dcc["revoked"] is False, report
    assert dbz["verified"] is True and dbz["revoked"] is False, report
    _loaded_from_app(report, live_issuer, credential)

    revocation.revoke_award(scenario.admin, award, "Issued in error.")
    db.session.commit()
    report = run_live_verifiers(live_issuer, credential, tmp_path)
    assert report["dcc"]["signature"] is True and report["dcc"]["revoked"] is True, report
    assert report["db"]["revoked"] is True, report
    _loaded_from_app(report, live_issuer, credential)


def test_expired(
    app: Flask,
    live_issuer: LiveIssuer,
    client: Client,
    other_client: Client,
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issued (really: signed by the app) two months ago, valid for one month.
    scenario.credential.expiry_months = 1
    db.session.commit()
    past = utcnow() - timedelta(days=62)
    monkeypatch.setattr(issuance, "utcnow", lambda: past)
    award = _issue(client, other_client, scenario)
    monkeypatch.undo()
    credential = json.loads(award.ob3_credential)
    assert credential["validUntil"] < utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")

    report = run_live_verifiers(live_issuer, credential, tmp_path)
    assert report["dcc"]["signature"] is True and report["dcc"]["expired"] is True, report
    assert report["db"]["verified"] is False and report["db"]["expired"] is True, report
    _nothing_else(report)


@pytest.mark.parametrize("field", ["achievedLevel", "issuer"])
def test_tampered(
    app: Flask,
    live_issuer: LiveIssuer,
    client: Client,
    other_client: Client,
    scenario: Scenario,
    tmp_path: Path,
    field: str,
) -> None:
    award = _issue(client, other_client, scenario)
    tampered = copy.deepcopy(json.loads(award.ob3_credential))
    if field == "achievedLevel":
        result = tampered["credentialSubject"]["result"][0]
        result["achievedLevel"] = result["achievedLevel"].rsplit("-", 1)[0] + "-99"
    else:
        tampered["issuer"]["name"] = "Someone Else Ltd"
    assert tampered != json.loads(award.ob3_credential)

    report = run_live_verifiers(live_issuer, tampered, tmp_path)
    assert report["dcc"]["signature"] is False and report["dcc"]["errors"], report
    assert report["db"]["verified"] is False and report["db"]["signature"] is False, report
    _nothing_else(report)
