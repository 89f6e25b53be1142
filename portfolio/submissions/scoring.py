"""Scoring a review by the pass rule: preview an outcome, record a review (a pass sends
`submission_passed`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from blinker import Namespace
from sqlalchemy import func, select, update

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, Forbidden, NotFound
from portfolio.evidence.validation import inline_kind as inline_kind  # used by the pages
from portfolio.extensions import db
from portfolio.frameworks.models import RubricVersion
from portfolio.frameworks.pass_rule import ElementSpec, Evaluation, LevelSpec, evaluate
from portfolio.submissions.models import (
    DECIDED_STATES,
    MarkingMode,
    MarkingStage,
    Review,
    Submission,
    SubmissionState,
)
from portfolio.submissions.services import attempt_limit

_signals = Namespace()


#: Sent inside the transaction that records a passing review, with `submission` and `review`.
#: `create_app` connects the awards domain's receiver to it, so a pass and its award commit
#: together (and roll back together).
submission_passed = _signals.signal("submission-passed")


# -- reviews ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScoreInput:
    """An assessor's level (by id) and remark for one element (by public id)."""

    element_public_id: str
    level_id: int | None
    remark: str = ""


def _specs(version: RubricVersion) -> tuple[list[ElementSpec], list[LevelSpec]]:
    elements = [ElementSpec(e.id, e.title, e.is_required, e.weight) for e in version.elements]
    levels = [LevelSpec(lv.position, lv.name, lv.points) for lv in version.levels]
    return elements, levels


def preview_outcome(sub: Submission, scores: Sequence[ScoreInput]) -> tuple[Evaluation, str]:
    """What the pass rule says about these scores, and the resulting state's label."""
    version = sub.rubric_version
    levels_by_id = {lv.id: lv for lv in version.levels}
    by_element = {s.element_public_id: s for s in scores}
    positions: dict[int, int] = {}
    for element in version.elements:
        given = by_element.get(element.public_id)
        if given is not None and given.level_id in levels_by_id:
            positions[element.id] = levels_by_id[given.level_id].position
    elements, levels = _specs(version)
    if version.pass_level_position is None:
        raise DomainError("This rubric has no pass level; ask an admin to fix it.")
    evaluation = evaluate(
        elements, levels, version.pass_level_position, version.min_total_points, positions
    )
    return evaluation, _outcome_state(sub, evaluation).label


def _outcome_state(sub: Submission, evaluation: Evaluation) -> SubmissionState:
    if evaluation.passed:
        return SubmissionState.PASSED
    max_attempts = attempt_limit(sub.learner_id, sub.credential)
    if max_attempts is None:
        return SubmissionState.NEEDS_REVISION
    # Withdrawn attempts were never assessed and do not use up an attempt (as when starting one).
    used = db.session.scalar(
        select(func.count(Submission.id)).where(
            Submission.learner_id == sub.learner_id,
            Submission.credential_id == sub.credential_id,
            Submission.attempt <= sub.attempt,
            Submission.state != SubmissionState.WITHDRAWN,
        )
    )
    if (used or 0) >= max_attempts:
        return SubmissionState.FAILED
    return SubmissionState.NEEDS_REVISION


def record_review(
    assessor: User, org: Organization, sub: Submission, scores: Sequence[ScoreInput], feedback: str
) -> Review | None:
    """Score every element, decide by the pass rule, notify the worker; on a pass, the
    `submission_passed` signal issues the badge in the same transaction.

    On a double-marked credential this records the first or second marking instead (see
    `moderation.record_double_marking`); a decision sampled for internal verification in hold mode
    waits for the verifier (and None is returned).

    Reviews are append-only and one per submission and round: a second submit of the same form
    (two clicks, a retried request) raises `Conflict` and records nothing more."""
    from portfolio.submissions import marking, marking_plans, moderation

    require_role(assessor, org, Role.ASSESSOR, Role.ADMIN)
    if sub.organization_id != org.id:
        raise NotFound("No such submission.")
    if sub.learner_id == assessor.id:
        raise Forbidden("You cannot review your own submission.")
    if sub.state in DECIDED_STATES:
        raise Conflict("This submission has already been decided.")
    if marking_plans.plan_for(sub).mode == MarkingMode.DOUBLE:
        moderation.record_double_marking(assessor, org, sub, scores, feedback)
        return sub.review if sub.state in DECIDED_STATES else None
    marking.check_may_mark(assessor, org, sub)
    if not (
        sub.state == SubmissionState.IN_REVIEW
        and sub.claimed_by_id == assessor.id
        and sub.claim_is_live()
    ):
        raise Conflict(
            "Claim this submission before recording a review (your claim may have expired)."
        )
    evaluation, _ = preview_outcome(sub, scores)
    state = _outcome_state(sub, evaluation)
    # Lock in the decision first: only the request whose UPDATE changes the row goes on.
    result = db.session.execute(
        update(Submission)
        .where(
            Submission.id == sub.id,
            Submission.state == SubmissionState.IN_REVIEW,
            Submission.claimed_by_id == assessor.id,
            Submission.waiting_for.is_(None),
        )
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict("This submission has already been decided.")
    db.session.expire(sub)
    first = marking.new_marking(
        sub,
        MarkingStage.FIRST,
        assessor,
        scores,
        outcome=moderation.outcome_of(state),
        total=evaluation.total_points,
        feedback=feedback,
    )
    return moderation.conclude(sub, first, assessor, first_marker_id=assessor.id)
