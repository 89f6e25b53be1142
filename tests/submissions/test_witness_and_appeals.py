"""Witness testimony through its signed link, appeals, the admin's overrides, feedback carried
across attempts, and the readable audit trail."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from portfolio.awards.models import Award
from portfolio.core.db import utcnow
from portfolio.extensions import db
from portfolio.submissions import access, appeals
from portfolio.submissions.models import SubmissionState, WitnessTestimony
from tests.conftest import Client
from tests.submissions.conftest import Scenario
from tests.submissions.workflow import (
    FAIL,
    PASS,
    configure,
    counts,
    inputs,
    mark,
    signed_in,
    sub_of,
    submitted,
)

LINK_RE = re.compile(r"https?://[^\s]+/witness/[A-Za-z0-9_.\-]+")


def _outbox(app: Flask) -> list[dict[str, str]]:
    return app.extensions.setdefault("portfolio.outbox", [])


def _request_witness(app: Flask, worker: Client, s: Scenario, pid: str) -> str:
    """Name a witness for the first element through the worker's page; the mailed link."""
    before = len(_outbox(app))
    resp = worker.submit(
        f"/submissions/{pid}/witnesses",
        {
            "element": s.elements[0].public_id,
            "witness_name": "Pat Supervisor",
            "witness_role": "Site supervisor",
            "witness_email": "pat@site.example",
        },
        page=f"/submissions/{pid}",
    )
    assert resp.status_code == 302
    [mail] = _outbox(app)[before:]
    assert mail["to"] == "pat@site.example"
    match = LINK_RE.search(mail["body"])
    assert match, mail["body"]
    return match.group(0).split("/witness/", 1)[1]


def test_witness_sees_only_their_evidence_confirms_and_the_badge_says_so(
    app: Flask, client: Client, other_client: Client, scenario: Scenario
) -> None:
    s = scenario
    pid = submitted(app, s)
    worker = signed_in(app, "wren@example.org")
    token = _request_witness(app, worker, s, pid)
    page = other_client.get(f"/witness/{token}")  # no account
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Joint photo" in html and "Prepare the joint" in html
    # Nothing of the other elements' evidence.
    assert "Inspection report" not in html and "What I learned" not in html
    # Its file downloads; another element's file does not.
    sub = sub_of(pid)
    mine = next(x for x in sub.evidence_links if x.element_id == s.elements[0].id)
    other = next(x for x in sub.evidence_links if x.element_id == s.elements[1].id)
    assert other_client.get(f"/witness/{token}/evidence/{mine.public_id}").status_code == 302
    assert other_client.get(f"/witness/{token}/evidence/{other.public_id}").status_code == 404
    resp = other_client.submit(
        f"/witness/{token}",
        {"answer": "confirm", "statement": "I watched Wren prepare this joint on 3 May."},
        page=f"/witness/{token}",
    )
    assert "Your answer has been recorded" in resp.get_data(as_text=True)
    # Single purpose: the link is spent.
    assert other_client.get(f"/witness/{token}").status_code == 404
    # Assessors see the testimony beside the element.
    assessor = signed_in(app, "sam@example.org")
    review = assessor.get(f"/o/{s.org.slug}/review/{pid}").get_data(as_text=True)
    assert "Pat Supervisor (Site supervisor)" in review and "I watched Wren" in review
    mark(app, s, s.assessor, pid, PASS)
    award = db.session.scalar(select(Award))
    assert award is not None
    public = other_client.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert "confirmed by a workplace witness (Site supervisor," in public
    credential = json.loads(award.ob3_credential)
    [entry] = [e for e in credential["evidence"] if e.get("genre") == "Witness testimony"]
    assert entry["narrative"].startswith("Confirmed by a workplace witness (Site supervisor, ")
    statement = "I watched Wren prepare this joint on 3 May."
    import base64

    digest = base64.b64encode(hashlib.sha256(statement.encode()).digest()).decode()
    assert entry["digestSRI"] == f"sha256-{digest}"
    # The witness's email and name are in no public document or page.
    for text in (award.ob3_credential, award.ob2_assertion, public):
        assert "pat@site.example" not in text and "Pat Supervisor" not in text


