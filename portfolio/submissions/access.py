"""Finding submissions and who may see them: lookups by public id, a learner's own list,
review scores, history and frozen-file links."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core.audit import AuditEvent
from portfolio.core.errors import Forbidden, NotFound
from portfolio.core.ids import is_public_id
from portfolio.credentials.models import Credential
from portfolio.evidence.validation import inline_kind as inline_kind  # used by the pages
from portfolio.extensions import db
from portfolio.storage import get_storage
from portfolio.submissions.models import (
    Review,
    Score,
    Submission,
    SubmissionEvidence,
    SubmissionState,
)


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


def _link(sub: Submission, link_public_id: str) -> SubmissionEvidence:
    for link in sub.evidence_links:
        if link.public_id == link_public_id:
            return link
    raise NotFound("No such evidence in this submission.")
