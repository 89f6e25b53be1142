"""Rules for credentials (badge classes): who may change them, what publishing needs, the
public catalogue."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from sqlalchemy import select

from portfolio.accounts.models import Organization, User
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.sanitize import clean_text, render_markdown
from portfolio.credentials.images import check_badge_image
from portfolio.credentials.models import (
    Credential,
    CredentialAlignment,
    CredentialState,
    CredentialTag,
)
from portfolio.extensions import db
from portfolio.frameworks.models import Competency, Framework, Rubric, RubricVersion
from portfolio.frameworks.services.frameworks import require_admin

MAX_TAGS = 20
MAX_ALIGNMENTS = 50


@dataclass
class ExternalAlignment:
    """An alignment to a target outside our frameworks."""

    name: str
    url: str = ""
    framework: str = ""
    code: str = ""
    description: str = ""


@dataclass
class CredentialInput:
    """Everything an admin edits on a credential (the image is set separately)."""

    name: str
    description: str = ""
    criteria_md: str = ""
    tags: list[str] = field(default_factory=list)
    rubric_version_id: int | None = None
    expiry_months: int | None = None
    max_attempts: int | None = None
    #: `creditsAvailable` and the issuer's unit for it (e.g. "credit hours").
    credits_available: float | None = None
    credits_unit: str = ""
    competency_ids: list[int] = field(default_factory=list)
    external: list[ExternalAlignment] = field(default_factory=list)


def list_credentials(org: Organization) -> list[Credential]:
    """Every credential of the organization, by name."""
    return list(
        db.session.scalars(
            select(Credential).where(Credential.organization_id == org.id).order_by(Credential.name)
        )
    )


def get_credential(org: Organization, public_id: str) -> Credential:
    """A credential of this organization, or `NotFound`."""
    cred = None
    if is_public_id(public_id):
        cred = db.session.scalar(
            select(Credential).where(
                Credential.public_id == public_id, Credential.organization_id == org.id
            )
        )
    if cred is None:
        raise NotFound("No such credential in this organization.")
    return cred


def published_credentials(org: Organization) -> list[Credential]:
    """The public catalogue: published credentials of the organization, by name."""
    return list(
        db.session.scalars(
            select(Credential)
            .where(
                Credential.organization_id == org.id, Credential.state == CredentialState.PUBLISHED
            )
            .order_by(Credential.name)
        )
    )


def get_published_credential(org: Organization, public_id: str) -> Credential:
    """A credential anyone may read; drafts and archived ones are not found."""
    cred = get_credential(org, public_id)
    if cred.state != CredentialState.PUBLISHED:
        raise NotFound("No such credential in this organization.")
    return cred


def _clean_tags(tags: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for tag in tags:
        name = clean_text(tag, 60)
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    if len(seen) > MAX_TAGS:
        raise DomainError(f"Use at most {MAX_TAGS} tags.")
    return list(seen.values())


def _apply(actor: User, org: Organization, cred: Credential, data: CredentialInput) -> None:
    name = clean_text(data.name, 200)
    if not name:
        raise DomainError("A credential needs a name.")
    if data.expiry_months is not None and not 1 <= data.expiry_months <= 600:
        raise DomainError("Expiry must be between 1 and 600 months, or none.")
    if data.max_attempts is not None and not 1 <= data.max_attempts <= 100:
        raise DomainError("Maximum attempts must be between 1 and 100, or no limit.")
    credits = data.credits_available
    if credits is not None and not 0 <= credits <= 9999:  # NaN fails the comparison too
        raise DomainError("Credit must be between 0 and 9999, or none.")
    version = None
    if data.rubric_version_id is not None:
        version = db.session.scalar(
            select(RubricVersion)
            .join(Rubric)
            .where(RubricVersion.id == data.rubric_version_id, Rubric.organization_id == org.id)
        )
        if version is None:
            raise DomainError("Choose a rubric of this organization.")
        if version.published_at is None:
            raise DomainError("Choose a published rubric version; drafts can still change.")
    if cred.is_published and version is None:
        raise DomainError("A published credential needs a rubric version.")
    competencies = []
    if data.competency_ids:
        competencies = list(
            db.session.scalars(
                select(Competency)
                .join(Framework)
                .where(Competency.id.in_(data.competency_ids), Framework.organization_id == org.id)
            )
        )
        if len(competencies) != len(set(data.competency_ids)):
            raise DomainError("Align only to competencies of this organization's frameworks.")
    if len(competencies) + len(data.external) > MAX_ALIGNMENTS:
        raise DomainError(f"Use at most {MAX_ALIGNMENTS} alignments.")
    for ext in data.external:
        if not clean_text(ext.name, 300):
            raise DomainError("Every external alignment needs a name.")
        if ext.url and not ext.url.startswith(("https://", "http://")):
            raise DomainError(f"The alignment URL {ext.url!r} must start with https:// or http://.")

    cred.name, cred.description = name, data.description.strip()
    cred.criteria_md = data.criteria_md.strip()
    cred.criteria_html = render_markdown(cred.criteria_md)
    cred.rubric_version = version
    cred.expiry_months, cred.max_attempts = data.expiry_months, data.max_attempts
    cred.credits_available = None if credits is None else round(credits, 2)
    cred.credits_unit = clean_text(data.credits_unit, 40) if credits is not None else ""
    wanted = _clean_tags(data.tags)
    existing = {t.name: t for t in cred.tags}
    cred.tags = [existing.get(t) or CredentialTag(name=t) for t in wanted]
    by_comp = {a.competency_id: a for a in cred.alignments if a.competency_id is not None}
    alignments: list[CredentialAlignment] = []
    order = {cid: i for i, cid in enumerate(data.competency_ids)}
    for comp in sorted(competencies, key=lambda c: order[c.id]):
        alignments.append(by_comp.get(comp.id) or CredentialAlignment(competency=comp))
    for ext in data.external:
        alignments.append(
            CredentialAlignment(
                target_name=clean_text(ext.name, 300),
                target_url=ext.url.strip()[:1000],
                target_framework=clean_text(ext.framework, 300),
                target_code=clean_text(ext.code, 100),
                target_description=ext.description.strip(),
            )
        )
    for i, alignment in enumerate(alignments):
        alignment.position = i
    cred.alignments = alignments


def create_credential(actor: User, org: Organization, data: CredentialInput) -> Credential:
    """Create a draft credential."""
    require_admin(actor, org)
    cred = Credential(organization_id=org.id, name="")
    _apply(actor, org, cred, data)
    db.session.add(cred)
    db.session.flush()
    audit.record(
        "credential.create",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="credential",
        subject_id=cred.public_id,
    )
    return cred


def update_credential(actor: User, cred: Credential, data: CredentialInput) -> None:
    """Change a credential's description, criteria, alignments, rubric version and policies."""
    org = _org(cred)
    require_admin(actor, org)
    if cred.state == CredentialState.ARCHIVED:
        raise Conflict("This credential is archived; restore it before editing.")
    _apply(actor, org, cred, data)
    audit.record(
        "credential.update",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="credential",
        subject_id=cred.public_id,
    )


