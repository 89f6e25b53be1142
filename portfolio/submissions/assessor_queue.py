"""The assessors' review queue (filters, keyset paging) and claims with leases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, func, literal, or_, select, tuple_, update
from sqlalchemy.orm import selectinload

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core import audit, paging
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, Forbidden, NotFound
from portfolio.evidence.validation import inline_kind as inline_kind  # used by the pages
from portfolio.extensions import db
from portfolio.submissions.models import (
    DECIDED_STATES,
    Submission,
    SubmissionState,
)

#: States in the assessors' queue.
QUEUE_STATES = (SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW)


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["PORTFOLIO"].claim_lease_seconds)


# -- the queue --------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueFilter:
    """What the assessor narrowed the queue to."""

    credential_id: int | None = None
    mine: bool = False
    older_than_days: int | None = None


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue and the cursor of the next, if any."""

    rows: Sequence[Submission]
    next_cursor: str | None
    #: Waiting work counted up to `QUEUE_COUNT_CAP`; `more_waiting` says there is more.
    total_waiting: int
    more_waiting: bool = False


#: The queue header counts waiting work exactly up to this number, then says "more than".
QUEUE_COUNT_CAP = 1000


def _waiting() -> ColumnElement[bool]:
    """The queue's states with their values written into the SQL (not bound), so PostgreSQL
    can always prove the predicate of the partial index `ix_submissions_waiting`, also in a
    prepared statement's generic plan."""
    return Submission.state.in_([literal(str(s), literal_execute=True) for s in QUEUE_STATES])


def encode_cursor(sub: Submission) -> str:
    """Opaque keyset cursor: the (submitted_at, id) of the last row shown."""
    assert sub.submitted_at is not None
    return paging.encode_cursor(sub.submitted_at, sub.id)


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Inverse of `encode_cursor`; refuses anything malformed."""
    return paging.decode_time_cursor(cursor)


def review_queue(
    assessor: User,
    org: Organization,
    filters: QueueFilter,
    cursor: str | None = None,
    limit: int = 25,
) -> QueuePage:
    """Submitted work of the organization, oldest first, with keyset pagination (no OFFSET).
    The assessor's own submissions are never in their queue."""
    require_role(assessor, org, Role.ASSESSOR, Role.ADMIN)
    now = utcnow()
    from portfolio.submissions.models import AssessorAssignment, Marking, WaitingFor

    assigned = select(AssessorAssignment.id).where(
        AssessorAssignment.credential_id == Submission.credential_id
    )
    conditions = [
        Submission.organization_id == org.id,
        _waiting(),
        Submission.learner_id != assessor.id,
        # Only work waiting for a marker (not a moderator or verifier)...
        or_(Submission.waiting_for.is_(None), Submission.waiting_for == WaitingFor.MARKER),
        # ...of a credential open to every assessor or assigned to this one...
        or_(
            ~assigned.exists(),
            assigned.where(AssessorAssignment.user_id == assessor.id).exists(),
        ),
        # ...and not allocated to somebody else...
        or_(Submission.allocated_to_id.is_(None), Submission.allocated_to_id == assessor.id),
        # ...nor already marked by this assessor in this round (double marking).
        ~select(Marking.id)
        .where(
            Marking.submission_id == Submission.id,
            Marking.round == Submission.marking_round,
            Marking.marker_id == assessor.id,
        )
        .exists(),
    ]
    if filters.credential_id is not None:
        conditions.append(Submission.credential_id == filters.credential_id)
    if filters.mine:
        conditions += [Submission.claimed_by_id == assessor.id, Submission.claim_expires_at > now]
    if filters.older_than_days is not None:
        conditions.append(Submission.submitted_at <= now - timedelta(days=filters.older_than_days))
    query = select(Submission).where(and_(*conditions))
    if cursor:
        at, ident = decode_cursor(cursor)
        query = query.where(tuple_(Submission.submitted_at, Submission.id) > tuple_(at, ident))
    rows = list(
        db.session.scalars(
            query.options(
                selectinload(Submission.learner),
                selectinload(Submission.credential),
                selectinload(Submission.claimed_by),
            )
            .order_by(Submission.submitted_at, Submission.id)
            .limit(limit + 1)
        )
    )
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    # Counted up to the cap only: an exact count reads every waiting entry of the index.
    waiting = (
        select(Submission.id)
        .where(Submission.organization_id == org.id, _waiting())
        .limit(QUEUE_COUNT_CAP + 1)
        .subquery()
    )
    total = db.session.scalar(select(func.count()).select_from(waiting)) or 0
    return QueuePage(
        rows=rows[:limit],
        next_cursor=next_cursor,
        total_waiting=min(total, QUEUE_COUNT_CAP),
        more_waiting=total > QUEUE_COUNT_CAP,
    )


def claim(assessor: User, org: Organization, sub: Submission) -> None:
    """Take a submission for review under a lease. Atomic: of two assessors claiming at the
    same moment exactly one wins (a conditional UPDATE; the database serializes it)."""
    from portfolio.submissions import marking

    require_role(assessor, org, Role.ASSESSOR, Role.ADMIN)
    if sub.organization_id != org.id:
        raise NotFound("No such submission.")
    if sub.learner_id == assessor.id:
        raise Forbidden("You cannot review your own submission.")
    marking.check_may_mark(assessor, org, sub)
    if sub.allocated_to_id not in (None, assessor.id):
        raise Forbidden("An admin allocated this submission to another assessor.")
    now = utcnow()
    result = db.session.execute(
        update(Submission)
        .where(
            Submission.id == sub.id,
            Submission.state.in_(QUEUE_STATES),
            Submission.waiting_for.is_(None),
            or_(
                Submission.claimed_by_id.is_(None),
                Submission.claim_expires_at <= now,
                Submission.claimed_by_id == assessor.id,
            ),
        )
        .values(
            claimed_by_id=assessor.id,
            claim_expires_at=now + _lease(),
            state=SubmissionState.IN_REVIEW,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        db.session.refresh(sub)
        if sub.state in DECIDED_STATES:
            raise Conflict("This submission has already been decided.")
        if sub.state == SubmissionState.WITHDRAWN:
            raise Conflict("The worker has withdrawn this submission.")
        holder = sub.claimed_by.display_name if sub.claimed_by else "another assessor"
        raise Conflict(f"{holder} is already reviewing this submission.")
    audit.record(
        "submission.claim",
        actor_id=assessor.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
    )
    db.session.expire(sub)


def release(assessor: User, org: Organization, sub: Submission) -> None:
    """Give a claimed submission back to the queue."""
    require_role(assessor, org, Role.ASSESSOR, Role.ADMIN)
    result = db.session.execute(
        update(Submission)
        .where(
            Submission.id == sub.id,
            Submission.claimed_by_id == assessor.id,
            Submission.state == SubmissionState.IN_REVIEW,
        )
        .values(claimed_by_id=None, claim_expires_at=None, state=SubmissionState.SUBMITTED)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict("You do not hold this submission.")
    audit.record(
        "submission.release",
        actor_id=assessor.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
    )
    db.session.expire(sub)


def expiring_claims(assessor: User, within: timedelta = timedelta(minutes=15)) -> list[Submission]:
    """The assessor's live claims whose lease ends soon (shown as a warning)."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(Submission).where(
                Submission.claimed_by_id == assessor.id,
                Submission.state == SubmissionState.IN_REVIEW,
                Submission.claim_expires_at > now,
                Submission.claim_expires_at <= now + within,
            )
        )
    )
