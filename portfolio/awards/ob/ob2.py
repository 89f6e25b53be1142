"""Open Badges 2.0 hosted-verification documents: Issuer Profile, BadgeClass, Assertion and the
revoked-assertion answer. Model in, dict out; the caller serves them as JSON-LD."""

from __future__ import annotations

from typing import Any

from portfolio.awards.ob.common import OB2_CONTEXT, drop_none, format_datetime, hash_email
from portfolio.awards.ob.types import (
    AchievementInfo,
    AlignmentInfo,
    AwardInfo,
    EvidenceEntry,
    IssuerInfo,
)


def issuer_profile(issuer: IssuerInfo) -> dict[str, Any]:
    """The OB 2.0 Issuer Profile served at `issuer.id`."""
    return drop_none(
        {
            "@context": OB2_CONTEXT,
            "type": "Issuer",
            "id": issuer.id,
            "name": issuer.name,
            "url": issuer.url,
            "email": issuer.email,
            "description": issuer.description,
            "image": issuer.image,
            "revocationList": issuer.revocation_list,
        }
    )


def _alignment(alignment: AlignmentInfo) -> dict[str, Any]:
    return drop_none(
        {
            "targetName": alignment.target_name,
            "targetUrl": alignment.target_url,
            "targetDescription": alignment.target_description,
            "targetFramework": alignment.target_framework,
            "targetCode": alignment.target_code,
        }
    )


def _criteria(achievement: AchievementInfo) -> dict[str, Any]:
    criteria = drop_none(
        {"id": achievement.criteria_url, "narrative": achievement.criteria_narrative}
    )
    if not criteria:
        raise ValueError(f"achievement {achievement.id} needs a criteria URL or narrative")
    return criteria


def badge_class(achievement: AchievementInfo, issuer: IssuerInfo) -> dict[str, Any]:
    """The OB 2.0 BadgeClass served at `achievement.id`, issued by `issuer`."""
    if not achievement.image:
        raise ValueError(f"OB 2.0 BadgeClass {achievement.id} requires an image")
    return drop_none(
        {
            "@context": OB2_CONTEXT,
            "type": "BadgeClass",
            "id": achievement.id,
            "name": achievement.name,
            "description": achievement.description,
            "image": achievement.image,
            "criteria": _criteria(achievement),
            "issuer": issuer.id,
            "alignment": [_alignment(a) for a in achievement.alignments],
            "tags": list(achievement.tags),
        }
    )


def _evidence(entry: EvidenceEntry) -> dict[str, Any]:
    # OB 2.0 has no term for a file digest; the SHA-256 goes into the description so that an
    # employer can still compare the file they download with the one that was assessed.
    description = entry.description
    if entry.sha256:
        digest = f"SHA-256: {entry.sha256.lower()}"
        description = f"{description}\n\n{digest}" if description else digest
    return drop_none(
        {
            "id": entry.url,
            "narrative": entry.narrative,
            "name": entry.name,
            "description": description,
            "genre": entry.genre,
        }
    )


def recipient_identity(email: str, salt: str) -> dict[str, Any]:
    """The hashed email IdentityObject of an OB 2.0 assertion."""
    if not salt:
        raise ValueError("a recipient hash needs a salt")
    return {"type": "email", "hashed": True, "salt": salt, "identity": hash_email(email, salt)}


def assertion(award: AwardInfo, achievement: AchievementInfo) -> dict[str, Any]:
    """The OB 2.0 hosted Assertion served at `award.id` for a badge of `achievement`."""
    return drop_none(
        {
            "@context": OB2_CONTEXT,
            "type": "Assertion",
            "id": award.id,
            "recipient": recipient_identity(award.recipient_email, award.salt),
            "badge": achievement.id,
            "verification": {"type": "hosted"},
            "issuedOn": format_datetime(award.issued),
            "expires": format_datetime(award.expires) if award.expires else None,
            "image": award.image,
            "narrative": award.narrative,
            "evidence": [_evidence(e) for e in award.evidence if not e.is_file],
        }
    )


def revoked_assertion(assertion_id: str, reason: str) -> dict[str, Any]:
    """The body answered (with 410 Gone) for a revoked hosted assertion."""
    if not reason.strip():
        raise ValueError("revoking requires a reason")
    return {
        "@context": OB2_CONTEXT,
        "type": "Assertion",
        "id": assertion_id,
        "revoked": True,
        "revocationReason": reason,
    }
