"""Issuing badges: the award of a passing submission (exactly once, in the decision's
transaction; its documents are signed by a job after commit), and finding awards: by public id,
the earner's own, an organization's list."""

from __future__ import annotations

import calendar
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.awards.models import Award, AwardEvidence
from portfolio.awards.signals import award_issued
from portfolio.awards.signing_keys import get_or_create_signing_key
from portfolio.core import paging
from portfolio.core.db import utcnow
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.ids import is_public_id, new_public_id
from portfolio.core.jobs import enqueue
from portfolio.credentials.models import Credential
from portfolio.extensions import db
from portfolio.submissions.models import Review, Submission, SubmissionState

_GENRES = {
    "image": "Photograph",
    "pdf": "Document",
    "document": "Document",
    "video": "Video",
    "audio": "Audio recording",
    "text": "Document",
}


def _genre(kind: str, media_type: str | None) -> str:
    from portfolio.evidence.validation import ALLOWED_TYPES

    if kind == "link":
        return "Link"
    if kind == "text":
        return "Reflection"
    allowed = ALLOWED_TYPES.get(media_type or "")
    return _GENRES.get(allowed.family, "File") if allowed else "File"


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole calendar months (the 31st becomes the month's last day)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def award_for_submission(sub: Submission) -> Award | None:
    """The submission's latest award (a reopened decision may have left a revoked one)."""
    return db.session.scalar(
        select(Award).where(Award.submission_id == sub.id).order_by(Award.id.desc()).limit(1)
    )


def _award_for_review(review: Review) -> Award | None:
    return db.session.scalar(select(Award).where(Award.review_id == review.id))


def award_credential(sub: Submission, review: Review) -> Award:
    """Issue the badge for a passing submission, in the caller's transaction. Exactly once: a
    second call (a retry, a racing request) returns the award already written, and the unique
    constraint on `review_id` settles concurrent inserts."""
    existing = _award_for_review(review)
    if existing is not None:
        return existing
    if sub.state != SubmissionState.PASSED or review.outcome != "pass":
        raise DomainError("Only a passing submission earns a badge.")
    if not sub.learner.is_active_account:
        raise DomainError("This worker's account has been closed, so no badge can be issued.")
    if not sub.learner.is_email_confirmed:
        # The badge names the address as its recipient: never one nobody has proved is theirs.
        raise DomainError(
            "This worker has not confirmed their email address yet, so no badge can be issued."
        )
    cred: Credential = sub.credential
    org = db.session.get(Organization, sub.organization_id)
    assert org is not None
    signing_key = get_or_create_signing_key(org)
    issued = utcnow().replace(microsecond=0)
    expires = add_months(issued, cred.expiry_months) if cred.expiry_months else None
    award = Award(
        public_id=new_public_id(),
        organization_id=org.id,
        credential_id=cred.id,
        recipient_id=sub.learner_id,
        submission_id=sub.id,
        review_id=review.id,
        issuer_key_id=signing_key.id,
        issued_at=issued,
        expires_at=expires,
        recipient_salt=secrets.token_hex(16),
        # A pass earns the credential's whole credit.
        credits_earned=cred.credits_available,
    )
    for position, link in enumerate(sub.evidence_links):
        award.evidence.append(
            AwardEvidence(
                public_id=new_public_id(),
                submission_evidence_id=link.id,
                position=position,
                name=link.title or link.original_filename or "Evidence",
                kind=link.kind,
                genre=_genre(link.kind, link.media_type),
                media_type=link.media_type,
                sha256=link.sha256 if link.frozen_key else None,
                element_title=link.element.title,
                note=link.note or "",
            )
        )
    try:
        with db.session.begin_nested():
            db.session.add(award)
            db.session.flush()
    except IntegrityError:
        # Another transaction issued it first: theirs is the award.
        existing = _award_for_review(review)
        if existing is None:
            raise
        return existing
    # Committed now as "being signed"; the documents follow in the background (after commit).
    queue_signing(award)
    # Pathways (a layer above) issue the stacks this award completes, in this transaction.
    award_issued.send(current_app._get_current_object(), award=award)  # type: ignore[attr-defined]
    return award


def queue_signing(award: Award) -> None:
    """Queue the signing of a new award, to run once the current transaction commits."""
    from portfolio.awards.jobs import sign_award

    enqueue(sign_award, award.public_id, organization_id=award.organization_id)


def get_award(public_id: str) -> Award:
    """An award by public id (one indexed lookup) or `NotFound`."""
    if not is_public_id(public_id):
        raise NotFound("No such badge.")
    award = db.session.scalar(select(Award).where(Award.public_id == public_id))
    if award is None:
        raise NotFound("No such badge.")
    return award


def get_award_evidence(award: Award, public_id: str) -> AwardEvidence:
    for item in award.evidence:
        if item.public_id == public_id:
            return item
    raise NotFound("No such evidence.")


def my_awards(user: User) -> list[Award]:
    """The worker's badges, newest first."""
    return list(
        db.session.scalars(
            select(Award)
            .where(Award.recipient_id == user.id)
            .options(selectinload(Award.evidence))
            .order_by(Award.issued_at.desc(), Award.id.desc())
        )
    )


#: Rows per page of the organization's awards list.
AWARDS_PAGE_SIZE = 50


def organization_awards(
    admin: User,
    org: Organization,
    after: str | None = None,
    before: str | None = None,
    limit: int = AWARDS_PAGE_SIZE,
) -> paging.Page[Award]:
    """One page of the organization's awards, newest first (admins only): keyset pages on
    (issued_at, id), so every page costs the same whatever the number of awards."""
    require_role(admin, org, Role.ADMIN)
    query = (
        select(Award)
        .where(Award.organization_id == org.id)
        # The list links each badge's submission history: load them with the awards.
        .options(selectinload(Award.submission))
    )
    return paging.keyset_page(
        query,
        key=Award.issued_at,
        ident=Award.id,
        row_key=lambda a: (a.issued_at, a.id),
        decode=paging.decode_time_cursor,
        descending=True,
        after=after,
        before=before,
        limit=limit,
    )


def credential_has_awards(cred: Credential) -> bool:
    return (
        db.session.scalar(select(Award.id).where(Award.credential_id == cred.id).limit(1))
        is not None
    )


def get_own_award(user: User, public_id: str) -> Award:
    """The worker's own award; other people's answer as not found."""
    award = get_award(public_id)
    if award.recipient_id != user.id:
        raise NotFound("No such badge.")
    return award
