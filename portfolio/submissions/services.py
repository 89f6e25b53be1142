"""Rules of submissions and reviews: start, map evidence, submit (freeze), withdraw, the queue,
claims with leases, recording a review by the pass rule, notifications and history."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from blinker import Namespace
from flask import current_app
from sqlalchemy import ColumnElement, and_, func, literal, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.services import require_confirmed_email, require_role
from portfolio.core import audit, paging
from portfolio.core.audit import AuditEvent
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, Forbidden, NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.mail import mail_delivers, send_mail
from portfolio.core.sanitize import clean_text
from portfolio.core.transaction import after_commit
from portfolio.credentials.models import Credential
from portfolio.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from portfolio.evidence.validation import inline_kind as inline_kind  # used by the pages
from portfolio.extensions import db
from portfolio.frameworks.models import RubricElement, RubricVersion
from portfolio.frameworks.pass_rule import ElementSpec, Evaluation, LevelSpec, evaluate
from portfolio.storage import StorageError, get_storage
from portfolio.submissions.models import (
    DECIDED_STATES,
    MarkingMode,
    MarkingStage,
    Notification,
    Review,
    Score,
    Submission,
    SubmissionEvidence,
    SubmissionState,
)

_signals = Namespace()
#: Sent inside the transaction that records a passing review, with `submission` and `review`.
#: `create_app` connects the awards domain's receiver to it, so a pass and its award commit
#: together (and roll back together).
submission_passed = _signals.signal("submission-passed")

#: States in the assessors' queue.
QUEUE_STATES = (SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW)
OPEN_STATES = (SubmissionState.DRAFT, SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW)


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["PORTFOLIO"].claim_lease_seconds)


# -- loading with access checks -------------------------------------------------------------
def get_submission(public_id: str) -> Submission:
    """A submission by public id (no access check: callers check)."""
    if not is_public_id(public_id):
        raise NotFound("No such submission.")
    sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
    if sub is None:
        raise NotFound("No such submission.")
    return sub


def get_own_submission(learner: User, public_id: str) -> Submission:
    """The learner's own submission; other people's answer as not found."""
    sub = get_submission(public_id)
    if sub.learner_id != learner.id:
        raise NotFound("No such submission.")
    return sub


def get_submission_for_assessor(assessor: User, org: Organization, public_id: str) -> Submission:
    """A submission of `org` that the assessor may see: never their own."""
    require_role(assessor, org, Role.ASSESSOR, Role.ADMIN)
    sub = get_submission(public_id)
    if sub.organization_id != org.id:
        raise NotFound("No such submission.")
    if sub.learner_id == assessor.id:
        raise Forbidden("You cannot review your own submission.")
    if sub.state == SubmissionState.DRAFT:
        # A draft is the worker's private work in progress: assessors see submitted work only.
        raise NotFound("No such submission.")
    return sub


# -- worker side -------------------------------------------------------------------------------
def attempts_of(learner: User, credential: Credential) -> list[Submission]:
    """The learner's attempts at a credential, oldest first."""
    return list(
        db.session.scalars(
            select(Submission)
            .where(Submission.learner_id == learner.id, Submission.credential_id == credential.id)
            .order_by(Submission.attempt)
        )
    )


def start_submission(learner: User, credential: Credential, *, renewal: bool = False) -> Submission:
    """Open an attempt (or return the open one). After "needs revision" the new attempt is
    pre-filled from the last one, up to the credential's maximum number of attempts. A
    `renewal` (the badge expires soon or has expired) may follow a pass; its attempts are
    counted from that pass."""
    if not credential.is_published or credential.rubric_version_id is None:
        raise DomainError("This credential is not open for submissions.")
    org = db.session.get(Organization, credential.organization_id)
    assert org is not None
    if not learner.has_role(org.id, Role.LEARNER):
        raise Forbidden(f"Join {org.name} as a worker to submit evidence for its credentials.")
    attempts = attempts_of(learner, credential)
    last = attempts[-1] if attempts else None
    if last is not None:
        if last.state in OPEN_STATES:
            return last
        if last.state == SubmissionState.PASSED and not renewal:
            raise Conflict("You have already earned this credential.")
    live = [a for a in attempts if a.state != SubmissionState.WITHDRAWN]
    if renewal:
        passes = [i for i, a in enumerate(live) if a.state == SubmissionState.PASSED]
        live = live[passes[-1] + 1 :] if passes else live
    limit = attempt_limit(learner.id, credential)
    # A final "not passed" ends the attempts, unless an admin granted another one.
    failed = last is not None and last.state == SubmissionState.FAILED
    if failed and (limit is None or len(live) >= limit):
        raise DomainError(_final_message(org))
    if limit is not None and len(live) >= limit:
        raise DomainError(_final_message(org))
    number = (last.attempt + 1) if last is not None else 1
    sub = Submission(
        learner_id=learner.id,
        organization_id=org.id,
        credential_id=credential.id,
        rubric_version_id=credential.rubric_version_id,
        attempt=number,
    )
    db.session.add(sub)
    if last is not None and last.state == SubmissionState.NEEDS_REVISION:
        _prefill(sub, last)
    try:
        db.session.flush()
    except IntegrityError as exc:  # two tabs started the same attempt at once
        db.session.rollback()
        raise Conflict("This attempt was just started in another window. Reload.") from exc
    audit.record(
        "submission.start",
        actor_id=learner.id,
        organization_id=org.id,
        subject_type="submission",
        subject_id=sub.public_id,
        attempt=number,
    )
    return sub