def test_witness_link_dies_when_revoked_resent_expired_or_tampered(
    app: Flask, other_client: Client, scenario: Scenario
) -> None:
    s = scenario
    pid = submitted(app, s)
    worker = signed_in(app, "wren@example.org")
    token = _request_witness(app, worker, s, pid)
    assert other_client.get(f"/witness/{token}").status_code == 200
    assert other_client.get(f"/witness/{token[:-2]}xx").status_code == 404
    testimony = db.session.scalar(select(WitnessTestimony))
    assert testimony is not None
    wid = testimony.public_id
    worker.submit(f"/submissions/{pid}/witnesses/{wid}/revoke", {}, page=f"/submissions/{pid}")
    dead = other_client.get(f"/witness/{token}")
    assert dead.status_code == 404 and "no longer works" in dead.get_data(as_text=True)
    before = len(_outbox(app))
    worker.submit(f"/submissions/{pid}/witnesses/{wid}/resend", {}, page=f"/submissions/{pid}")
    new_token = LINK_RE.search(_outbox(app)[before]["body"]).group(0).split("/witness/")[1]  # type: ignore[union-attr]
    assert other_client.get(f"/witness/{token}").status_code == 404
    assert other_client.get(f"/witness/{new_token}").status_code == 200
    db.session.expire_all()
    testimony = db.session.scalar(select(WitnessTestimony))
    assert testimony is not None
    testimony.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert other_client.get(f"/witness/{new_token}").status_code == 404
    # Another worker cannot touch the request.
    peer = signed_in(app, "sam@example.org")
    resp = peer.submit(f"/submissions/{pid}/witnesses/{wid}/resend", {}, page="/dashboard")
    assert resp.status_code == 404


def test_appeal_is_reviewed_by_a_different_assessor_and_a_pass_issues(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    s.credential.max_attempts = 1
    db.session.commit()
    configure(app, s, appeal_days=30)
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, FAIL)
    assert sub_of(pid).state == SubmissionState.FAILED
    worker = signed_in(app, "wren@example.org")
    page = worker.get(f"/submissions/{pid}").get_data(as_text=True)
    assert "Appeal this decision" in page
    worker.submit(
        f"/submissions/{pid}/appeal",
        {"reason": "The photo shows the joint was prepared."},
        page=f"/submissions/{pid}",
    )
    assert appeals.appeal_of(sub_of(pid)) is not None
    # The assessor who decided cannot review the appeal; another one can.
    sam = signed_in(app, "sam@example.org")
    assert sam.get(f"/o/{s.org.slug}/appeals/{pid}").status_code == 403
    assert pid not in sam.get(f"/o/{s.org.slug}/appeals").get_data(as_text=True)
    sue = signed_in(app, "sue@example.org")
    assert pid in sue.get(f"/o/{s.org.slug}/appeals").get_data(as_text=True)
    with app.test_request_context():
        appeals.decide_appeal(
            s.assessor2, s.org, access.get_submission(pid), inputs(s, PASS), "Photo is clear."
        )
        db.session.commit()
    sub = sub_of(pid)
    assert sub.state == SubmissionState.PASSED and sub.marking_round == 2
    assert counts(pid) == (2, 1)
    assert "decided: the decision was overturned" in worker.get(f"/submissions/{pid}").get_data(
        as_text=True
    )


def test_appeal_after_the_period_is_refused(app: Flask, scenario: Scenario) -> None:
    s = scenario
    s.credential.max_attempts = 1
    db.session.commit()
    configure(app, s, appeal_days=5)
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, FAIL)
    sub = sub_of(pid)
    sub.decided_at = utcnow() - timedelta(days=6)
    db.session.commit()
    worker = signed_in(app, "wren@example.org")
    resp = worker.submit(
        f"/submissions/{pid}/appeal",
        {"reason": "late"},
        page=f"/submissions/{pid}",
        follow_redirects=True,
    )
    assert "The appeal period ended on" in resp.get_data(as_text=True)
    assert appeals.appeal_of(sub_of(pid)) is None


def test_reopening_a_pass_revokes_its_award_and_the_new_decision_issues_a_new_one(
    app: Flask, scenario: Scenario
) -> None:
    s = scenario
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, PASS)
    admin = signed_in(app, "admin@example.org")
    resp = admin.submit(
        f"/o/{s.org.slug}/submissions/{pid}/manage",
        {"action": "reopen", "reason": "Evidence questioned by the employer."},
    )
    assert resp.status_code == 302
    first = db.session.scalar(select(Award))
    assert first is not None and first.revocation_reason == "decision reopened"
    assert sub_of(pid).state == SubmissionState.SUBMITTED
    mark(app, s, s.assessor2, pid, PASS)
    db.session.expire_all()
    awards = list(db.session.scalars(select(Award).order_by(Award.id)))
    assert len(awards) == 2 and awards[0].revoked_at and awards[1].revoked_at is None


def test_an_extra_attempt_lets_a_failed_worker_start_again(app: Flask, scenario: Scenario) -> None:
    s = scenario
    s.credential.max_attempts = 1
    db.session.commit()
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, FAIL)
    worker = signed_in(app, "wren@example.org")
    start_url = f"/o/{s.org.slug}/credentials/{s.credential.public_id}/start"
    refused = worker.submit(start_url, {}, page="/dashboard", follow_redirects=True)
    assert "You have used every attempt" in refused.get_data(as_text=True)
    admin = signed_in(app, "admin@example.org")
    admin.submit(
        f"/o/{s.org.slug}/submissions/{pid}/manage",
        {"action": "extra_attempt", "reason": "Illness during assessment"},
    )
    resp = worker.submit(start_url, {}, page="/dashboard")
    assert resp.status_code == 302 and "/submissions/" in resp.location


