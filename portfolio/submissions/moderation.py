"""Ending a marking round: moderating a disagreement, concluding a round and the one final
decision that records the review."""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, Forbidden, NotFound
from portfolio.core.sanitize import render_markdown
from portfolio.extensions import db
from portfolio.submissions.marking import (
    QUEUE_STATES,
    check_may_mark,
    markers_of_round,
    new_marking,
    round_markings,
    take,
)
from portfolio.submissions.marking_plans import plan_for
from portfolio.submissions.models import (
    Marking,
    MarkingStage,
    Review,
    ReviewOutcome,
    Score,
    Submission,
    SubmissionState,
    VerificationMode,
    WaitingFor,
)


def moderate(
    moderator: User, org: Organization, sub: Submission, scores: Sequence[object], reason: str
) -> Marking:
    """The moderator sees both markings, records the final levels with a reason, and decides.
    Never one of the two markers, never on their own work."""
    from portfolio.submissions.scoring import _outcome_state, preview_outcome

    require_role(moderator, org, Role.MODERATOR)
    if sub.organization_id != org.id:
        raise NotFound("No such submission.")
    if sub.learner_id == moderator.id:
        raise Forbidden("You cannot moderate your own work.")
    if moderator.id in markers_of_round(sub):
        raise Forbidden("You marked this submission, so another moderator decides.")
    if not reason.strip():
        raise DomainError("Give the reason for the final levels.")
    if sub.waiting_for != WaitingFor.MODERATOR:
        raise Conflict("This submission is not waiting for a moderator.")
    evaluation, _ = preview_outcome(sub, scores)  # type: ignore[arg-type]
    outcome = _outcome(_outcome_state(sub, evaluation))
    take(
        sub,
        states=(SubmissionState.IN_REVIEW,),
        waiting=(WaitingFor.MODERATOR,),
        message="This submission has already been moderated.",
    )
    marking = new_marking(
        sub,
        MarkingStage.MODERATION,
        moderator,
        scores,
        outcome=outcome,
        total=evaluation.total_points,
        reason=reason,
    )
    first = round_markings(sub).get(MarkingStage.FIRST)
    audit.record(
        "marking.moderate",
        actor_id=moderator.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
        round=sub.marking_round,
        outcome=outcome,
        reason=marking.reason,
        scores={s.element.public_id: s.level_id for s in marking.scores},
    )
    conclude(sub, marking, moderator, first_marker_id=first.marker_id if first else None)
    return marking


def _outcome(state: SubmissionState) -> str:
    return {
        SubmissionState.PASSED: ReviewOutcome.PASS,
        SubmissionState.NEEDS_REVISION: ReviewOutcome.NEEDS_REVISION,
        SubmissionState.FAILED: ReviewOutcome.FAIL,
    }[state].value


def outcome_of(state: SubmissionState) -> str:
    """The outcome word of a decided state."""
    return _outcome(state)


# -- closing a round ---------------------------------------------------------------------------
def conclude(
    sub: Submission,
    deciding: Marking,
    actor: User,
    *,
    first_marker_id: int | None,
    is_appeal: bool = False,
) -> Review | None:
    """The round's decision is made (`deciding`): draw it for internal verification, then
    either hold it for the verifier (hold mode) or make it final now."""
    from portfolio.submissions import verification

    settings = plan_for(sub)
    sample = verification.draw(sub, settings, deciding, first_marker_id, is_appeal=is_appeal)
    if sample is not None and settings.iqa_mode == VerificationMode.HOLD:
        take(
            sub,
            states=(SubmissionState.IN_REVIEW, *QUEUE_STATES),
            waiting=(None, WaitingFor.MARKER, WaitingFor.MODERATOR, WaitingFor.APPEAL),
            message="This submission has already been decided.",
            state=SubmissionState.IN_REVIEW,
            waiting_for=WaitingFor.VERIFIER,
            claim_expires_at=None,
        )
        verification.open_sample(sub, settings, deciding, first_marker_id, sample)
        return None
    review = finalize(sub, deciding, actor)
    if sample is not None:
        verification.open_sample(sub, settings, deciding, first_marker_id, sample)
    return review


def finalize(sub: Submission, deciding: Marking, actor: User) -> Review:
    """Write the final decision of the round from `deciding`'s levels, notify the worker, and
    on a pass send `submission_passed` (which issues the award in this transaction). Guarded:
    of two concurrent finalizations one raises `Conflict` and records nothing."""
    from portfolio.submissions.notifications import notify
    from portfolio.submissions.scoring import submission_passed

    state = {
        ReviewOutcome.PASS.value: SubmissionState.PASSED,
        ReviewOutcome.NEEDS_REVISION.value: SubmissionState.NEEDS_REVISION,
        ReviewOutcome.FAIL.value: SubmissionState.FAILED,
    }[deciding.outcome]
    now = utcnow()
    take(
        sub,
        states=(SubmissionState.IN_REVIEW, *QUEUE_STATES),
        waiting=(
            None,
            WaitingFor.MARKER,
            WaitingFor.MODERATOR,
            WaitingFor.VERIFIER,
            WaitingFor.APPEAL,
        ),
        message="This submission has already been decided.",
        state=state,
        decided_at=now,
        waiting_for=None,
        claim_expires_at=None,
    )
    review = Review(
        submission_id=sub.id,
        assessor_id=deciding.marker_id,
        outcome=deciding.outcome,
        feedback=deciding.feedback or deciding.reason,
        feedback_html=deciding.feedback_html or render_markdown(deciding.reason or ""),
        total_points=deciding.total_points or 0,
        round=sub.marking_round,
    )
    for s in deciding.scores:
        review.scores.append(Score(element_id=s.element_id, level_id=s.level_id, remark=s.remark))
    db.session.add(review)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict("This submission has already been decided.") from exc
    audit.record(
        "review.record",
        actor_id=actor.id,
        organization_id=sub.organization_id,
        subject_type="submission",
        subject_id=sub.public_id,
        outcome=str(deciding.outcome),
        total=str(review.total_points),
        round=sub.marking_round,
        decided_by=deciding.marker_id,
        stage=str(deciding.stage),
        scores={s.element.public_id: s.level_id for s in deciding.scores},
    )
    notify(
        sub.learner,
        f"Your submission for {sub.credential.name} has been decided: {state.label}.",
        url_for("submissions.show_submission", public_id=sub.public_id),
    )
    if state == SubmissionState.PASSED:
        submission_passed.send(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            submission=sub,
            review=review,
        )
    return review