def attempt_limit(learner_id: int, credential: Credential) -> int | None:
    """The credential's maximum attempts plus the extra attempts an admin granted this worker
    (None: no limit)."""
    from portfolio.submissions.models import AttemptGrant

    if credential.max_attempts is None:
        return None
    extra = db.session.scalar(
        select(func.count(AttemptGrant.id)).where(
            AttemptGrant.learner_id == learner_id, AttemptGrant.credential_id == credential.id
        )
    )
    return credential.max_attempts + (extra or 0)


def _final_message(org: Organization) -> str:
    contact = f" Contact {org.name} at {org.email}." if org.email else f" Contact {org.name}."
    return "You have used every attempt for this credential." + contact


def _prefill(sub: Submission, last: Submission) -> None:
    """Copy the last attempt's mapping (items still in the library) into a new attempt."""
    same_version = last.rubric_version_id == sub.rubric_version_id
    elements_by_title = {}
    if not same_version:
        version = db.session.get(RubricVersion, sub.rubric_version_id)
        elements_by_title = {e.title: e for e in version.elements} if version else {}
    for link in last.evidence_links:
        if link.evidence_item_id is None:
            continue
        element_id = link.element_id
        if not same_version:
            match = elements_by_title.get(link.element.title)
            if match is None:
                continue
            element_id = match.id
        sub.evidence_links.append(
            SubmissionEvidence(
                element_id=element_id, evidence_item_id=link.evidence_item_id, note=link.note
            )
        )