def test_assignments_limit_the_queue_and_allocation_names_the_marker(
    app: Flask, scenario: Scenario
) -> None:
    s = scenario
    pid = submitted(app, s)
    admin = signed_in(app, "admin@example.org")
    settings_url = f"/o/{s.org.slug}/credentials/{s.credential.public_id}/marking"
    admin.submit(settings_url, {"action": "assign", "assessor": s.assessor2.public_id})
    sam = signed_in(app, "sam@example.org")
    assert pid not in sam.get(f"/o/{s.org.slug}/queue").get_data(as_text=True)
    claim = sam.submit(
        f"/o/{s.org.slug}/queue/{pid}/claim",
        {},
        page=f"/o/{s.org.slug}/queue",
        follow_redirects=True,
    )
    assert "You are not assigned to mark this credential." in claim.get_data(as_text=True)
    assert sub_of(pid).claimed_by_id is None
    sue = signed_in(app, "sue@example.org")
    assert pid in sue.get(f"/o/{s.org.slug}/queue").get_data(as_text=True)
    # Allocation to a named assessor: only they see it.
    admin.submit(settings_url, {"action": "assign", "assessor": s.assessor.public_id})
    admin.submit(
        f"/o/{s.org.slug}/submissions/{pid}/manage",
        {"action": "allocate", "assessor": s.assessor.public_id},
    )
    assert pid in sam.get(f"/o/{s.org.slug}/queue").get_data(as_text=True)
    assert pid not in sue.get(f"/o/{s.org.slug}/queue").get_data(as_text=True)


def test_next_attempt_shows_earlier_levels_and_remarks_to_worker_and_assessor(
    app: Flask, scenario: Scenario
) -> None:
    s = scenario
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, FAIL)  # max 2 attempts: needs revision
    assert sub_of(pid).state == SubmissionState.NEEDS_REVISION
    worker = signed_in(app, "wren@example.org")
    resp = worker.submit(f"/submissions/{pid}/retry", {}, page=f"/submissions/{pid}")
    new_pid = resp.location.rsplit("/", 1)[1]
    draft = worker.get(f"/submissions/{new_pid}").get_data(as_text=True)
    assert "In your earlier attempts" in draft
    assert "Attempt 1: <strong>Not yet</strong> — ok: Prepare the joint" in draft
    assert f'href="/submissions/{pid}"' in draft
    worker.submit(
        f"/submissions/{new_pid}/submit", {"confirm": "y"}, page=f"/submissions/{new_pid}"
    )
    sam = signed_in(app, "sam@example.org")
    review = sam.get(f"/o/{s.org.slug}/review/{new_pid}").get_data(as_text=True)
    assert "Attempt 1: <strong>Not yet</strong> — ok: Prepare the joint" in review
    assert f"/o/{s.org.slug}/review/{pid}" in review
    # Assessors may open the history of the earlier attempt, in plain words.
    history = sam.get(f"/o/{s.org.slug}/submissions/{pid}/history")
    assert history.status_code == 200
    assert "Sam Assessor</strong> recorded the decision: needs revision" in history.get_data(
        as_text=True
    )


def test_organization_audit_filters_and_exports_csv(app: Flask, scenario: Scenario) -> None:
    s = scenario
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, PASS)
    admin = signed_in(app, "admin@example.org")
    page = admin.get(f"/o/{s.org.slug}/audit").get_data(as_text=True)
    assert "recorded the decision: passed" in page and "Wren Worker, Fillet Welding" in page
    only_sam = admin.get(f"/o/{s.org.slug}/audit?person={s.assessor.public_id}").get_data(
        as_text=True
    )
    assert "recorded the decision: passed" in only_sam and "submitted the evidence" not in only_sam
    future = admin.get(f"/o/{s.org.slug}/audit?from=2999-01-01").get_data(as_text=True)
    assert "Nothing matches." in future
    csv_resp = admin.get(f"/o/{s.org.slug}/audit?format=csv&credential={s.credential.public_id}")
    assert csv_resp.mimetype == "text/csv"
    lines = csv_resp.get_data(as_text=True).splitlines()
    assert lines[0] == "when (UTC),who,what,about,action"
    assert any("Sam Assessor,recorded the decision: passed" in line for line in lines)
    # Assessors do not read the organization's trail.
    sam = signed_in(app, "sam@example.org")
    assert sam.get(f"/o/{s.org.slug}/audit").status_code == 403
