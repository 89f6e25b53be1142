"""A worker's learner record (CLR 2.0 `ClrCredential`) checked by outside verifiers that fetch
keys and status lists from the live app (see test_live_verifiers.py for the harness): Digital
Bazaar's vc verifies the record's own proof, and DCC's verifier-core and Digital Bazaar's vc
each verify every badge embedded in it, exactly as it was issued. Over http and over https
with a did:web issuer."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portfolio.extensions import db
from tests.awards.conftest import award_of, pass_submission
from tests.conftest import Client
from tests.submissions.conftest import Scenario
from tests.verify.live_issuer import LiveIssuer, node_modules_ready, run_live_verifiers

pytestmark = pytest.mark.skipif(
    not node_modules_ready(), reason="npm ci has not installed the verifier libraries"
)


def _only_the_app(report: dict[str, Any], issuer: LiveIssuer) -> None:
    schema = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json-ld/"
    assert all(url.startswith(schema) for url in report["refused"]), report["refused"]
    assert all(url.startswith(issuer.url) for url in report["fetched"]), report["fetched"]


def test_learner_record_verifies_and_so_does_every_badge_in_it(
    app: Flask,
    live_issuer: LiveIssuer,
    client: Client,
    other_client: Client,
    scenario: Scenario,
    tmp_path: Path,
) -> None:
    scenario.credential.credits_available = 2.5
    scenario.credential.credits_unit = "credit hours"
    db.session.commit()
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    award = award_of(pass_submission(client, other_client, scenario))
    resp = client.get("/badges/learner-record")
    assert resp.status_code == 200
    record = json.loads(resp.get_data(as_text=True))
    subject = record["credentialSubject"]
    assert subject["verifiableCredential"] == [json.loads(award.ob3_credential)]
    assert subject["achievement"][0]["creditsAvailable"] == 2.5

    report = run_live_verifiers(live_issuer, record, tmp_path, db_only=True)
    assert report["db"]["verified"] is True, report
    assert report["db"]["signature"] is True, report
    _only_the_app(report, live_issuer)
    method = record["proof"][0]["verificationMethod"]
    if live_issuer.scheme == "https":
        assert method.startswith("did:web:127.0.0.1%3A")
    else:
        assert method in report["fetched"]

    for embedded in subject["verifiableCredential"]:
        report = run_live_verifiers(live_issuer, embedded, tmp_path)
        assert report["dcc"]["errors"] == [] and report["dcc"]["signature"] is True, report
        assert report["dcc"]["revoked"] is False, report
        assert report["db"]["verified"] is True and report["db"]["revoked"] is False, report
        assert embedded["credentialSubject"]["creditsEarned"] == 2.5
        _only_the_app(report, live_issuer)

    # The record's own signature covers what it lists: a changed credit fails it.
    tampered = copy.deepcopy(record)
    tampered["credentialSubject"]["achievement"][0]["creditsAvailable"] = 25
    report = run_live_verifiers(live_issuer, tampered, tmp_path, db_only=True)
    assert report["db"]["verified"] is False and report["db"]["signature"] is False, report
