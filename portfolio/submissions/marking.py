"""The marking workflow of a submission: single or double (optionally blind) marking,
moderation of disagreements, and the one final decision that closes a marking round.

Every step is one conditional UPDATE of the submission row first (the database serializes it:
a row lock on PostgreSQL, the write lock on SQLite), then fresh reads of the round's markings,
then inserts that unique constraints back up. So two markers submitting at the same instant,
or a moderator and an internal verifier acting at once, leave exactly one decision — and the
`submission_passed` signal, which issues the award, is sent only by `finalize`, once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app, url_for
from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.services import require_role
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, Forbidden, NotFound
from portfolio.core.sanitize import clean_text, render_markdown
from portfolio.extensions import db
from portfolio.frameworks.models import RubricLevel
from portfolio.submissions.models import (
    AssessorAssignment,
    Marking,
    MarkingMode,
    MarkingPlanVersion,
    MarkingScore,
    MarkingSettings,
    MarkingStage,
    Review,
    ReviewOutcome,
    Score,
    Submission,
    SubmissionState,
    VerificationMode,
    WaitingFor,
)

#: Stages whose marking scores every element.
SCORING_STAGES = (
    MarkingStage.FIRST,
    MarkingStage.SECOND,
    MarkingStage.MODERATION,
    MarkingStage.APPEAL,
)
QUEUE_STATES = (SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW)


# -- settings ---------------------------------------------------------------------------------
def settings_for(credential_id: int) -> MarkingSettings:
    """The credential's current marking settings (what the settings page edits and what new
    submissions are pinned to); an unsaved default (single marking, no sampling) when the admin
    never set any. A submission's workflow follows `plan_for(sub)`, not this."""
    found = db.session.get(MarkingSettings, credential_id)
    return found if found is not None else _default_settings(credential_id)


def _default_settings(credential_id: int) -> MarkingSettings:
    """Unsaved settings of a credential the admin never configured: single marking, no
    sampling, no appeals (the behaviour before these settings existed)."""
    return MarkingSettings(
        credential_id=credential_id,
        mode=MarkingMode.SINGLE,
        is_blind=False,
        iqa_rate=0,
        iqa_first_n=0,
        iqa_every_fail=False,
        iqa_every_appeal=False,
        iqa_mode=VerificationMode.HOLD,
        appeal_days=None,
        sample_seed="",
        version=0,
    )


def _plan_of(settings: MarkingSettings) -> MarkingPlanVersion:
    """An unsaved plan version with the values of `settings` (the default plan, version 0,
    or settings saved before versions were kept)."""
    return MarkingPlanVersion(
        credential_id=settings.credential_id,
        version=settings.version or 0,
        mode=settings.mode,
        is_blind=settings.is_blind,
        iqa_rate=settings.iqa_rate,
        iqa_first_n=settings.iqa_first_n,
        iqa_every_fail=settings.iqa_every_fail,
        iqa_every_appeal=settings.iqa_every_appeal,
        iqa_mode=settings.iqa_mode,
        appeal_days=settings.appeal_days,
        sample_seed=settings.sample_seed,
    )


def _saved_plan(credential_id: int, version: int) -> MarkingPlanVersion | None:
    return db.session.scalar(
        select(MarkingPlanVersion).where(
            MarkingPlanVersion.credential_id == credential_id,
            MarkingPlanVersion.version == version,
        )
    )


def current_plan(credential_id: int) -> MarkingPlanVersion:
    """The plan version in force now for a credential (version 0: the default plan)."""
    settings = settings_for(credential_id)
    if settings.version:
        found = _saved_plan(credential_id, settings.version)
        if found is not None:
            return found
    return _plan_of(settings)


def plan_for(sub: Submission) -> MarkingPlanVersion:
    """The marking plan a submission is assessed under: the version in force when it was
    submitted, whatever the admin changed since. Rows submitted before plans were versioned
    (no pin) follow the current settings."""
    pinned = sub.marking_plan_version
    if pinned is None:
        return current_plan(sub.credential_id)
    if pinned == 0:
        return _plan_of(_default_settings(sub.credential_id))
    found = _saved_plan(sub.credential_id, pinned)
    return found if found is not None else current_plan(sub.credential_id)


def pin_plan(sub: Submission) -> None:
    """Pin the submission to the credential's plan version in force now (on submit)."""
    sub.marking_plan_version = settings_for(sub.credential_id).version or 0


