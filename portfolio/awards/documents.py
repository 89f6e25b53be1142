"""The Open Badges documents of awards and credentials: the inputs the pure builders in
`portfolio.awards.ob` are filled from (issuer profile, achievement with its rubric and alignments,
evidence entries), and the hosted documents served from them (OB 2.0 assertion, issuer profile,
badge class). The rendered assertion and signed credential of an award are stored on it when it is
signed (`portfolio.awards.signing`), so public endpoints serve exactly what was signed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from portfolio.accounts.models import Organization
from portfolio.awards.issuance import credential_has_awards
from portfolio.awards.models import Award, AwardEvidence
from portfolio.awards.ob import ob2
from portfolio.awards.ob.types import (
    AchievementInfo,
    AlignmentInfo,
    EvidenceEntry,
    IssuerInfo,
    RubricElement,
    RubricLevel,
)
from portfolio.awards.signing_keys import controller_id
from portfolio.core.errors import NotFound
from portfolio.core.urls import public_url
from portfolio.credentials.models import Credential, CredentialAlignment
from portfolio.extensions import db
from portfolio.frameworks.models import Competency, RubricVersion
from portfolio.frameworks.services import competencies as competency_services


class BeingSigned(NotFound):
    """The award's documents do not exist yet: it is being signed (moments after its decision).
    Pages say so and refresh; document endpoints answer 404 with `Retry-After`."""

    def __init__(self) -> None:
        super().__init__("This badge is being signed — it will appear in a moment.")


def issuer_info(org: Organization) -> IssuerInfo:
    """The issuer profile; `did` carries the OB 3.0 issuer id (the key controller)."""
    issuer_url = public_url("verify.issuer", oid=org.public_id)
    return IssuerInfo(
        id=issuer_url,
        name=org.name,
        url=org.url or issuer_url,
        email=org.email or None,
        description=org.description or None,
        did=controller_id(org),
    )


def badge_class_url(cred: Credential) -> str:
    return public_url("verify.badge_class", cid=cred.public_id)


def _level_word(position: int, pass_position: int | None) -> str | None:
    if pass_position is None:
        return None
    if position < pass_position:
        return "not-yet"
    return "meets" if position == pass_position else "exceeds"


def rubric_ids(
    version: RubricVersion, element_public_id: str, level_position: int | None = None
) -> str:
    """Ids of rubric elements and levels in the documents (stable, under our origin)."""
    base = public_url("verify.rubric", vid=version.public_id)
    url = f"{base}#element-{element_public_id}"
    return url if level_position is None else f"{url}-level-{level_position}"


def competency_url(comp: Competency) -> str:
    """The official description of a competency: its CASE item URI when it came from CASE,
    otherwise its public page in its framework."""
    return competency_services.competency_url(comp)


def competency_alignment(comp: Competency) -> AlignmentInfo:
    """An OB alignment to one of our competencies (a CASE CFItem)."""
    return AlignmentInfo(
        target_name=comp.statement,
        target_url=competency_url(comp),
        target_description=comp.description or None,
        target_framework=comp.framework.title or None,
        target_code=comp.code or None,
        target_type="CFItem",
    )


def public_competency(public_id: str) -> Competency:
    """A competency the public may see: one that a published (or awarded) credential aligns to
    or that an element of a published rubric version assesses; otherwise `NotFound`."""
    from portfolio.frameworks.models import RubricElement as ElementRow

    comp = db.session.scalar(select(Competency).where(Competency.public_id == public_id))
    if comp is None:
        raise NotFound("No such competency.")
    credentials = db.session.scalars(
        select(Credential)
        .join(CredentialAlignment, CredentialAlignment.credential_id == Credential.id)
        .where(CredentialAlignment.competency_id == comp.id)
    )
    if any(c.is_published or credential_has_awards(c) for c in credentials):
        return comp
    in_published_rubric = db.session.scalar(
        select(ElementRow.id)
        .join(RubricVersion, RubricVersion.id == ElementRow.version_id)
        .where(ElementRow.competency_id == comp.id, RubricVersion.published_at.is_not(None))
        .limit(1)
    )
    if in_published_rubric is None:
        raise NotFound("No such competency.")
    return comp


def alignment_info(a: CredentialAlignment) -> AlignmentInfo | None:
    """The alignment of a credential: to a competency (its official URL), or to an external
    target with its own URL (one without a URL has nothing to point at and is left out)."""
    if a.competency is not None:
        return competency_alignment(a.competency)
    url = (a.target_url or "").strip()
    if not url:
        return None
    return AlignmentInfo(
        target_name=a.target_name or url,
        target_url=url,
        target_description=a.target_description or None,
        target_framework=a.target_framework or None,
        target_code=a.target_code or None,
    )


def achievement_info(cred: Credential, version: RubricVersion | None) -> AchievementInfo:
    """The credential as a BadgeClass / Achievement, with the rubric of `version`."""
    elements: list[RubricElement] = []
    if version is not None:
        pass_level = version.pass_level
        for element in version.elements:
            levels = []
            for level in version.levels:
                cell = version.cell(element, level)
                element_alignments = (
                    (competency_alignment(element.competency),) if element.competency else ()
                )
                levels.append(
                    RubricLevel(
                        id=rubric_ids(version, element.public_id, level.position),
                        name=level.name,
                        description=(cell.descriptor if cell and cell.descriptor else None),
                        level=_level_word(level.position, version.pass_level_position),
                        points=float(level.points),
                        alignments=element_alignments,
                    )
                )
            required = (
                rubric_ids(version, element.public_id, pass_level.position)
                if pass_level is not None and element.is_required
                else None
            )
            elements.append(
                RubricElement(
                    id=rubric_ids(version, element.public_id),
                    name=element.title,
                    levels=tuple(levels),
                    description=element.description or None,
                    required_level=required,
                    alignments=(
                        (competency_alignment(element.competency),) if element.competency else ()
                    ),
                )
            )
    alignments = tuple(
        info for info in (alignment_info(a) for a in cred.alignments) if info is not None
    )
    return AchievementInfo(
        id=badge_class_url(cred),
        name=cred.name,
        description=cred.description or cred.name,
        image=public_url("verify.badge_class_image", cid=cred.public_id),
        criteria_narrative=cred.criteria_md
        or "Every required element of the rubric at the pass level or above, judged on workplace "
        "evidence by a trained assessor.",
        tags=tuple(cred.tag_names),
        alignments=alignments,
        elements=tuple(elements),
        achievement_type="MicroCredential",
        version=f"{version.rubric.title}, version {version.number}" if version else None,
        credits_available=cred.credits_available,
    )


def _evidence_url(award: Award, item: AwardEvidence) -> str:
    return public_url("verify.evidence", aid=award.public_id, eid=item.public_id)


def evidence_entries(award: Award, item: AwardEvidence) -> tuple[EvidenceEntry, ...]:
    """The credential's evidence entries for one item: for a file, the frozen file's URL with
    the digest of exactly those bytes; then the evidence page (no digest: it is HTML about the
    evidence). Both answer nothing once the earner withholds the item.

    Signed documents cannot be changed later, so they hold no words of the worker (titles, file
    names, notes): those stay on the evidence page, which hiding or deleting the account
    withdraws. The element and the digest say what was assessed.
    """
    element = item.element_title
    page = EvidenceEntry(
        url=_evidence_url(award, item),
        name=f"Evidence for “{element}”",
        genre=item.genre,
        description=f"Supports “{element}”.",
    )
    if not item.sha256:
        return (page,)
    file = EvidenceEntry(
        url=public_url("verify.evidence_file", aid=award.public_id, eid=item.public_id),
        name=f"Evidence file for “{element}”",
        genre=item.genre,
        description=f"The file assessed for “{element}”, as frozen at submission.",
        sha256=item.sha256,
        is_file=True,
    )
    return (file, page)


def badge_url(award: Award) -> str:
    return public_url("verify.badge", aid=award.public_id)


def as_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def assertion_document(award: Award) -> tuple[int, str]:
    """HTTP status and body of the hosted OB 2.0 assertion (410 with the reason if revoked)."""
    if award.is_revoked:
        body = ob2.revoked_assertion(
            public_url("verify.badge", aid=award.public_id),
            award.revocation_reason or "Revoked by the issuer.",
        )
        return 410, as_json(body)
    if award.ob2_assertion is None:
        raise BeingSigned()
    return 200, award.ob2_assertion


def issuer_profile_document(org: Organization) -> dict[str, Any]:
    return ob2.issuer_profile(issuer_info(org))


def badge_class_document(cred: Credential) -> dict[str, Any]:
    org = db.session.get(Organization, cred.organization_id)
    assert org is not None
    return ob2.badge_class(achievement_info(cred, cred.rubric_version), issuer_info(org))
