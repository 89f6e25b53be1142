"""Witness testimony for one evidence item of the worker's library, before any submission: the
link shows that item alone and dies when withdrawn or expired; once the item is attached, the
assessors see the testimony beside the element, and the badge and its credential carry it."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portfolio.awards.models import Award
from portfolio.core.db import utcnow
from portfolio.extensions import db
from portfolio.submissions.models import WitnessState, WitnessTestimony
from tests.conftest import Client
from tests.submissions.conftest import Scenario
from tests.submissions.test_witness_and_appeals import LINK_RE, _outbox
from tests.submissions.workflow import PASS, mark, signed_in, submitted

STATEMENT = "I watched Wren prepare this joint on site B on 3 May."


def _ask(app: Flask, worker: Client, item_id: str) -> str:
    """Name a witness from the item page, as the worker does on the phone; the mailed token."""
    page = worker.get(f"/portfolio/items/{item_id}").get_data(as_text=True)
    assert 'id="item-witness-form"' in page and "Ask a workplace witness to confirm" in page
    before = len(_outbox(app))
    resp = worker.submit(
        f"/portfolio/items/{item_id}/witnesses",
        {
            "witness_name": "Pat Supervisor",
            "witness_role": "Site supervisor",
            "witness_email": "pat@site.example",
        },
        page=f"/portfolio/items/{item_id}",
    )
    assert resp.status_code == 302 and resp.location.endswith("#witnesses")
    [mail] = _outbox(app)[before:]
    assert mail["to"] == "pat@site.example" and "“Joint photo”" in mail["body"]
    match = LINK_RE.search(mail["body"])
    assert match, mail["body"]
    return match.group(0).split("/witness/", 1)[1]


def test_item_witness_sees_only_that_item_and_the_link_dies_when_withdrawn_or_expired(
    app: Flask, other_client: Client, scenario: Scenario
) -> None:
    s = scenario
    photo, pdf = s.items["photo"], s.items["pdf"]
    worker = signed_in(app, "wren@example.org")
    token = _ask(app, worker, photo.public_id)
    page = other_client.get(f"/witness/{token}")  # no account
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Joint photo" in html and "Wren Worker" in html
    for other in ("Inspection report", "What I learned", "Site log"):
        assert other not in html
    assert other_client.get(f"/witness/{token}/evidence/{photo.public_id}").status_code == 302
    assert other_client.get(f"/witness/{token}/evidence/{pdf.public_id}").status_code == 404
    # The worker's item page lists the request with its state.
    listing = worker.get(f"/portfolio/items/{photo.public_id}").get_data(as_text=True)
    assert "Pat Supervisor (Site supervisor)" in listing and "Waiting for the witness" in listing

    testimony = db.session.scalar(select(WitnessTestimony))
    assert testimony is not None and testimony.submission_id is None
    wid = testimony.public_id
    # Nobody else may withdraw or re-send it, not even through another item of theirs.
    peer = signed_in(app, "sam@example.org")
    page_url = f"/portfolio/items/{photo.public_id}"
    resp = peer.submit(f"{page_url}/witnesses/{wid}/resend", {}, page="/dashboard")
    assert resp.status_code == 404
    assert (
        worker.submit(
            f"/portfolio/items/{pdf.public_id}/witnesses/{wid}/revoke", {}, page=page_url
        ).status_code
        == 302
    )
    assert other_client.get(f"/witness/{token}").status_code == 200  # still alive

    worker.submit(f"{page_url}/witnesses/{wid}/revoke", {}, page=page_url)
    dead = other_client.get(f"/witness/{token}")
    assert dead.status_code == 404 and "no longer works" in dead.get_data(as_text=True)
    assert other_client.get(f"/witness/{token}/evidence/{photo.public_id}").status_code == 404
    before = len(_outbox(app))
    worker.submit(f"{page_url}/witnesses/{wid}/resend", {}, page=page_url)
    match = LINK_RE.search(_outbox(app)[before]["body"])
    assert match is not None
    new_token = match.group(0).split("/witness/", 1)[1]
    assert other_client.get(f"/witness/{token}").status_code == 404
    assert other_client.get(f"/witness/{new_token}").status_code == 200
    db.session.expire_all()
    testimony = db.session.scalar(select(WitnessTestimony))
    assert testimony is not None
    testimony.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert other_client.get(f"/witness/{new_token}").status_code == 404


def test_item_testimony_appears_beside_the_element_and_in_the_credential(
    app: Flask, other_client: Client, scenario: Scenario
) -> None:
    s = scenario
    worker = signed_in(app, "wren@example.org")
    token = _ask(app, worker, s.items["photo"].public_id)
    resp = other_client.submit(
        f"/witness/{token}",
        {"answer": "confirm", "statement": STATEMENT},
        page=f"/witness/{token}",
    )
    assert "Your answer has been recorded" in resp.get_data(as_text=True)
    assert other_client.get(f"/witness/{token}").status_code == 404  # single purpose
    testimony = db.session.scalar(select(WitnessTestimony))
    assert testimony is not None and testimony.state == WitnessState.CONFIRMED

    # Later the worker attaches the photo to "Prepare the joint" and submits.
    pid = submitted(app, s)
    assessor = signed_in(app, "sam@example.org")
    review = assessor.get(f"/o/{s.org.slug}/review/{pid}").get_data(as_text=True)
    rows = review.split('class="review-row')
    beside = next(r for r in rows if "Prepare the joint" in r.split("</h2>", 1)[0])
    assert "Workplace witness for “Joint photo”:" in beside and STATEMENT in beside
    assert "Pat Supervisor (Site supervisor)" in beside
    # Only beside the element the photo was attached to.
    others = [r for r in rows[1:] if r is not beside]
    assert others and all(STATEMENT not in r for r in others)
    # The worker's submission page shows it too, managed from the item.
    mine = worker.get(f"/submissions/{pid}").get_data(as_text=True)
    assert "Witness Pat Supervisor (Site supervisor) for “Joint photo”" in mine

    mark(app, s, s.assessor, pid, PASS)
    award = db.session.scalar(select(Award))
    assert award is not None
    public = other_client.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert "“Joint photo”: confirmed by a workplace witness (Site supervisor," in public
    credential = json.loads(award.ob3_credential)
    [entry] = [e for e in credential["evidence"] if e.get("genre") == "Witness testimony"]
    assert entry["description"] == "Supports “Joint photo”."
    assert entry["narrative"].startswith("Confirmed by a workplace witness (Site supervisor, ")
    digest = base64.b64encode(hashlib.sha256(STATEMENT.encode()).digest()).decode()
    assert entry["digestSRI"] == f"sha256-{digest}"
    for text in (award.ob3_credential, award.ob2_assertion, public):
        assert "pat@site.example" not in text and "Pat Supervisor" not in text


def test_a_testimony_names_an_element_or_an_item_never_both_nor_neither(
    app: Flask, scenario: Scenario
) -> None:
    s = scenario
    pid = submitted(app, s)
    from portfolio.submissions import access

    sub = access.get_submission(pid)
    base = dict(
        witness_name="Pat",
        witness_role="Supervisor",
        witness_email="pat@site.example",
        nonce="n",
        expires_at=utcnow() + timedelta(days=1),
    )
    for subject in (
        {},
        dict(
            submission_id=sub.id, element_id=s.elements[0].id, evidence_item_id=s.items["photo"].id
        ),
        dict(submission_id=sub.id),
    ):
        db.session.add(WitnessTestimony(**base, **subject))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
