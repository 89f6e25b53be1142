"""Appeals against a final "not passed", and the admin's overrides: an extra attempt, and
reopening a decision (a reopened pass loses its award with the reason "decision reopened")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from blinker import Namespace
from flask import current_app, url_for
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, Forbidden, NotFound
from portfolio.core.sanitize import clean_text
from portfolio.extensions import db
from portfolio.submissions import marking, marking_plans, moderation
from portfolio.submissions.models import (
    DECIDED_STATES,
    Appeal,
    AppealState,
    AttemptGrant,
    Marking,
    MarkingMode,
    MarkingStage,
    Submission,
    SubmissionState,
    WaitingFor,
)

_signals = Namespace()
#: Sent when an admin reopens a decision, with `submission`, `actor` and `reason`: the awards
#: package revokes the submission's award (a new decision issues a new one).
decision_reopened = _signals.signal("decision-reopened")

REOPENED_REASON = "decision reopened"


def appeal_deadline(sub: Submission) -> object | None:
    """Until when the worker may appeal this decision (None: the credential allows none)."""
    settings = marking_plans.plan_for(sub)
    if settings.appeal_days is None or sub.decided_at is None:
        return None
    return sub.decided_at + timedelta(days=settings.appeal_days)


def appeal_of(sub: Submission) -> Appeal | None:
    return db.session.scalar(select(Appeal).where(Appeal.submission_id == sub.id))


def can_appeal(sub: Submission) -> bool:
    """A final "not passed", within the period, not yet appealed."""
    deadline = appeal_deadline(sub)
    return (
        sub.state == SubmissionState.FAILED
        and deadline is not None
        and utcnow() <= deadline  # type: ignore[operator]
        and appeal_of(sub) is None
    )


def lodge_appeal(learner: User, sub: Submission, reason: str) -> Appeal:
    """The worker appeals a final "not passed" with a reason, within the credential's period."""
    if sub.learner_id != learner.id:
        raise NotFound("No such submission.")
    text = clean_text(reason, 5000)
    if not text:
        raise DomainError("Say why you think the decision is wrong.")
    if sub.state != SubmissionState.FAILED:
        raise DomainError("Only a final “not passed” can be appealed.")
    deadline = appeal_deadline(sub)
    if deadline is None:
        raise DomainError("This credential does not take appeals.")
    if utcnow() > deadline:  # type: ignore[operator]
        raise DomainError(f"The appeal period ended on {deadline:%d %B %Y}.")
    appeal = Appeal(submission_id=sub.id, reason=text)
    db.session.add(appeal)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict("You have already appealed this decision.") from exc
    audit.record(
        "appeal.lodge",
        actor_id=learner.id,
        organization_id=sub.organization_id,
        subject_type="submission",
        subject_id=sub.public_id,
        reason=text,
    )
    org = db.session.get(Organization, sub.organization_id)
    assert org is not None
    moderation._notify_role(
        sub,
        Role.ASSESSOR,
        f"A worker appealed a decision on {sub.credential.name}.",
        url_for("submissions.appeal_review", slug=org.slug, public_id=sub.public_id),
        exclude=deciders(sub) | {sub.learner_id},
    )
    return appeal


def deciders(sub: Submission) -> set[int | None]:
    """Everyone who scored any round of the submission: none of them re-reviews an appeal."""
    return {
        m.marker_id
        for m in db.session.scalars(
            select(Marking).where(
                Marking.submission_id == sub.id, Marking.stage.in_(marking.SCORING_STAGES)
            )
        )
    } | {r.assessor_id for r in sub.reviews}


def open_appeals(assessor: User, org: Organization) -> list[Appeal]:
    """Open appeals of the organization that this assessor may re-review."""
    require_role(assessor, org, Role.ASSESSOR, Role.ADMIN)
    rows = db.session.scalars(
        select(Appeal)
        .join(Submission, Submission.id == Appeal.submission_id)
        .where(Submission.organization_id == org.id, Appeal.state == AppealState.OPEN)
        .order_by(Appeal.created_at)
    )
    return [
        a
        for a in rows
        if a.submission.learner_id != assessor.id and assessor.id not in deciders(a.submission)
    ]


def check_may_review_appeal(reviewer: User, org: Organization, sub: Submission) -> Appeal:
    """A different assessor: never the worker, never anyone who marked or decided it."""
    marking.check_may_mark(reviewer, org, sub)
    if reviewer.id in deciders(sub):
        raise Forbidden("You took part in this decision, so another assessor reviews the appeal.")
    appeal = appeal_of(sub)
    if appeal is None:
        raise NotFound("This submission has no appeal.")
    return appeal


