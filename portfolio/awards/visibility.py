"""The earner's visibility choices: hiding (or showing again) a whole badge or one piece of
its evidence, and what the public may therefore see of an award's evidence files."""

from __future__ import annotations

from portfolio.accounts.models import User
from portfolio.awards.issuance import get_award_evidence
from portfolio.awards.models import Award, AwardEvidence
from portfolio.core import audit
from portfolio.core.errors import NotFound
from portfolio.storage import get_storage


def set_visibility(
    user: User, award: Award, *, hidden: bool, evidence_public_id: str | None = None
) -> None:
    """The earner hides (or shows again) the whole badge or one piece of its evidence. The
    verdict stays checkable either way."""
    if award.recipient_id != user.id:
        raise NotFound("No such badge.")
    if evidence_public_id is None:
        award.is_hidden = hidden
        target = award.public_id
    else:
        item = get_award_evidence(award, evidence_public_id)
        item.is_hidden = hidden
        target = item.public_id
    audit.record(
        "award.hide" if hidden else "award.show",
        actor_id=user.id,
        organization_id=award.organization_id,
        subject_type="award",
        subject_id=award.public_id,
        target=target,
    )


def is_evidence_public(award: Award, item: AwardEvidence) -> bool:
    """Whether the public may see this evidence (not withheld nor withdrawn by the earner)."""
    return not (award.is_hidden or item.is_hidden or item.withdrawn_at is not None)


def evidence_file_url(award: Award, item: AwardEvidence, *, inline: bool) -> str:
    """A short-lived signed URL of the FROZEN copy of a public file, or `NotFound` when the
    earner withheld it (so no route ever reaches a hidden file)."""
    from portfolio.evidence.validation import ALLOWED_TYPES

    link = item.submission_evidence
    if not is_evidence_public(award, item) or link is None or not link.frozen_key:
        raise NotFound("This evidence is not available.")
    allowed = ALLOWED_TYPES.get(link.media_type or "")
    return get_storage().signed_download_url(
        link.frozen_key,
        filename=link.original_filename or "evidence",
        content_type=link.media_type or "application/octet-stream",
        inline=bool(inline and allowed and allowed.is_inline_safe),
    )
