"""Double and blind marking, moderation, conflicts of interest, internal verification (hold and
after), sampling from the stored seed, and exactly one decision and award under concurrency."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from portfolio.accounts.models import Role, User
from portfolio.accounts.organizations import add_membership
from portfolio.core.audit import AuditEvent
from portfolio.core.errors import Conflict, Forbidden
from portfolio.extensions import db
from portfolio.submissions import (
    access,
    assessor_queue,
    marking,
    marking_plans,
    moderation,
    scoring,
    verification,
)
from portfolio.submissions.models import (
    Marking,
    MarkingMode,
    SampleState,
    SubmissionState,
    VerificationMode,
    VerificationSample,
    WaitingFor,
)
from tests.conftest import Client
from tests.submissions.conftest import Scenario, score_form
from tests.submissions.test_queue_and_access import _race
from tests.submissions.workflow import (
    DOUBLE_BLIND_HOLD,
    FAIL,
    PASS,
    PASS_OTHER,
    add_people,
    configure,
    counts,
    inputs,
    mark,
    signed_in,
    sub_of,
    submitted,
)


def test_agreeing_blind_double_markers_decide_and_issue_once(
    app: Flask, make, client: Client, scenario: Scenario
) -> None:
    s = scenario
    configure(app, s, mode=MarkingMode.DOUBLE, is_blind=True)
    pid = submitted(app, s)
    slug = s.org.slug
    mark(app, s, s.assessor, pid, PASS)
    assert sub_of(pid).state == SubmissionState.IN_REVIEW
    assert counts(pid) == (0, 0)
    # Blind: the second marker's page shows no trace of the first marking.
    client = signed_in(app, "sue@example.org")
    page = client.get(f"/o/{slug}/review/{pid}").get_data(as_text=True)
    assert "First marking by Sam Assessor" not in page and "ok: Prepare the joint" not in page
    assert "Double marking: score every element independently" in page
    # The second marking goes through the page, without any claim.
    resp = client.submit(
        f"/o/{slug}/review/{pid}",
        {**score_form(s, PASS), "action": "confirm"},
        page=f"/o/{slug}/review/{pid}",
    )
    assert resp.status_code == 302
    sub = sub_of(pid)
    assert sub.state == SubmissionState.PASSED
    assert counts(pid) == (1, 1)
    stages = sorted(m.stage for m in marking.all_markings(sub))
    assert stages == ["first", "second"]


def test_disagreement_goes_to_a_moderator_who_decides(
    app: Flask, make, client: Client, scenario: Scenario
) -> None:
    s = scenario
    people = add_people(make, s)
    configure(app, s, mode=MarkingMode.DOUBLE, is_blind=True)
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, PASS)
    mark(app, s, s.assessor2, pid, PASS_OTHER)
    sub = sub_of(pid)
    assert sub.waiting_for == WaitingFor.MODERATOR and counts(pid) == (0, 0)
    # Now both are in, the markers may see each other's marking.
    client = signed_in(app, "sue@example.org")
    page = client.get(f"/o/{s.org.slug}/review/{pid}").get_data(as_text=True)
    assert "First marking by Sam Assessor" in page
    # The moderator's queue and page, with both markings side by side.
    client = signed_in(app, "mo@example.org")
    listing = client.get(f"/o/{s.org.slug}/moderation").get_data(as_text=True)
    assert "Wren Worker" in listing
    page = client.get(f"/o/{s.org.slug}/moderate/{pid}").get_data(as_text=True)
    assert "First marking by Sam Assessor" in page and "Second marking by Sue Assessor" in page
    refused = client.submit(
        f"/o/{s.org.slug}/moderate/{pid}",
        {**score_form(s, PASS), "action": "confirm", "reason": ""},
        page=f"/o/{s.org.slug}/moderate/{pid}",
    )
    assert "Give the reason for the final levels." in refused.get_data(as_text=True)
    resp = client.submit(
        f"/o/{s.org.slug}/moderate/{pid}",
        {**score_form(s, PASS), "action": "confirm", "reason": "Weld is clearly Exceeds."},
        page=f"/o/{s.org.slug}/moderate/{pid}",
    )
    assert resp.status_code == 302
    assert sub_of(pid).state == SubmissionState.PASSED
    assert counts(pid) == (1, 1)
    review = sub_of(pid).review
    assert review is not None and review.assessor_id == people.moderator.id


def test_conflicts_of_interest_are_refused(app: Flask, make, scenario: Scenario) -> None:
    s = scenario
    people = add_people(make, s)
    configure(app, s, mode=MarkingMode.DOUBLE, iqa_rate=100, iqa_mode=VerificationMode.HOLD)
    # The first marker is also a moderator and a verifier: neither role lets them act on it.
    with app.test_request_context():
        add_membership(s.assessor, s.org, Role.MODERATOR)
        add_membership(s.assessor, s.org, Role.INTERNAL_VERIFIER)
        add_membership(s.worker, s.org, Role.ASSESSOR)
        db.session.commit()
    pid = submitted(app, s)
    with pytest.raises(Forbidden):  # nobody marks their own work
        mark(app, s, s.worker, pid, PASS)
    db.session.rollback()
    mark(app, s, s.assessor, pid, PASS)
    with pytest.raises(Conflict):  # the second marker is somebody else
        mark(app, s, s.assessor, pid, PASS)
    db.session.rollback()
    mark(app, s, s.assessor2, pid, FAIL)
    with app.test_request_context(), pytest.raises(Forbidden):
        moderation.moderate(s.assessor, s.org, access.get_submission(pid), inputs(s, PASS), "mine")
    db.session.rollback()
    with app.test_request_context():
        moderation.moderate(
            people.moderator, s.org, access.get_submission(pid), inputs(s, PASS), "fine"
        )
        db.session.commit()
    assert sub_of(pid).waiting_for == WaitingFor.VERIFIER
    for who in (s.assessor, s.assessor2, people.moderator):
        if who.id == people.moderator.id:
            with app.test_request_context():
                add_membership(people.moderator, s.org, Role.INTERNAL_VERIFIER)
                db.session.commit()
        with app.test_request_context(), pytest.raises(Forbidden):
            verification.verify(who, s.org, access.get_submission(pid), agrees=True, remark="")
        db.session.rollback()
    assert counts(pid) == (0, 0)


def test_hold_mode_waits_for_the_verifier_then_issues_once(
    app: Flask, make, client: Client, scenario: Scenario
) -> None:
    s = scenario
    people = add_people(make, s)
    configure(app, s, **DOUBLE_BLIND_HOLD)
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, PASS)
    mark(app, s, s.assessor2, pid, PASS)
    sub = sub_of(pid)
    assert sub.waiting_for == WaitingFor.VERIFIER and sub.state == SubmissionState.IN_REVIEW
    assert counts(pid) == (0, 0)
    client = signed_in(app, "vera@example.org")
    listing = client.get(f"/o/{s.org.slug}/verification").get_data(as_text=True)
    assert "random draw" in listing
    page = client.get(f"/o/{s.org.slug}/verify/{pid}").get_data(as_text=True)
    assert "held until you agree" in page and "First marking by Sam Assessor" in page
    resp = client.submit(
        f"/o/{s.org.slug}/verify/{pid}",
        {"verdict": "agree", "remark": ""},
        page=f"/o/{s.org.slug}/verify/{pid}",
    )
    assert resp.status_code == 302
    assert sub_of(pid).state == SubmissionState.PASSED
    assert counts(pid) == (1, 1)
    sample = db.session.scalar(select(VerificationSample))
    assert sample is not None and sample.state == SampleState.AGREED
    assert sample.verifier_id == people.verifier.id


def test_send_back_starts_a_new_round_with_the_first_marker(
    app: Flask, make, client: Client, scenario: Scenario
) -> None:
    s = scenario
    add_people(make, s)
    configure(app, s, iqa_rate=100, iqa_mode=VerificationMode.HOLD)  # single marking
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, PASS)
    assert sub_of(pid).waiting_for == WaitingFor.VERIFIER
    client = signed_in(app, "vera@example.org")
    refused = client.submit(
        f"/o/{s.org.slug}/verify/{pid}",
        {"verdict": "send_back", "remark": ""},
        page=f"/o/{s.org.slug}/verify/{pid}",
    )
    assert refused.status_code == 302
    assert sub_of(pid).waiting_for == WaitingFor.VERIFIER  # a remark is required
    client.submit(
        f"/o/{s.org.slug}/verify/{pid}",
        {"verdict": "send_back", "remark": "Inspection evidence is thin."},
        page=f"/o/{s.org.slug}/verify/{pid}",
    )
    sub = sub_of(pid)
    assert sub.state == SubmissionState.SUBMITTED and sub.marking_round == 2
    assert sub.allocated_to_id == s.assessor.id
    assert counts(pid) == (0, 0)
    # Only the first marker sees it in the queue now; the remark reached them.
    with app.test_request_context():
        sam_queue = assessor_queue.review_queue(s.assessor, s.org, assessor_queue.QueueFilter())
        sue_queue = assessor_queue.review_queue(s.assessor2, s.org, assessor_queue.QueueFilter())
    assert [r.public_id for r in sam_queue.rows] == [pid]
    assert sue_queue.rows == []
    with pytest.raises(Forbidden):
        mark(app, s, s.assessor2, pid, PASS)
    db.session.rollback()
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "verification.send_back")
    )
    assert [e.data["remark"] for e in events] == ["Inspection evidence is thin."]


def test_after_mode_issues_at_once_and_a_disagreement_opens_a_case(
    app: Flask, make, client: Client, scenario: Scenario
) -> None:
    s = scenario
    people = add_people(make, s)
    configure(app, s, iqa_rate=100, iqa_mode=VerificationMode.AFTER)
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, PASS)
    assert sub_of(pid).state == SubmissionState.PASSED and counts(pid) == (1, 1)
    with app.test_request_context():
        verification.verify(
            people.verifier, s.org, access.get_submission(pid), agrees=False, remark="Too kind"
        )
        db.session.commit()
    client = signed_in(app, "admin@example.org")
    page = client.get(f"/o/{s.org.slug}/cases").get_data(as_text=True)
    assert "Too kind" in page and "Wren Worker" in page


def test_sampling_is_reproducible_from_the_stored_seed(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    configure(app, s, iqa_rate=50, iqa_mode=VerificationMode.AFTER)
    settings = marking_plans.settings_for(s.credential.id)
    assert len(settings.sample_seed) == 32
    # The same inputs give the same draw; different submissions spread over [0, 1).
    draws = [verification.draw_value(settings.sample_seed, f"sub{i}", 1) for i in range(400)]
    assert draws == [
        verification.draw_value(settings.sample_seed, f"sub{i}", 1) for i in range(400)
    ]
    assert 150 < sum(d < 0.5 for d in draws) < 250
    # Whether a decision was sampled is recomputed from the seed and matches what was stored.
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, PASS)
    value = verification.draw_value(settings.sample_seed, pid, 1)
    sample = db.session.scalar(select(VerificationSample))
    assert (sample is not None) == (value < 0.5)
    if sample is not None:
        assert sample.draw == f"{value:.4f}"
    # Saving the plan again keeps the seed: earlier draws stay checkable.
    configure(app, s, iqa_rate=10)
    db.session.expire_all()
    assert marking_plans.settings_for(s.credential.id).sample_seed == settings.sample_seed


def test_rules_sample_every_fail_and_an_assessors_first_decisions(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    configure(app, s, iqa_every_fail=True, iqa_first_n=1, iqa_mode=VerificationMode.AFTER)
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, FAIL)  # first decision of Sam, and a fail
    sample = db.session.scalar(select(VerificationSample))
    assert sample is not None and sample.reason == "every decision that is not a pass"
    events = list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "verification.sample"))
    )
    assert events and events[0].data["reason"] == sample.reason


# -- concurrency: real threads, on SQLite and PostgreSQL --------------------------------------
def _as(app: Flask, user_id: int, fn) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        user = db.session.get(User, user_id)
        assert user is not None
        fn(user)


def test_both_markers_at_the_same_instant_give_one_decision_and_one_award(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    add_people(make, s)
    configure(app, s, mode=MarkingMode.DOUBLE, is_blind=True)
    pid = submitted(app, s)
    org_id = s.org.id
    markers = [
        s.assessor.id,
        s.assessor2.id,
        db.session.scalar(select(User.id).where(User.email == "ali@example.org")),
    ]
    scores = inputs(s, PASS)

    def act(i: int) -> None:
        from portfolio.accounts.models import Organization

        def go(user: User) -> None:
            org = db.session.get(Organization, org_id)
            scoring.record_review(user, org, access.get_submission(pid), scores, "ok")

        _as(app, markers[i], go)

    results = _race(app, 3, act)
    assert sorted(results) == ["conflict", "won", "won"]
    assert sub_of(pid).state == SubmissionState.PASSED
    assert counts(pid) == (1, 1)
    stages = sorted(m.stage for m in db.session.scalars(select(Marking)))
    assert stages == ["first", "second"]


def test_moderator_and_verifier_acting_at_once_give_one_decision_and_one_award(
    app: Flask, make, scenario: Scenario
) -> None:
    s = scenario
    people = add_people(make, s)
    configure(app, s, **DOUBLE_BLIND_HOLD)
    pid = submitted(app, s)
    mark(app, s, s.assessor, pid, PASS)
    mark(app, s, s.assessor2, pid, PASS_OTHER)
    org_id = s.org.id
    scores = inputs(s, PASS)
    moderators = [people.moderator.id, people.moderator2.id]
    verifiers = [people.verifier.id, people.verifier2.id]

    def act(i: int) -> None:
        from portfolio.accounts.models import Organization

        def moderate(user: User) -> None:
            org = db.session.get(Organization, org_id)
            moderation.moderate(user, org, access.get_submission(pid), scores, "settled")

        def verify(user: User) -> None:
            org = db.session.get(Organization, org_id)
            verification.verify(user, org, access.get_submission(pid), agrees=True, remark="")

        if i < 2:
            _as(app, moderators[i], moderate)
        else:
            _as(app, verifiers[i - 2], verify)

    _race(app, 4, act)
    # Two moderators at once: exactly one moderation. Verifiers racing them either found
    # nothing to verify yet or agreed once; nothing was decided twice.
    mods = list(db.session.scalars(select(Marking).where(Marking.stage == "moderation")))
    assert len(mods) == 1
    sub = sub_of(pid)
    if sub.state != SubmissionState.PASSED:
        assert sub.waiting_for == WaitingFor.VERIFIER
        results = _race(
            app,
            2,
            lambda i: _as(
                app,
                verifiers[i],
                lambda user: verification.verify(
                    user,
                    db.session.get(type(s.org), org_id),
                    access.get_submission(pid),
                    agrees=True,
                    remark="",
                ),
            ),
        )
        assert sorted(results) == ["conflict", "won"]
    assert sub_of(pid).state == SubmissionState.PASSED
    assert counts(pid) == (1, 1)
    verdicts = list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "verification.verdict"))
    )
    assert len(verdicts) == 1
