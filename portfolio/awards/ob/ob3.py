"""Open Badges 3.0 `OpenBadgeCredential` (a W3C Verifiable Credential 2.0), unsigned.

Sign the result with `portfolio.awards.ob.proof.sign_credential`. Every term used is defined by
the credentials v2 and OB 3.0.3 contexts, the two contexts of the specification's examples and
the ones every verifier knows: status is a W3C `BitstringStatusListEntry` and the schema a
`JsonSchema` (both credentials v2). Only the 1EdTech revocation list of credentials issued
before status lists existed needs 1EdTech's extensions context.
"""

from __future__ import annotations

from typing import Any

from portfolio.awards.ob.common import (
    CREDENTIALS_V2_CONTEXT,
    OB3_CONTEXT,
    OB3_EXTENSIONS_CONTEXT,
    OB3_SCHEMA_URL,
    drop_none,
    format_datetime,
    hash_email,
    sha256_hex_to_sri,
)
from portfolio.awards.ob.types import (
    AchievementInfo,
    AlignmentInfo,
    AwardInfo,
    ElementResult,
    EvidenceEntry,
    IssuerInfo,
    RubricElement,
    RubricLevel,
)

CONTEXTS = [CREDENTIALS_V2_CONTEXT, OB3_CONTEXT]
CREDENTIAL_TYPES = ["VerifiableCredential", "OpenBadgeCredential"]
#: The 1EdTech-only status type of credentials issued before Bitstring Status Lists.
LEGACY_STATUS_TYPE = "1EdTechRevocationList"
#: W3C VC JSON Schema type (credentials v2); the schema is the 1EdTech JSON Schema.
SCHEMA_VALIDATOR_TYPE = "JsonSchema"


def _image(url: str | None) -> dict[str, Any] | None:
    return {"id": url, "type": "Image"} if url else None


def issuer_profile(issuer: IssuerInfo) -> dict[str, Any]:
    """The OB 3.0 issuer `Profile` embedded in credentials (id: the did:web DID or the URL)."""
    return drop_none(
        {
            "id": issuer.ob3_id,
            "type": ["Profile"],
            "name": issuer.name,
            "url": issuer.url,
            "email": issuer.email,
            "description": issuer.description,
            "image": _image(issuer.image),
        }
    )


def _alignment(alignment: AlignmentInfo) -> dict[str, Any]:
    return drop_none(
        {
            "type": ["Alignment"],
            "targetName": alignment.target_name,
            "targetUrl": alignment.target_url,
            "targetDescription": alignment.target_description,
            "targetFramework": alignment.target_framework,
            "targetCode": alignment.target_code,
            "targetType": alignment.target_type,
        }
    )


def _points(value: float | None) -> str | None:
    # The OB 3.0 schema types `points` as a string.
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def _level(level: RubricLevel) -> dict[str, Any]:
    return drop_none(
        {
            "id": level.id,
            "type": ["RubricCriterionLevel"],
            "name": level.name,
            "description": level.description,
            "level": level.level,
            "points": _points(level.points),
            "alignment": [_alignment(a) for a in level.alignments],
        }
    )


def _result_description(element: RubricElement) -> dict[str, Any]:
    return drop_none(
        {
            "id": element.id,
            "type": ["ResultDescription"],
            "name": element.name,
            "alignment": [_alignment(a) for a in element.alignments],
            "resultType": "RubricCriterionLevel",
            "rubricCriterionLevel": [_level(level) for level in element.levels],
            "requiredLevel": element.required_level,
        }
    )


def achievement(info: AchievementInfo, issuer: IssuerInfo | None = None) -> dict[str, Any]:
    """The OB 3.0 `Achievement`: criteria, alignments, tags and one `ResultDescription` per
    rubric element (resultType RubricCriterionLevel, listing the element's levels)."""
    criteria = drop_none({"id": info.criteria_url, "narrative": info.criteria_narrative})
    if not criteria:
        raise ValueError(f"achievement {info.id} needs a criteria URL or narrative")
    return drop_none(
        {
            "id": info.id,
            "type": ["Achievement"],
            "achievementType": info.achievement_type,
            "name": info.name,
            "description": info.description,
            "criteria": criteria,
            "image": _image(info.image),
            "creator": issuer_profile(issuer) if issuer else None,
            "version": info.version,
            "creditsAvailable": info.credits_available,
            "alignment": [_alignment(a) for a in info.alignments],
            "tag": list(info.tags),
            "resultDescription": [_result_description(e) for e in info.elements],
        }
    )


def _results(info: AchievementInfo, results: tuple[ElementResult, ...]) -> list[dict[str, Any]]:
    elements = {e.id: e for e in info.elements}
    out = []
    for result in results:
        element = elements.get(result.element_id)
        if element is None:
            raise ValueError(f"result for unknown rubric element {result.element_id}")
        if result.level_id not in {level.id for level in element.levels}:
            raise ValueError(f"level {result.level_id} is not a level of {element.id}")
        out.append(
            drop_none(
                {
                    "type": ["Result"],
                    "resultDescription": element.id,
                    "achievedLevel": result.level_id,
                    "status": result.status,
                    "alignment": [_alignment(a) for a in element.alignments],
                }
            )
        )
    return out


def _evidence(entry: EvidenceEntry) -> dict[str, Any]:
    # `digestSRI` (credentials v2 context, "integrity of related resources") binds the file the
    # assessor judged to the signed credential: changing the file changes its digest.
    return drop_none(
        {
            "id": entry.url,
            "type": ["Evidence"],
            "name": entry.name,
            "description": entry.description,
            "narrative": entry.narrative,
            "genre": entry.genre,
            "digestSRI": sha256_hex_to_sri(entry.sha256) if entry.sha256 else None,
        }
    )


def identity_object(email: str, salt: str) -> dict[str, Any]:
    """The salted, hashed email `IdentityObject` of the credential subject."""
    if not salt:
        raise ValueError("a recipient hash needs a salt")
    return {
        "type": "IdentityObject",
        "identityHash": hash_email(email, salt),
        "identityType": "emailAddress",
        "hashed": True,
        "salt": salt,
    }


def credential(award: AwardInfo, info: AchievementInfo, issuer: IssuerInfo) -> dict[str, Any]:
    """The unsigned `OpenBadgeCredential` for `award` of `info`, issued by `issuer`."""
    contexts = list(CONTEXTS)
    status: dict[str, Any] | None = None
    if award.credential_status is not None:
        status = dict(award.credential_status)
    elif award.status_list_url:
        status = {"id": award.status_list_url, "type": LEGACY_STATUS_TYPE}
        contexts.append(OB3_EXTENSIONS_CONTEXT)
    subject = drop_none(
        {
            "type": ["AchievementSubject"],
            "identifier": [identity_object(award.recipient_email, award.salt)],
            "achievement": achievement(info),
            "result": _results(info, award.results),
            "creditsEarned": award.credits_earned,
        }
    )
    return drop_none(
        {
            "@context": contexts,
            "id": award.credential_id or award.id,
            "type": list(CREDENTIAL_TYPES),
            "name": info.name,
            "description": info.description,
            "image": _image(award.image),
            "issuer": issuer_profile(issuer),
            "validFrom": format_datetime(award.issued),
            "validUntil": format_datetime(award.expires) if award.expires else None,
            "awardedDate": format_datetime(award.awarded or award.issued),
            "credentialSubject": subject,
            "evidence": [_evidence(e) for e in award.evidence],
            "credentialStatus": status,
            "credentialSchema": [{"id": OB3_SCHEMA_URL, "type": SCHEMA_VALIDATOR_TYPE}],
        }
    )
