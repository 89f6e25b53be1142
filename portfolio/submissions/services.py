"""Rules of a submission draft: start an attempt, map evidence, submit (freeze), withdraw."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.registration import require_confirmed_email
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, Forbidden, NotFound
from portfolio.core.sanitize import clean_text
from portfolio.core.transaction import after_commit
from portfolio.credentials.models import Credential
from portfolio.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from portfolio.evidence.validation import inline_kind as inline_kind  # used by the pages
from portfolio.extensions import db
from portfolio.frameworks.models import RubricElement, RubricVersion
from portfolio.storage import StorageError, get_storage
from portfolio.submissions.access import _link, attempts_of
from portfolio.submissions.models import (
    Submission,
    SubmissionEvidence,
    SubmissionState,
)

OPEN_STATES = (SubmissionState.DRAFT, SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW)


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
    from portfolio.submissions import marking_plans

    # Marked under the plan in force now, whatever the admin changes while it waits.
    marking_plans.pin_plan(sub)
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