def decide_appeal(
    reviewer: User, org: Organization, sub: Submission, scores: Sequence[object], reason: str
) -> Appeal:
    """Re-review the appealed work and decide, finally: a pass issues the badge, anything else
    is a final "not passed". Recorded as a new marking round."""
    from portfolio.submissions.scoring import preview_outcome

    appeal = check_may_review_appeal(reviewer, org, sub)
    if appeal.state != AppealState.OPEN:
        raise Conflict("This appeal has already been decided.")
    if not reason.strip():
        raise DomainError("Give the reason for the appeal decision.")
    evaluation, _ = preview_outcome(sub, scores)  # type: ignore[arg-type]
    outcome = "pass" if evaluation.passed else "fail"
    result = db.session.execute(
        update(Appeal)
        .where(Appeal.id == appeal.id, Appeal.state == AppealState.OPEN)
        .values(
            state=AppealState.DECIDED,
            reviewer_id=reviewer.id,
            outcome=outcome,
            decided_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict("This appeal has already been decided.")
    db.session.expire(appeal)
    marking.take(
        sub,
        states=(SubmissionState.FAILED,),
        waiting=(None,),
        message="This decision has changed since the appeal was lodged.",
        state=SubmissionState.IN_REVIEW,
        marking_round=Submission.marking_round + 1,
        waiting_for=WaitingFor.APPEAL,
    )
    deciding = marking.new_marking(
        sub,
        MarkingStage.APPEAL,
        reviewer,
        scores,
        outcome=outcome,
        total=evaluation.total_points,
        reason=reason,
    )
    audit.record(
        "appeal.decide",
        actor_id=reviewer.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
        outcome=outcome,
        reason=deciding.reason,
    )
    moderation.conclude(sub, deciding, reviewer, first_marker_id=reviewer.id, is_appeal=True)
    return appeal


def grant_extra_attempt(
    admin: User, org: Organization, sub: Submission, reason: str
) -> AttemptGrant:
    """Give the worker one more attempt at the submission's credential."""
    require_role(admin, org, Role.ADMIN)
    if sub.organization_id != org.id:
        raise NotFound("No such submission.")
    if sub.learner_id == admin.id:
        raise Forbidden("You cannot grant yourself an attempt.")
    grant = AttemptGrant(
        learner_id=sub.learner_id,
        credential_id=sub.credential_id,
        granted_by_id=admin.id,
        reason=clean_text(reason, 2000),
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        "attempt.grant",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
        reason=grant.reason,
    )
    from portfolio.submissions.notifications import notify

    notify(
        sub.learner,
        f"You have been given another attempt at {sub.credential.name}.",
        url_for("submissions.show_submission", public_id=sub.public_id),
    )
    return grant


def reopen(admin: User, org: Organization, sub: Submission, reason: str) -> None:
    """Reopen a decision: the submission goes back to the markers in a new round; a pass
    loses its award ("decision reopened"); the next decision issues a new award."""
    require_role(admin, org, Role.ADMIN)
    if sub.organization_id != org.id:
        raise NotFound("No such submission.")
    if sub.learner_id == admin.id:
        raise Forbidden("You cannot reopen a decision on your own work.")
    if not reason.strip():
        raise DomainError("Say why the decision is reopened.")
    if sub.state not in DECIDED_STATES:
        raise Conflict("Only a decided submission can be reopened.")
    was = sub.state
    settings = marking_plans.plan_for(sub)
    marking.take(
        sub,
        states=tuple(DECIDED_STATES),
        waiting=(None,),
        message="This decision has just changed. Reload.",
        state=SubmissionState.SUBMITTED,
        marking_round=Submission.marking_round + 1,
        waiting_for=WaitingFor.MARKER if settings.mode == MarkingMode.DOUBLE else None,
        decided_at=None,
        claimed_by_id=None,
        claim_expires_at=None,
    )
    audit.record(
        "decision.reopen",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
        reason=clean_text(reason, 2000),
        was=str(was),
    )
    if was == SubmissionState.PASSED:
        decision_reopened.send(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            submission=sub,
            actor=admin,
            reason=REOPENED_REASON,
        )


def reassign(admin: User, org: Organization, sub: Submission, assessor: User) -> None:
    """Hand a claimed (or waiting) submission to another assessor, who must be allowed to mark
    it; the allocation names them."""
    from portfolio.submissions.notifications import notify

    require_role(admin, org, Role.ADMIN)
    marking.check_may_mark(assessor, org, sub)
    if assessor.id in marking.markers_of_round(sub):
        raise Forbidden(f"{assessor.display_name} has already marked this submission.")
    if sub.state not in (SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW):
        raise Conflict("Only waiting work can be allocated.")
    if sub.waiting_for in (WaitingFor.MODERATOR, WaitingFor.VERIFIER, WaitingFor.APPEAL):
        # Its marking is done: what it waits for is a moderator, a verifier or an appeal
        # reviewer, none of whom an allocation names.
        raise Conflict(
            "This submission is marked and waiting for "
            + {
                WaitingFor.MODERATOR: "a moderator",
                WaitingFor.VERIFIER: "internal verification",
                WaitingFor.APPEAL: "the appeal reviewer",
            }[WaitingFor(sub.waiting_for)]
            + ": it cannot be given to another assessor now."
        )
    values: dict[str, object] = {"allocated_to_id": assessor.id}
    if sub.claimed_by_id is not None and sub.waiting_for is None:
        # The claim moves to the new assessor with a fresh lease; state stays in review.
        from portfolio.submissions.assessor_queue import _lease

        values.update(claimed_by_id=assessor.id, claim_expires_at=utcnow() + _lease())
    marking.take(
        sub,
        states=(SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW),
        waiting=(None, WaitingFor.MARKER),
        message="This submission has just moved on. Reload.",
        **values,
    )
    audit.record(
        "submission.allocate",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
        to=assessor.id,
        to_name=assessor.display_name,
    )
    notify(
        assessor,
        f"A submission for {sub.credential.name} was allocated to you.",
        url_for("submissions.review", slug=org.slug, public_id=sub.public_id),
    )
