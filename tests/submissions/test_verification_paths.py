"""Internal verification in the paths an admin meets less often: an appeal decision held by the
"every appeal" rule, an after-mode case closed by keeping the decision or by revoking the badge
with a reason, and a claimed submission held for verification that the admin tries to give to
another assessor."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from portfolio.accounts.models import Role
from portfolio.accounts.organizations import add_membership
from portfolio.awards.models import Award
from portfolio.core.errors import Forbidden
from portfolio.extensions import db
from portfolio.submissions import access, appeals, assessor_queue, verification
from portfolio.submissions.models import (
    AppealState,
    SampleState,
    SubmissionState,
    VerificationMode,
    VerificationSample,
    WaitingFor,
)
from tests.submissions.conftest import Scenario
from tests.submissions.workflow import (
    FAIL,
    PASS,
    add_people,
    configure,
    counts,
    mark,
    signed_in,
    sub_of,
    submitted,
)


def _failed_and_appealed(app: Flask, s: Scenario) -> str:
    s.credential.max_attempts = 1
    db.session.commit()
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, FAIL)
    assert sub_of(pid).state == SubmissionState.FAILED
    # Not sampled: no rule but "every appeal", and a 0 % draw.
    assert db.session.scalar(select(VerificationSample)) is None
    worker = signed_in(app, "wren@example.org")
    worker.submit(
        f"/submissions/{pid}/appeal",
        {"reason": "The photo shows the joint was prepared."},
        page=f"/submissions/{pid}",
    )
    return pid


def _decide_appeal(app: Flask, s: Scenario, pid: str, reviewer_email: str) -> None:
    reviewer = signed_in(app, reviewer_email)
    url = f"/o/{s.org.slug}/appeals/{pid}"
    form = {"action": "confirm", "reason": "The photo is clear."}
    for element, name in zip(s.elements, PASS, strict=True):
        form[f"level-{element.public_id}"] = str(s.level(name).id)
        form[f"remark-{element.public_id}"] = "seen again"
    resp = reviewer.submit(url, form, page=url)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]


def test_every_appeal_rule_holds_the_appeal_decision_until_the_verifier_agrees(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    people = add_people(make, s)
    configure(app, s, iqa_every_appeal=True, iqa_mode=VerificationMode.HOLD, appeal_days=30)
    pid = _failed_and_appealed(app, s)
    _decide_appeal(app, s, pid, "ali@example.org")
    # The overturned decision is held: no badge yet, the worker still sees "not passed" work
    # in review, the verifier has it with its reason.
    sub = sub_of(pid)
    assert sub.state == SubmissionState.IN_REVIEW and sub.waiting_for == WaitingFor.VERIFIER
    assert counts(pid) == (1, 0)
    sample = db.session.scalar(select(VerificationSample))
    assert sample is not None
    assert (sample.reason, sample.mode, sample.round) == ("every appeal", "hold", 2)
    appeal = appeals.appeal_of(sub)
    assert appeal is not None and appeal.state == AppealState.DECIDED
    # The appeal reviewer, even holding the verifier role, does not verify their own decision.
    with app.test_request_context():
        add_membership(people.assessor3, s.org, Role.INTERNAL_VERIFIER)
        db.session.commit()
        with pytest.raises(Forbidden):
            verification.check_may_verify(people.assessor3, s.org, access.get_submission(pid))
    vera = signed_in(app, "vera@example.org")
    listing = vera.get(f"/o/{s.org.slug}/verification").get_data(as_text=True)
    assert "every appeal" in listing and "Wren Worker" in listing
    page = vera.get(f"/o/{s.org.slug}/verify/{pid}").get_data(as_text=True)
    assert "Appeal re-review by Ali Assessor" in page
    vera.submit(
        f"/o/{s.org.slug}/verify/{pid}",
        {"verdict": "agree", "remark": ""},
        page=f"/o/{s.org.slug}/verify/{pid}",
    )
    assert sub_of(pid).state == SubmissionState.PASSED
    assert counts(pid) == (2, 1)
    db.session.expire_all()
    sample = db.session.scalar(select(VerificationSample))
    assert sample is not None and sample.state == SampleState.AGREED
    assert sample.verifier_id == people.verifier.id


def test_a_held_appeal_decision_sent_back_goes_to_the_appeal_reviewer_and_issues_once(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    people = add_people(make, s)
    configure(app, s, iqa_every_appeal=True, iqa_mode=VerificationMode.HOLD, appeal_days=30)
    pid = _failed_and_appealed(app, s)
    _decide_appeal(app, s, pid, "ali@example.org")
    vera = signed_in(app, "vera@example.org")
    vera.submit(
        f"/o/{s.org.slug}/verify/{pid}",
        {"verdict": "send_back", "remark": "Say why the inspection counts."},
        page=f"/o/{s.org.slug}/verify/{pid}",
    )
    sub = sub_of(pid)
    assert sub.state == SubmissionState.SUBMITTED and sub.marking_round == 3
    assert sub.allocated_to_id == people.assessor3.id
    assert counts(pid) == (1, 0)
    # The appeal reviewer decides again; that re-marking is no appeal decision, not re-sampled.
    mark(app, s, people.assessor3, pid, PASS)
    assert sub_of(pid).state == SubmissionState.PASSED
    assert counts(pid) == (2, 1)


def _after_mode_case(app: Flask, make, s: Scenario, levels: list[str]) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    people = add_people(make, s)
    configure(app, s, iqa_rate=100, iqa_mode=VerificationMode.AFTER)
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, levels)
    with app.test_request_context():
        verification.verify(
            people.verifier,
            s.org,
            access.get_submission(pid),
            agrees=False,
            remark="The inspection report is someone else's.",
        )
        db.session.commit()
    sample = db.session.scalar(select(VerificationSample))
    assert sample is not None and sample.state == SampleState.CASE_OPEN
    return pid, sample.public_id


def _close(admin, s: Scenario, sample_id: str, action: str, remark: str):  # type: ignore[no-untyped-def]
    return admin.submit(
        f"/o/{s.org.slug}/cases/{sample_id}/close",
        {"action": action, "remark": remark},
        page=f"/o/{s.org.slug}/cases",
        follow_redirects=True,
    )


def test_admin_closes_an_after_mode_case_and_the_decision_stands(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    pid, sample_id = _after_mode_case(app, make, s, PASS)
    admin = signed_in(app, "admin@example.org")
    page = admin.get(f"/o/{s.org.slug}/cases").get_data(as_text=True)
    assert "The inspection report is someone else&#39;s." in page
    assert "Revoke the badge and close the case" in page
    done = _close(admin, s, sample_id, "keep", "Checked with the site: it is Wren's report.")
    html = done.get_data(as_text=True)
    assert "Case closed: the decision stands." in html and "No open cases." in html
    award = db.session.scalar(select(Award))
    assert award is not None and award.revoked_at is None
    assert sub_of(pid).state == SubmissionState.PASSED
    db.session.expire_all()
    sample = db.session.scalar(select(VerificationSample))
    assert sample is not None and sample.state == SampleState.CASE_CLOSED
    trail = admin.get(f"/o/{s.org.slug}/submissions/{pid}/history").get_data(as_text=True)
    assert "closed the verification case: the decision stands (Checked with the site" in trail
    # Closed once: a second close is refused, and cannot revoke after the fact.
    again = _close(admin, s, sample_id, "revoke", "Second thoughts")
    assert "This case is already closed." in again.get_data(as_text=True)
    db.session.expire_all()
    award = db.session.scalar(select(Award))
    assert award is not None and award.revoked_at is None


def test_admin_closes_an_after_mode_case_by_revoking_the_badge_with_a_reason(
    app: Flask, make, other_client, scenario: Scenario
) -> None:
    s = scenario
    pid, sample_id = _after_mode_case(app, make, s, PASS)
    admin = signed_in(app, "admin@example.org")
    refused = _close(admin, s, sample_id, "revoke", "")
    assert "Give the reason for revoking the badge" in refused.get_data(as_text=True)
    award = db.session.scalar(select(Award))
    assert award is not None and award.revoked_at is None
    reason = "The inspection report was not the worker's own."
    done = _close(admin, s, sample_id, "revoke", reason)
    assert "Case closed: the badge was revoked." in done.get_data(as_text=True)
    db.session.expire_all()
    award = db.session.scalar(select(Award))
    assert award is not None and award.revoked_at is not None
    assert award.revocation_reason == reason and award.revoked_by_id == s.admin.id
    public = other_client.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert "revoked" in public.lower() and reason.replace("'", "&#39;") in public
    trail = admin.get(f"/o/{s.org.slug}/submissions/{pid}/history").get_data(as_text=True)
    assert "closed the verification case: the badge was revoked" in trail


def test_a_case_on_a_not_passed_decision_has_no_badge_to_revoke(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    s.credential.max_attempts = 1
    db.session.commit()
    _pid, sample_id = _after_mode_case(app, make, s, FAIL)
    admin = signed_in(app, "admin@example.org")
    page = admin.get(f"/o/{s.org.slug}/cases").get_data(as_text=True)
    assert "Revoke the badge and close the case" not in page
    refused = _close(admin, s, sample_id, "revoke", "No")
    assert "This decision issued no badge" in refused.get_data(as_text=True)
    assert "Case closed: the decision stands." in _close(
        admin, s, sample_id, "keep", "Fail confirmed"
    ).get_data(as_text=True)


def test_a_claimed_submission_held_for_verification_is_not_reassigned(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    add_people(make, s)
    configure(app, s, iqa_rate=100, iqa_mode=VerificationMode.HOLD)  # single marking
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, PASS)  # Sam claimed and decided; held for the verifier
    held = sub_of(pid)
    assert held.waiting_for == WaitingFor.VERIFIER and held.claimed_by_id == s.assessor.id
    admin = signed_in(app, "admin@example.org")
    manage = f"/o/{s.org.slug}/submissions/{pid}/manage"
    resp = admin.submit(
        manage,
        {"action": "allocate", "assessor": s.assessor2.public_id},
        page=manage,
        follow_redirects=True,
    )
    assert "waiting for internal verification: it cannot be given to another assessor now" in (
        resp.get_data(as_text=True)
    )
    sub = sub_of(pid)
    assert sub.waiting_for == WaitingFor.VERIFIER and sub.allocated_to_id is None
    assert sub.claimed_by_id == s.assessor.id and counts(pid) == (0, 0)
    with app.test_request_context():
        assert (
            assessor_queue.review_queue(s.assessor2, s.org, assessor_queue.QueueFilter()).rows == []
        )
    # Sent back, it is the first marker's again; now the admin can give it to Sue, who alone
    # sees it, marks it, and (verified again) it issues one badge.
    vera = signed_in(app, "vera@example.org")
    vera.submit(
        f"/o/{s.org.slug}/verify/{pid}",
        {"verdict": "send_back", "remark": "Look at the inspection again."},
        page=f"/o/{s.org.slug}/verify/{pid}",
    )
    assert sub_of(pid).allocated_to_id == s.assessor.id
    resp = admin.submit(
        manage,
        {"action": "allocate", "assessor": s.assessor2.public_id},
        page=manage,
        follow_redirects=True,
    )
    assert "Allocated to Sue Assessor." in resp.get_data(as_text=True)
    with app.test_request_context():
        assert (
            assessor_queue.review_queue(s.assessor, s.org, assessor_queue.QueueFilter()).rows == []
        )
        rows = assessor_queue.review_queue(s.assessor2, s.org, assessor_queue.QueueFilter()).rows
        assert [r.public_id for r in rows] == [pid]
    assert sub_of(pid).allocated_to_id == s.assessor2.id
    mark(app, s, s.assessor2, pid, PASS)
    assert sub_of(pid).waiting_for == WaitingFor.VERIFIER
    vera.submit(
        f"/o/{s.org.slug}/verify/{pid}",
        {"verdict": "agree", "remark": ""},
        page=f"/o/{s.org.slug}/verify/{pid}",
    )
    assert sub_of(pid).state == SubmissionState.PASSED and counts(pid) == (1, 1)


def test_the_verifier_role_reads_internal_verifier_everywhere(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    add_people(make, s)
    admin = signed_in(app, "admin@example.org")
    members = admin.get(f"/o/{s.org.slug}/members").get_data(as_text=True)
    row = members.split("Vera Verifier", 1)[1].split("</tr>", 1)[0]
    assert "Internal verifier" in row
    assert '<option value="verifier">Internal verifier</option>' in members
    quality = admin.get(f"/o/{s.org.slug}/reports/quality").get_data(as_text=True)
    assert "Internal verifier agreed" in quality
    for page in (members, quality):
        assert ">Verifier<" not in page and "Verifier agreed" not in page.replace(
            "Internal verifier agreed", ""
        )
