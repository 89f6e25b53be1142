"""Marking a submission: who may mark it, taking it and recording a marking, and which markings
a user may see (blind double marking). Double marking, moderation and the final decision are in
`moderation`, the marking plans in `marking_plans`.

Every step is one conditional UPDATE of the submission row first (the database serializes it:
a row lock on PostgreSQL, the write lock on SQLite), then fresh reads of the round's markings,
then inserts that unique constraints back up. So two markers submitting at the same instant,
or a moderator and an internal verifier acting at once, leave exactly one decision — and the
`submission_passed` signal, which issues the award, is sent only by `finalize`, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, Forbidden, NotFound
from portfolio.core.sanitize import clean_text, render_markdown
from portfolio.extensions import db
from portfolio.frameworks.models import RubricLevel
from portfolio.submissions.marking_plans import plan_for
from portfolio.submissions.models import (
    AssessorAssignment,
    Marking,
    MarkingScore,
    MarkingStage,
    Submission,
    SubmissionState,
)

#: Stages whose marking scores every element.
SCORING_STAGES = (
    MarkingStage.FIRST,
    MarkingStage.SECOND,
    MarkingStage.MODERATION,
    MarkingStage.APPEAL,
)
QUEUE_STATES = (SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW)


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