def _lock_draft(sub: Submission, then_state: SubmissionState | None = None) -> None:
    """Write to the submission row only while it is a draft: the database serializes this
    against a concurrent submit, so no evidence is attached after the freeze."""
    values: dict[str, object] = {"updated_at": utcnow()}
    if then_state is not None:
        values["state"] = then_state
    result = db.session.execute(
        update(Submission)
        .where(Submission.id == sub.id, Submission.state == SubmissionState.DRAFT)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict("This submission has been submitted and can no longer be changed.")


def _require_draft(sub: Submission) -> None:
    if sub.state != SubmissionState.DRAFT:
        raise Conflict("This submission has been submitted and can no longer be changed.")


def _element(sub: Submission, element_public_id: str) -> RubricElement:
    for element in sub.rubric_version.elements:
        if element.public_id == element_public_id:
            return element
    raise NotFound("No such rubric element in this submission.")


def attach_evidence(
    learner: User, sub: Submission, element_public_id: str, item_public_id: str, note: str = ""
) -> SubmissionEvidence:
    """Offer one of the learner's ready items as evidence for one element."""
    if sub.learner_id != learner.id:
        raise NotFound("No such submission.")
    _require_draft(sub)
    _lock_draft(sub)
    element = _element(sub, element_public_id)
    item = db.session.scalar(select(EvidenceItem).where(EvidenceItem.public_id == item_public_id))
    if item is None or item.owner_id != learner.id:
        raise NotFound("No such evidence item in your portfolio.")
    if item.state != EvidenceState.READY:
        raise DomainError("This file is still uploading or was refused; pick a ready item.")
    for link in sub.evidence_links:
        if link.element_id == element.id and link.evidence_item_id == item.id:
            link.note = clean_text(note, 2000) if note else link.note
            return link
    link = SubmissionEvidence(
        element_id=element.id, evidence_item_id=item.id, note=clean_text(note, 2000)
    )
    sub.evidence_links.append(link)
    db.session.flush()
    return link


def update_evidence_note(learner: User, sub: Submission, link_public_id: str, note: str) -> None:
    """Change the learner's note on one mapped item."""
    if sub.learner_id != learner.id:
        raise NotFound("No such submission.")
    _require_draft(sub)
    _lock_draft(sub)
    link = _link(sub, link_public_id)
    link.note = clean_text(note, 2000)


def _link(sub: Submission, link_public_id: str) -> SubmissionEvidence:
    for link in sub.evidence_links:
        if link.public_id == link_public_id:
            return link
    raise NotFound("No such evidence in this submission.")


def detach_evidence(learner: User, sub: Submission, link_public_id: str) -> None:
    """Remove an item from an element (the item stays in the library)."""
    if sub.learner_id != learner.id:
        raise NotFound("No such submission.")
    _require_draft(sub)
    _lock_draft(sub)
    link = _link(sub, link_public_id)
    sub.evidence_links.remove(link)
    db.session.delete(link)


def missing_required_elements(sub: Submission) -> list[RubricElement]:
    """Required elements that have no evidence yet."""
    covered = {link.element_id for link in sub.evidence_links}
    return [e for e in sub.rubric_version.elements if e.is_required and e.id not in covered]


def submit(learner: User, sub: Submission, note: str = "") -> None:
    """Send the attempt to the assessors and freeze its evidence.

    Every required element needs evidence. Each file is copied to a frozen object that later
    edits cannot touch, and the library items become unchangeable. If storage fails half-way,
    the copies made so far are removed and nothing is submitted."""
    if sub.learner_id != learner.id:
        raise NotFound("No such submission.")
    if sub.state != SubmissionState.DRAFT:
        raise Conflict("This submission has already been submitted.")
    # The address becomes the badge's recipient identity: it must be the worker's own.
    require_confirmed_email(learner, "submit work for assessment")
    missing = missing_required_elements(sub)
    if missing:
        raise DomainError(
            "Add evidence for every required element before submitting: "
            + ", ".join(f"“{e.title}”" for e in missing)
            + "."
        )
    # Take the draft first: a concurrent attach or a second submit waits for this transaction
    # (row lock on PostgreSQL, the write lock on SQLite) and then finds it submitted.
    _lock_draft(sub, then_state=SubmissionState.SUBMITTED)
    storage = get_storage()
    copied: list[str] = []
    now = utcnow()
    try:
        for link in sub.evidence_links:
            item = link.evidence_item
            if item is None or item.state != EvidenceState.READY or item.owner_id != learner.id:
                raise DomainError(
                    "One of the attached items is no longer available. Remove it and try again."
                )
            link.title, link.kind = item.title, str(item.kind)
            link.url, link.body_html = item.url, item.body_html
            if item.kind == EvidenceKind.FILE and item.storage_key:
                frozen_key = f"frozen/{sub.public_id}/{link.public_id}"
                storage.copy(item.storage_key, frozen_key)
                copied.append(frozen_key)
                # The frozen copy must be the bytes that were checked: an upload URL still valid
                # could have replaced the library object since.
                digest = hashlib.sha256()
                for chunk in storage.iter_chunks(frozen_key):
                    digest.update(chunk)
                if digest.hexdigest() != item.sha256:
                    raise DomainError(
                        f"The file “{item.title}” changed after it was checked. Delete it from "
                        "your portfolio, upload it again and attach the new copy."
                    )
                link.frozen_key = frozen_key
                link.sha256, link.size = item.sha256, item.size
                link.media_type = item.media_type
                link.original_filename = item.original_filename
            item.frozen_at = item.frozen_at or now
    except (StorageError, DomainError, KeyError) as exc:
        db.session.rollback()
        for key in copied:
            try:
                storage.delete(key)
            except StorageError:
                current_app.logger.warning("could not remove frozen copy %s", key)
        if isinstance(exc, DomainError):
            raise
        raise DomainError(
            "The file store did not answer, so nothing was submitted. Try again in a moment."
        ) from exc
    sub.note = clean_text(note, 2000) if note else sub.note
    sub.state = SubmissionState.SUBMITTED
    sub.submitted_at = now
    from portfolio.submissions import marking

    # Marked under the plan in force now, whatever the admin changes while it waits.
    marking.pin_plan(sub)
    audit.record(
        "submission.submit",
        actor_id=learner.id,
        organization_id=sub.organization_id,
        subject_type="submission",
        subject_id=sub.public_id,
        attempt=sub.attempt,
        evidence=[
            {"element": link.element.public_id, "sha256": link.sha256}
            for link in sub.evidence_links
        ],
    )


def withdraw(learner: User, sub: Submission) -> list[str]:
    """Take a submission back before an assessor claims it. Its frozen copies, which nobody
    will assess, are deleted after commit; returns their keys."""
    if sub.learner_id != learner.id:
        raise NotFound("No such submission.")
    now = utcnow()
    result = db.session.execute(
        update(Submission)
        .where(
            Submission.id == sub.id,
            Submission.state.in_([SubmissionState.DRAFT, SubmissionState.SUBMITTED]),
            or_(Submission.claimed_by_id.is_(None), Submission.claim_expires_at <= now),
        )
        .values(
            state=SubmissionState.WITHDRAWN,
            withdrawn_at=now,
            claimed_by_id=None,
            claim_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict(
            "An assessor is already reviewing this submission, so it can no longer be withdrawn."
        )
    audit.record(
        "submission.withdraw",
        actor_id=learner.id,
        organization_id=sub.organization_id,
        subject_type="submission",
        subject_id=sub.public_id,
    )
    keys = [link.frozen_key for link in sub.evidence_links if link.frozen_key]
    for link in sub.evidence_links:
        link.frozen_key = None
    db.session.flush()
    db.session.expire(sub)
    after_commit(lambda: discard_frozen_copies(keys))
    return keys


def discard_frozen_copies(keys: Sequence[str]) -> None:
    """Remove frozen copies of a withdrawn submission (after its commit; a failure only leaves
    an unreferenced object behind, logged)."""
    storage = get_storage()
    for key in keys:
        try:
            storage.delete(key)
        except StorageError:
            current_app.logger.warning("could not remove frozen copy %s", key)


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
    `marking.record_double_marking`); a decision sampled for internal verification in hold mode
    waits for the verifier (and None is returned).

    Reviews are append-only and one per submission and round: a second submit of the same form
    (two clicks, a retried request) raises `Conflict` and records nothing more."""
    from portfolio.submissions import marking

    require_role(assessor, org, Role.ASSESSOR, Role.ADMIN)
    if sub.organization_id != org.id:
        raise NotFound("No such submission.")
    if sub.learner_id == assessor.id:
        raise Forbidden("You cannot review your own submission.")
    if sub.state in DECIDED_STATES:
        raise Conflict("This submission has already been decided.")
    if marking.plan_for(sub).mode == MarkingMode.DOUBLE:
        marking.record_double_marking(assessor, org, sub, scores, feedback)
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
        outcome=marking.outcome_of(state),
        total=evaluation.total_points,
        feedback=feedback,
    )
    return marking.conclude(sub, first, assessor, first_marker_id=assessor.id)


# -- notifications and history ---------------------------------------------------------------
def notify(user: User, message: str, link: str = "") -> None:
    """An in-app notification, and an email (sent after commit) when mail is delivered."""
    db.session.add(Notification(user_id=user.id, message=message[:500], link=link))
    if mail_delivers():
        send_mail(
            user.email,
            "Portfolio: " + message[:80],
            f"{message}\n\n{current_app.config['PORTFOLIO'].public_base_url}{link}\n",
        )


def unread_notifications(user: User) -> list[Notification]:
    """Unread notifications, newest first."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .order_by(Notification.created_at.desc())
            .limit(20)
        )
    )