def _notify_role(
    sub: Submission, role: Role, message: str, link: str, *, exclude: set[int | None]
) -> None:
    """Tell the organization's holders of `role` (but not the excluded people)."""
    from portfolio.accounts.models import Membership
    from portfolio.submissions.notifications import notify

    users = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == sub.organization_id, Membership.role == role)
        .limit(50)
    )
    for user in users:
        if user.id not in exclude:
            notify(user, message, link)


def decisions_count(user_id: int, credential_id: int) -> int:
    """How many first markings `user_id` has made on a credential (for "first N")."""
    return (
        db.session.scalar(
            select(func.count(Marking.id))
            .join(Submission, Submission.id == Marking.submission_id)
            .where(
                Marking.marker_id == user_id,
                Marking.stage == MarkingStage.FIRST,
                Submission.credential_id == credential_id,
            )
        )
        or 0
    )


def levels_of(marking: Marking) -> dict[int, int]:
    """element id → level id of a marking."""
    return {s.element_id: s.level_id for s in marking.scores}


def agree(a: Marking, b: Marking) -> bool:
    """Two markings agree when every element has the same level and the outcome is the same."""
    return levels_of(a) == levels_of(b) and a.outcome == b.outcome


def record_double_marking(
    marker: User, org: Organization, sub: Submission, scores: Sequence[object], feedback: str
) -> Marking:
    """First or second marking of a double-marked credential. Whoever comes first is the first
    marker; the second must be someone else. Agreement on every level and the outcome closes
    the round; any difference sends it to a moderator."""
    from portfolio.submissions.scoring import _outcome_state, preview_outcome

    check_may_mark(marker, org, sub)
    if sub.state not in QUEUE_STATES or sub.waiting_for not in (None, WaitingFor.MARKER):
        raise Conflict("Both markings of this submission are in.")
    evaluation, _ = preview_outcome(sub, scores)  # type: ignore[arg-type]
    outcome = _outcome(_outcome_state(sub, evaluation))
    allocated = sub.allocated_to_id
    take(
        sub,
        states=QUEUE_STATES,
        waiting=(None, WaitingFor.MARKER),
        message="Both markings of this submission are in.",
        state=SubmissionState.IN_REVIEW,
        waiting_for=WaitingFor.MARKER,
        # The allocation names the first marker; the second marking is open to the others.
        allocated_to_id=None,
    )
    existing = round_markings(sub)
    markers = [m for s, m in existing.items() if s in (MarkingStage.FIRST, MarkingStage.SECOND)]
    if any(m.marker_id == marker.id for m in markers):
        db.session.rollback()
        raise Conflict("You have already marked this submission; a different assessor marks it.")
    if len(markers) >= 2:
        db.session.rollback()
        raise Conflict("Both markings of this submission are in.")
    if not markers and allocated not in (None, marker.id):
        db.session.rollback()
        raise Forbidden("An admin allocated this submission to another assessor.")
    stage = MarkingStage.SECOND if markers else MarkingStage.FIRST
    marking = new_marking(
        sub,
        stage,
        marker,
        scores,
        outcome=outcome,
        total=evaluation.total_points,
        feedback=feedback,
    )
    audit.record(
        "marking.record",
        actor_id=marker.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
        stage=str(stage),
        round=sub.marking_round,
        outcome=outcome,
        scores={s.element.public_id: s.level_id for s in marking.scores},
    )
    if stage == MarkingStage.FIRST:
        return marking
    first = existing[MarkingStage.FIRST]
    if agree(first, marking):
        audit.record(
            "marking.agree",
            actor_id=marker.id,
            organization_id=org.id,
            subject_type="submission",
            subject_id=sub.public_id,
            round=sub.marking_round,
        )
        conclude(sub, marking, marker, first_marker_id=first.marker_id)
        return marking
    take(
        sub,
        states=(SubmissionState.IN_REVIEW,),
        waiting=(WaitingFor.MARKER,),
        message="Both markings of this submission are in.",
        waiting_for=WaitingFor.MODERATOR,
    )
    differing = [
        s.element.title for s in marking.scores if levels_of(first).get(s.element_id) != s.level_id
    ]
    audit.record(
        "marking.disagree",
        actor_id=marker.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
        round=sub.marking_round,
        elements=differing,
        outcomes=[first.outcome, marking.outcome],
    )
    _notify_role(
        sub,
        Role.MODERATOR,
        f"Markers disagree on a submission for {sub.credential.name}: please moderate.",
        url_for("submissions.moderate", slug=org.slug, public_id=sub.public_id),
        exclude={first.marker_id, marker.id, sub.learner_id},
    )
    return marking