def plan_history(credential_id: int) -> list[MarkingPlanVersion]:
    """Every saved version of a credential's marking plan, newest first."""
    return list(
        db.session.scalars(
            select(MarkingPlanVersion)
            .where(MarkingPlanVersion.credential_id == credential_id)
            .order_by(MarkingPlanVersion.version.desc())
        )
    )


@dataclass(frozen=True)
class SettingsInput:
    """What the admin's settings form says."""

    mode: MarkingMode = MarkingMode.SINGLE
    is_blind: bool = False
    iqa_rate: int = 0
    iqa_first_n: int = 0
    iqa_every_fail: bool = False
    iqa_every_appeal: bool = False
    iqa_mode: VerificationMode = VerificationMode.HOLD
    appeal_days: int | None = None


def save_settings(
    admin: User, org: Organization, credential_id: int, values: SettingsInput
) -> MarkingSettings:
    """Set a credential's marking workflow and sampling plan (admins). The sampling seed is
    made once and kept, so earlier draws can always be recomputed; the version goes up."""
    require_role(admin, org, Role.ADMIN)
    if not 0 <= values.iqa_rate <= 100:
        raise DomainError("The sampling rate is a percentage from 0 to 100.")
    if not 0 <= values.iqa_first_n <= 1000:
        raise DomainError("“First N decisions” must be between 0 and 1000.")
    if values.appeal_days is not None and not 1 <= values.appeal_days <= 365:
        raise DomainError("The appeal period is between 1 and 365 days (or empty: no appeals).")
    found = db.session.get(MarkingSettings, credential_id)
    if found is None:
        found = MarkingSettings(
            credential_id=credential_id, sample_seed=secrets.token_hex(16), version=0
        )
        db.session.add(found)
    found.mode = values.mode
    found.is_blind = values.is_blind and values.mode == MarkingMode.DOUBLE
    found.iqa_rate = values.iqa_rate
    found.iqa_first_n = values.iqa_first_n
    found.iqa_every_fail = values.iqa_every_fail
    found.iqa_every_appeal = values.iqa_every_appeal
    found.iqa_mode = values.iqa_mode
    found.appeal_days = values.appeal_days
    found.version = (found.version or 0) + 1
    # The version is kept as it was saved: work submitted under it is marked by it.
    db.session.add(
        MarkingPlanVersion(
            credential_id=credential_id,
            version=found.version,
            mode=found.mode,
            is_blind=found.is_blind,
            iqa_rate=found.iqa_rate,
            iqa_first_n=found.iqa_first_n,
            iqa_every_fail=found.iqa_every_fail,
            iqa_every_appeal=found.iqa_every_appeal,
            iqa_mode=found.iqa_mode,
            appeal_days=found.appeal_days,
            sample_seed=found.sample_seed,
            created_by_id=admin.id,
        )
    )
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        # Two admins saving at once would both write the same version number: one wins.
        db.session.rollback()
        raise Conflict(
            "Someone else has just changed these settings. Reload and try again."
        ) from exc
    audit.record(
        "marking.settings",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="credential",
        subject_id=str(credential_id),
        mode=str(found.mode),
        blind=found.is_blind,
        iqa_rate=found.iqa_rate,
        iqa_first_n=found.iqa_first_n,
        iqa_every_fail=found.iqa_every_fail,
        iqa_every_appeal=found.iqa_every_appeal,
        iqa_mode=str(found.iqa_mode),
        appeal_days=found.appeal_days,
        version=found.version,
    )
    return found


# -- who may do what --------------------------------------------------------------------------
def is_assigned(user: User, credential_id: int) -> bool:
    """A credential with assessor assignments is marked only by them; one without, by all."""
    any_assigned = db.session.scalar(
        select(exists().where(AssessorAssignment.credential_id == credential_id))
    )
    if not any_assigned:
        return True
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    AssessorAssignment.credential_id == credential_id,
                    AssessorAssignment.user_id == user.id,
                )
            )
        )
    )


