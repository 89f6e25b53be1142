"""Frameworks: who administers them, listing, creating, changing and deleting one (refused
while credentials or rubrics use its competencies)."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core import audit
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.sanitize import clean_text
from portfolio.extensions import db
from portfolio.frameworks.models import (
    Competency,
    CompetencyAssociation,
    Framework,
    Rubric,
    RubricElement,
    RubricVersion,
)


def require_admin(actor: User, org: Organization) -> None:
    """Only the organization's admins change its frameworks, rubrics and credentials."""
    require_role(actor, org, Role.ADMIN)


def list_frameworks(org: Organization) -> list[Framework]:
    """The organization's frameworks by title."""
    return list(
        db.session.scalars(
            select(Framework).where(Framework.organization_id == org.id).order_by(Framework.title)
        )
    )


def get_framework(org: Organization, public_id: str) -> Framework:
    """A framework of this organization, or `NotFound` (also for another org's framework)."""
    fw = None
    if is_public_id(public_id):
        fw = db.session.scalar(
            select(Framework).where(
                Framework.public_id == public_id, Framework.organization_id == org.id
            )
        )
    if fw is None:
        raise NotFound("No such framework in this organization.")
    return fw


def create_framework(
    actor: User,
    org: Organization,
    *,
    title: str,
    version: str = "",
    description: str = "",
    source_url: str = "",
) -> Framework:
    """Create an empty framework."""
    require_admin(actor, org)
    title = clean_text(title, 300)
    if not title:
        raise DomainError("A framework needs a title.")
    fw = Framework(
        organization_id=org.id,
        title=title,
        version=clean_text(version, 60),
        description=description.strip(),
        source_url=source_url.strip()[:1000],
    )
    db.session.add(fw)
    db.session.flush()
    audit.record(
        "framework.create",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="framework",
        subject_id=fw.public_id,
    )
    return fw


def update_framework(
    actor: User, fw: Framework, *, title: str, version: str, description: str, source_url: str
) -> None:
    """Change a framework's title, version label, description and source URL."""
    require_admin(actor, framework_org(fw.organization_id))
    title = clean_text(title, 300)
    if not title:
        raise DomainError("A framework needs a title.")
    fw.title, fw.version = title, clean_text(version, 60)
    fw.description, fw.source_url = description.strip(), source_url.strip()[:1000]
    audit.record(
        "framework.update",
        actor_id=actor.id,
        organization_id=fw.organization_id,
        subject_type="framework",
        subject_id=fw.public_id,
    )


def refuse_if_in_use(competency_ids: set[int], what: str) -> None:
    """Published rubric versions and credentials (and so issued badges) point at competencies:
    deleting one would silently change what they say. The refusal names what uses them."""
    if not competency_ids:
        return
    rubric_titles = list(
        db.session.scalars(
            select(Rubric.title)
            .join(RubricVersion, RubricVersion.rubric_id == Rubric.id)
            .join(RubricElement, RubricElement.version_id == RubricVersion.id)
            .where(
                RubricElement.competency_id.in_(competency_ids),
                RubricVersion.published_at.is_not(None),
            )
            .distinct()
            .order_by(Rubric.title)
        )
    )
    # By table name: credentials belong to a later package than frameworks.
    alignments = db.metadata.tables["credential_alignments"]
    credentials = db.metadata.tables["credentials"]
    credential_names = list(
        db.session.scalars(
            select(credentials.c.name)
            .join(alignments, alignments.c.credential_id == credentials.c.id)
            .where(alignments.c.competency_id.in_(competency_ids))
            .distinct()
            .order_by(credentials.c.name)
        )
    )
    if rubric_titles or credential_names:
        users = [f"the published rubric “{t}”" for t in rubric_titles[:3]]
        users += [f"the credential “{n}”" for n in credential_names[:3]]
        more = len(rubric_titles[3:]) + len(credential_names[3:])
        named = ", ".join(users) + (f" and {more} more" if more else "")
        raise DomainError(
            f"This {what} is used by {named}, so deleting it would change what they (and "
            "badges already issued) say. Nothing was deleted. Remove it from them first."
        )


def delete_framework(actor: User, fw: Framework) -> None:
    """Delete a framework, its competencies and their links (not while published work uses
    them). Written in a few statements: a framework of 10,000 items, or a chain 1,200 deep,
    is not deleted row by row."""
    require_admin(actor, framework_org(fw.organization_id))
    ids = set(db.session.scalars(select(Competency.id).where(Competency.framework_id == fw.id)))
    refuse_if_in_use(ids, "framework")
    audit.record(
        "framework.delete",
        actor_id=actor.id,
        organization_id=fw.organization_id,
        subject_type="framework",
        subject_id=fw.public_id,
        title=fw.title,
    )
    db.session.execute(
        delete(CompetencyAssociation).where(CompetencyAssociation.framework_id == fw.id)
    )
    if ids:
        db.session.execute(
            update(RubricElement)
            .where(RubricElement.competency_id.in_(ids))
            .values(competency_id=None)
        )
    db.session.execute(update(Rubric).where(Rubric.framework_id == fw.id).values(framework_id=None))
    db.session.execute(
        update(Competency).where(Competency.framework_id == fw.id).values(parent_id=None)
    )
    db.session.execute(delete(Competency).where(Competency.framework_id == fw.id))
    db.session.expire(fw, ["competencies", "associations"])
    db.session.delete(fw)
    db.session.flush()


def framework_org(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        raise NotFound("No such organization.")
    return org
