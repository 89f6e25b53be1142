"""Inputs of the Open Badges document builders: small frozen dataclasses that
`portfolio.awards.documents` fills from the models, so that the builders stay pure and testable
without a database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class IssuerInfo:
    """The issuing organization's public profile.

    `id` is the URL of the hosted OB 2.0 Issuer Profile. `did` (a did:web identifier whose DID
    document lists the signing keys) becomes the OB 3.0 issuer id when set; otherwise the OB 3.0
    issuer id is `id`, and the controller document served at `id` must list the keys.
    """

    id: str
    name: str
    url: str
    email: str | None = None
    description: str | None = None
    image: str | None = None
    did: str | None = None
    #: OB 2.0 `revocationList` URL (optional; hosted assertions answer 410 when revoked anyway).
    revocation_list: str | None = None

    @property
    def ob3_id(self) -> str:
        """The issuer id used in OB 3.0 credentials and as the controller of the signing keys."""
        return self.did or self.id


@dataclass(frozen=True)
class AlignmentInfo:
    """An alignment of an achievement to a competency in a framework."""

    target_name: str
    target_url: str
    target_description: str | None = None
    target_framework: str | None = None
    target_code: str | None = None
    #: OB 3.0 AlignmentTargetType, e.g. "ceasn:Competency" or "CFItem".
    target_type: str | None = None


@dataclass(frozen=True)
class RubricLevel:
    """A performance level of one rubric element (an OB 3.0 RubricCriterionLevel)."""

    id: str
    name: str
    description: str | None = None
    #: A short word for the level in terms of success, e.g. "meets".
    level: str | None = None
    points: int | float | None = None
    #: The competencies this level of performance evidences (the element's).
    alignments: tuple[AlignmentInfo, ...] = ()


@dataclass(frozen=True)
class RubricElement:
    """A rubric element (criterion) with its levels, lowest first."""

    id: str
    name: str
    levels: tuple[RubricLevel, ...]
    description: str | None = None
    #: The `id` of the lowest level that passes this element, if the rule names one.
    required_level: str | None = None
    #: The competencies the element assesses.
    alignments: tuple[AlignmentInfo, ...] = ()


@dataclass(frozen=True)
class AchievementInfo:
    """A credential (OB 2.0 BadgeClass / OB 3.0 Achievement). `id` is its public URL."""

    id: str
    name: str
    description: str
    image: str | None = None
    criteria_url: str | None = None
    criteria_narrative: str | None = None
    tags: tuple[str, ...] = ()
    alignments: tuple[AlignmentInfo, ...] = ()
    elements: tuple[RubricElement, ...] = ()
    #: OB 3.0 achievementType, e.g. "Badge", "Competency", "MicroCredential".
    achievement_type: str | None = None
    #: OB 3.0 `version`: which version of the rubric the achievement was judged against.
    version: str | None = None
    #: `creditsAvailable`: the credit the achievement is worth, in the issuer's unit.
    credits_available: float | None = None


@dataclass(frozen=True)
class EvidenceEntry:
    """One entry of an award's evidence: a frozen file (its URL and the digest of the bytes
    served there) or a page about the evidence (no digest)."""

    url: str
    name: str | None = None
    description: str | None = None
    narrative: str | None = None
    #: The kind of evidence, e.g. "Photograph", "Video", "Document", "Reflection".
    genre: str | None = None
    #: Lower-case hex SHA-256 of the bytes at `url` (the file as assessed), for a file.
    sha256: str | None = None
    #: The frozen file itself (OB 3.0 only; OB 2.0 assertions list the evidence pages).
    is_file: bool = False


@dataclass(frozen=True)
class ElementResult:
    """The level an assessor gave one rubric element."""

    element_id: str
    level_id: str
    #: OB 3.0 ResultStatusType of the element: the assessment of it is complete.
    status: str = "Completed"


@dataclass(frozen=True)
class AwardInfo:
    """An award of an achievement to a recipient.

    `id` is the public URL of the hosted OB 2.0 assertion; `credential_id` is the OB 3.0
    credential id (defaults to `id`). `issued` and `expires` must carry a time zone.
    """

    id: str
    recipient_email: str
    salt: str
    issued: datetime
    expires: datetime | None = None
    credential_id: str | None = None
    image: str | None = None
    narrative: str | None = None
    evidence: tuple[EvidenceEntry, ...] = ()
    results: tuple[ElementResult, ...] = field(default=())
    #: URL of the issuer's 1EdTech revocation list for OB 3.0 `credentialStatus` (what
    #: credentials issued before Bitstring Status Lists named; needs the extensions context).
    status_list_url: str | None = None
    #: The OB 3.0 `credentialStatus` (a `BitstringStatusListEntry`); wins over the above.
    credential_status: Mapping[str, Any] | None = None
    #: `awardedDate`: when the assessor's decision awarded it (defaults to `issued`).
    awarded: datetime | None = None
    #: `creditsEarned` of the award.
    credits_earned: float | None = None