def check_may_mark(user: User, org: Organization, sub: Submission) -> None:
    """An assessor (or admin) of the organization, assigned to the credential, never on their
    own work."""
    require_role(user, org, Role.ASSESSOR, Role.ADMIN)
    if sub.organization_id != org.id:
        raise NotFound("No such submission.")
    # Conflict of interest: nobody marks, moderates or verifies their own work.
    if sub.learner_id == user.id:
        raise Forbidden("You cannot mark your own work.")
    if not is_assigned(user, sub.credential_id):
        raise Forbidden("You are not assigned to mark this credential.")


def round_markings(sub: Submission, round_: int | None = None) -> dict[MarkingStage, Marking]:
    """The markings of one round (the current one by default), by stage, read afresh."""
    number = sub.marking_round if round_ is None else round_
    rows = db.session.scalars(
        select(Marking)
        .where(Marking.submission_id == sub.id, Marking.round == number)
        .execution_options(populate_existing=True)
    )
    return {MarkingStage(m.stage): m for m in rows}


def all_markings(sub: Submission) -> list[Marking]:
    """Every marking of the submission, oldest first."""
    return list(
        db.session.scalars(
            select(Marking).where(Marking.submission_id == sub.id).order_by(Marking.id)
        )
    )


def markers_of_round(sub: Submission) -> set[int]:
    """Everyone who scored the current round (first, second marker, moderator)."""
    return {
        m.marker_id
        for stage, m in round_markings(sub).items()
        if stage in SCORING_STAGES and m.marker_id is not None
    }


def visible_markings(user: User, sub: Submission) -> list[Marking]:
    """What of the current round's markings `user` may see. With blind double marking a
    marker sees no other marking until both are in; moderators, verifiers and admins see all."""
    markings = round_markings(sub)
    first, second = markings.get(MarkingStage.FIRST), markings.get(MarkingStage.SECOND)
    settings = plan_for(sub)
    shown = list(markings.values())
    both_in = first is not None and second is not None
    is_overseer = user.has_role(
        sub.organization_id, Role.MODERATOR, Role.INTERNAL_VERIFIER, Role.ADMIN
    )
    if settings.is_blind and not both_in and not is_overseer:
        shown = [m for m in shown if m.marker_id == user.id]
    return sorted(shown, key=lambda m: m.id)


# -- the guarded step --------------------------------------------------------------------------
def take(
    sub: Submission,
    *,
    states: Sequence[SubmissionState],
    waiting: Sequence[str | None],
    message: str,
    **values: object,
) -> None:
    """Move the submission on only if it is still where the caller saw it (same round, one of
    `states`, waiting for one of `waiting`). The UPDATE also serializes concurrent steps:
    whoever comes second waits, then finds the row moved and gets `Conflict(message)`."""
    waiting_values = [w for w in waiting if w is not None]
    condition: ColumnElement[bool] = Submission.waiting_for.in_(waiting_values)
    if None in waiting:
        condition = or_(condition, Submission.waiting_for.is_(None))
    result = db.session.execute(
        update(Submission)
        .where(
            Submission.id == sub.id,
            Submission.marking_round == sub.marking_round,
            Submission.state.in_(list(states)),
            condition,
        )
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict(message)
    db.session.expire(sub)


# -- recording a marking -----------------------------------------------------------------------
def new_marking(
    sub: Submission,
    stage: MarkingStage,
    marker: User,
    scores: Sequence[object],
    *,
    outcome: str,
    total: object = None,
    feedback: str = "",
    reason: str = "",
) -> Marking:
    """Build (and flush) one marking with its per-element levels; a second marking of the same
    stage in the same round is refused by the database (`Conflict`)."""
    levels = {lv.id: lv for lv in sub.rubric_version.levels}
    by_element: dict[str, Any] = {s.element_public_id: s for s in scores}  # type: ignore[attr-defined]
    marking = Marking(
        submission_id=sub.id,
        round=sub.marking_round,
        stage=stage,
        marker_id=marker.id,
        outcome=outcome,
        feedback=feedback or "",
        feedback_html=render_markdown(feedback or ""),
        reason=clean_text(reason, 5000) if reason else "",
        total_points=total,
    )
    if by_element:
        for element in sub.rubric_version.elements:
            given = by_element[element.public_id]
            level: RubricLevel = levels[given.level_id]
            marking.scores.append(
                MarkingScore(
                    element_id=element.id,
                    level_id=level.id,
                    remark=(given.remark or "").strip()[:5000],
                )
            )
    db.session.add(marking)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(f"This submission already has its {stage.label.lower()}.") from exc
    return marking


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