def mark_notifications_read(user: User) -> None:
    """Mark every notification of the user read."""
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


def submission_history(admin: User, org: Organization, sub: Submission) -> list[AuditEvent]:
    """Every audit event about a submission, oldest first (admins only)."""
    require_role(admin, org, Role.ADMIN)
    if sub.organization_id != org.id:
        raise NotFound("No such submission.")
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "submission", AuditEvent.subject_id == sub.public_id)
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
    )


def my_submissions(learner: User) -> list[Submission]:
    """The learner's submissions, newest first."""
    return list(
        db.session.scalars(
            select(Submission)
            .where(Submission.learner_id == learner.id)
            .options(selectinload(Submission.credential))
            .order_by(Submission.created_at.desc())
        )
    )


def scores_by_element(review: Review | None) -> Mapping[int, Score]:
    """The review's scores keyed by element id."""
    return {s.element_id: s for s in review.scores} if review else {}


# -- frozen evidence files ------------------------------------------------------------------------
def can_view_submission(user: User, sub: Submission) -> bool:
    """The worker who made it, or an assessor, admin, moderator or internal verifier of its
    organization (not on their own)."""
    if sub.learner_id == user.id:
        return True
    return user.has_role(
        sub.organization_id, Role.ASSESSOR, Role.ADMIN, Role.MODERATOR, Role.INTERNAL_VERIFIER
    )


def frozen_file_url(user: User, sub: Submission, link_public_id: str, *, inline: bool) -> str:
    """A short-lived signed URL of the frozen copy of one submitted file."""
    from portfolio.evidence.validation import ALLOWED_TYPES

    if not can_view_submission(user, sub):
        raise NotFound("No such submission.")
    link = _link(sub, link_public_id)
    if link.frozen_key:
        allowed = ALLOWED_TYPES.get(link.media_type or "")
        return get_storage().signed_download_url(
            link.frozen_key,
            filename=link.original_filename or "evidence",
            content_type=link.media_type or "application/octet-stream",
            inline=bool(inline and allowed and allowed.is_inline_safe),
        )
    item = link.evidence_item
    if sub.state == SubmissionState.DRAFT and item is not None and item.storage_key:
        from portfolio.evidence.services import download_url

        return download_url(user, item, inline=inline)
    raise NotFound("This evidence has no file.")
