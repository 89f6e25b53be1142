""" "Add to wallet" end to end: the worker opens the page (button + QR code), a program playing
the Learner Credential Wallet runs the VC-API exchange against the live app (its own did:key,
a signed DID Authentication presentation) and DCC's verifier accepts the copy it received."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from portfolio.awards import revocation
from portfolio.extensions import db
from tests.awards.conftest import award_of, pass_submission
from tests.conftest import Client
from tests.submissions.conftest import Scenario
from tests.verify.live_issuer import LiveIssuer, node_modules_ready, run_node

pytestmark = pytest.mark.skipif(
    not node_modules_ready(), reason="npm ci has not installed the verifier libraries"
)


@pytest.fixture
def live_issuer(app: Flask, tmp_path: Path) -> Iterator[LiveIssuer]:
    issuer = LiveIssuer(app, "http", tmp_path)
    issuer.start()
    yield issuer
    issuer.stop()


def test_a_wallet_receives_a_signed_copy_bound_to_its_did(
    app: Flask, live_issuer: LiveIssuer, client: Client, other_client: Client, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    award = award_of(pass_submission(client, other_client, scenario))

    mine = client.get("/badges").get_data(as_text=True)
    assert f"/badges/{award.public_id}/wallet" in mine
    page = client.get(f"/badges/{award.public_id}/wallet").get_data(as_text=True)
    assert "<svg" in page  # the QR code, made by the app
    match = re.search(r'href="(https://lcw\.app/request\.html\?request=[^"]+)"', page)
    assert match, page
    link = html.unescape(match.group(1))

    report = run_node(live_issuer, "wallet.mjs", link)
    query = report["request"]["verifiablePresentationRequest"]["query"][0]
    assert query["type"] == "DIDAuthentication"
    assert report["wrongChallenge"]["status"] == 400
    assert report["status"] == 200, report["answer"]
    credential = report["answer"]["verifiablePresentation"]["verifiableCredential"][0]
    subject = credential["credentialSubject"]
    assert subject["id"] == report["did"] and report["did"].startswith("did:key:z6Mk")
    stored = json.loads(award.ob3_credential)
    assert subject["identifier"] == stored["credentialSubject"]["identifier"]
    assert credential["id"] == stored["id"]
    assert credential["credentialStatus"] == stored["credentialStatus"]
    assert report["dcc"] == {"signature": True, "expired": False, "revoked": False, "errors": []}
    assert report["refused"] == [] or all("purl.imsglobal.org" in u for u in report["refused"])
    # Our own verification page accepts the wallet's copy too.
    check = client.post("/verify", json=credential).get_json()
    assert check["status"] == "valid", check

    # Another person's badge cannot be handed out, and a forged code is refused.
    assert other_client.get(f"/badges/{award.public_id}/wallet").status_code == 404
    forged = client.post("/wallet/exchanges/forged", json={})
    assert forged.status_code == 400

    revocation.revoke_award(scenario.admin, award, "Issued in error.")
    db.session.commit()
    report = run_node(live_issuer, "wallet.mjs", link)
    assert report["status"] == 400