def _org(cred: Credential) -> Organization:
    org = db.session.get(Organization, cred.organization_id)
    if org is None:
        raise NotFound("No such organization.")
    return org


def set_credential_image(actor: User, cred: Credential, data: bytes) -> None:
    """Store a new badge image (PNG, or SVG after cleaning), checked by content."""
    from portfolio.storage import delete_after_commit, get_storage, new_object_key

    org = _org(cred)
    require_admin(actor, org)
    cleaned, content_type = check_badge_image(data)
    storage = get_storage()
    key = new_object_key(f"badges/{org.public_id}")
    storage.put(key, io.BytesIO(cleaned), content_type)
    old = cred.image_key
    cred.image_key, cred.image_content_type = key, content_type
    audit.record(
        "credential.image",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="credential",
        subject_id=cred.public_id,
    )
    if old:
        delete_after_commit([old])  # the old image goes only once the new one is committed


def publication_problems(cred: Credential) -> list[str]:
    """What stops a credential from being published."""
    problems = []
    if cred.rubric_version is None or cred.rubric_version.published_at is None:
        problems.append("Choose a published rubric version.")
    if not cred.criteria_md.strip():
        problems.append("Write the criteria.")
    if not cred.description.strip():
        problems.append("Write a description.")
    return problems


def publish_credential(actor: User, cred: Credential) -> None:
    """Offer the credential in the public catalogue."""
    org = _org(cred)
    require_admin(actor, org)
    if cred.state == CredentialState.PUBLISHED:
        return
    problems = publication_problems(cred)
    if problems:
        raise DomainError("This credential cannot be published yet: " + " ".join(problems))
    cred.state = CredentialState.PUBLISHED
    cred.published_at = cred.published_at or utcnow()
    audit.record(
        "credential.publish",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="credential",
        subject_id=cred.public_id,
    )


def archive_credential(actor: User, cred: Credential) -> None:
    """Stop offering the credential; awards already issued stay valid."""
    org = _org(cred)
    require_admin(actor, org)
    cred.state = CredentialState.ARCHIVED
    audit.record(
        "credential.archive",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="credential",
        subject_id=cred.public_id,
    )


def restore_credential(actor: User, cred: Credential) -> None:
    """Bring an archived credential back as a draft."""
    org = _org(cred)
    require_admin(actor, org)
    if cred.state != CredentialState.ARCHIVED:
        raise Conflict("Only archived credentials can be restored.")
    cred.state = CredentialState.DRAFT
    audit.record(
        "credential.restore",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="credential",
        subject_id=cred.public_id,
    )
