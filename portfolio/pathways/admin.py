"""Managing pathways after they are created: editing (the stacked credential's earlier badges
keep their version), archiving, issuing the stack to everyone who already qualifies, and the demo
pathway. The completion check itself lives in pathways.py."""

from __future__ import annotations

from sqlalchemy import select

from portfolio.accounts.models import Membership, Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.awards.models import Award
from portfolio.core import audit
from portfolio.core.errors import Conflict, DomainError
from portfolio.core.ids import is_public_id
from portfolio.core.sanitize import clean_text, render_markdown
from portfolio.credentials.models import Credential, CredentialState
from portfolio.extensions import db
from portfolio.pathways.services import (
    MAX_COMPONENTS,
    Held,
    Pathway,
    PathwayComponent,
    PathwayInput,
    PathwayRule,
    PathwayTrustedIssuer,
    holdings,
    issue_stack,
    issuer_url,
    lock_recipient,
    satisfying_set,
    stack_award,
)


def is_archived(pathway: Pathway) -> bool:
    """An archived pathway issues nothing more; stacks already issued stay valid."""
    return pathway.credential.state == CredentialState.ARCHIVED


def issue_to_qualifying(pathway: Pathway) -> list[Award]:
    """Issue the stack to every worker of the pathway's organization who already holds what it
    needs (when a pathway is created or changed). Each worker is locked in turn, like the
    completion check, so a badge passed at the same moment cannot issue the stack twice."""
    if is_archived(pathway):
        return []
    component_ids = [c.credential_id for c in pathway.components]
    recipients = db.session.scalars(
        select(Award.recipient_id)
        .join(
            Membership,
            (Membership.user_id == Award.recipient_id)
            & (Membership.organization_id == pathway.organization_id)
            & (Membership.role == Role.LEARNER),
        )
        .where(Award.credential_id.in_(component_ids), Award.revoked_at.is_(None))
        .distinct()
    ).all()
    issued: list[Award] = []
    for recipient_id in recipients:
        if recipient_id is None:  # the join on memberships leaves none; for the type checker
            continue
        lock_recipient(recipient_id)
        if stack_award(pathway, recipient_id) is not None:
            continue
        held = holdings(pathway, recipient_id)
        by_id = {a.id: a for a in held}
        chosen = satisfying_set(
            [Held(a.credential_id, a.id, a.issued_at) for a in held],
            needed=pathway.needed,
            window_days=pathway.window_days,
        )
        if chosen is None:
            continue
        recipient = db.session.get(User, recipient_id)
        assert recipient is not None
        stack = issue_stack(pathway, recipient, [by_id[h.award_id] for h in chosen])
        if stack is not None:
            issued.append(stack)
    return issued


def _components(org: Organization, ids: list[str], trusted: list[str]) -> list[Credential]:
    components: list[Credential] = []
    for cid in dict.fromkeys(ids):
        cred = (
            db.session.scalar(select(Credential).where(Credential.public_id == cid))
            if is_public_id(cid)
            else None
        )
        if cred is None or cred.state != CredentialState.PUBLISHED:
            raise DomainError("A chosen component is not a published credential.")
        if cred.organization_id != org.id:
            other = db.session.get(Organization, cred.organization_id)
            if other is None or issuer_url(other).rstrip("/") not in trusted:
                raise DomainError(
                    f"“{cred.name}” is issued by another organization: add its issuer URL to "
                    "the trusted issuers to count it."
                )
        components.append(cred)
    if len(components) < 2:
        raise DomainError("Choose at least two component credentials.")
    if len(components) > MAX_COMPONENTS:
        raise DomainError(f"Choose at most {MAX_COMPONENTS} components.")
    return components


def update_pathway(admin: User, pathway: Pathway, data: PathwayInput) -> None:
    """Change a pathway: its name, description, components, rule, window and trusted issuers.
    Stacks already issued keep what they were issued with (a credential version); workers who
    qualify under the new rule receive the stack (see `issue_to_qualifying`)."""
    from portfolio.awards.versions import freeze_for_issued_badges

    org = pathway.organization
    require_role(admin, org, Role.ADMIN)
    if is_archived(pathway):
        raise Conflict("This pathway is archived.")
    name = clean_text(data.name, 200)
    if not name:
        raise DomainError("A pathway needs a name for the credential it earns.")
    trusted = sorted({u.strip().rstrip("/") for u in data.trusted_issuers if u.strip()})
    for url in trusted:
        if not url.startswith(("https://", "http://")) or len(url) > 500:
            raise DomainError(f"“{url[:80]}” is not an issuer profile URL.")
    components = _components(org, data.component_ids, trusted)
    try:
        rule = PathwayRule(data.rule)
    except ValueError as exc:
        raise DomainError("Choose “all of” or “N of” as the rule.") from exc
    required = None
    if rule == PathwayRule.N_OF:
        if data.required_count is None or not 1 <= data.required_count <= len(components):
            raise DomainError(f"N must be between 1 and {len(components)}.")
        required = data.required_count
    if data.window_days is not None and not 1 <= data.window_days <= 36500:
        raise DomainError("The time window must be between 1 and 36500 days, or none.")
    if data.expiry_months is not None and not 1 <= data.expiry_months <= 600:
        raise DomainError("Expiry must be between 1 and 600 months, or none.")
    cred = pathway.credential
    freeze_for_issued_badges(cred)
    pathway.rule, pathway.required_count, pathway.window_days = rule, required, data.window_days
    # Old rows go first: the unit of work would insert the new ones before deleting the old,
    # and a component kept across the change would break its unique constraint.
    pathway.components.clear()
    pathway.trusted_issuers.clear()
    db.session.flush()
    pathway.components.extend(
        PathwayComponent(credential_id=c.id, position=i) for i, c in enumerate(components)
    )
    pathway.trusted_issuers.extend(PathwayTrustedIssuer(issuer_url=u) for u in trusted)
    db.session.flush()
    db.session.refresh(pathway)
    criteria = pathway.describe() + "\n\n" + "\n".join(f"- {c.name}" for c in components)
    cred.name = name
    cred.description = clean_text(data.description, 2000) or criteria.split("\n")[0]
    cred.criteria_md, cred.criteria_html = criteria, render_markdown(criteria)
    cred.expiry_months = data.expiry_months
    audit.record(
        "pathway.update",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="pathway",
        subject_id=pathway.public_id,
        components=[c.public_id for c in components],
        rule=rule.value,
        required=required,
        window_days=data.window_days,
    )


def archive_pathway(admin: User, pathway: Pathway) -> None:
    """Stop a pathway: no new stacks, its credential leaves the catalogue; stacks already
    issued stay valid."""
    org = pathway.organization
    require_role(admin, org, Role.ADMIN)
    if is_archived(pathway):
        raise Conflict("This pathway is already archived.")
    pathway.credential.state = CredentialState.ARCHIVED
    audit.record(
        "pathway.archive",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="pathway",
        subject_id=pathway.public_id,
    )


def load_pathway_demo(org: Organization, credential: Credential | None) -> Pathway | None:
    """The demo pathway "Structural Welder": the 3G welding credential plus a workshop safety
    credential on the same rubric. Skipped when present."""
    from portfolio.credentials import services as badge_services
    from portfolio.pathways.services import create_pathway

    if credential is None or credential.rubric_version_id is None:
        return None
    existing = db.session.scalar(
        select(Pathway)
        .join(Credential, Credential.id == Pathway.credential_id)
        .where(Pathway.organization_id == org.id, Credential.name == "Structural Welder")
    )
    if existing is not None:
        return existing
    admin = db.session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == org.id, Membership.role == Role.ADMIN)
        .order_by(User.id)
        .limit(1)
    )
    if admin is None:
        return None
    safety = badge_services.create_credential(
        admin,
        org,
        badge_services.CredentialInput(
            name="Workshop Safety",
            description="Keeps a welding bay safe: ventilation, protective equipment, tidy work.",
            criteria_md="Submit evidence of safe work from a real job, assessed on the rubric.",
            tags=["welding", "safety"],
            rubric_version_id=credential.rubric_version_id,
            expiry_months=24,
            max_attempts=3,
        ),
    )
    badge_services.publish_credential(admin, safety)
    pathway = create_pathway(
        admin,
        org,
        PathwayInput(
            name="Structural Welder",
            description="Earned automatically by holding both the 3G fillet weld and the "
            "workshop safety badges.",
            component_ids=[credential.public_id, safety.public_id],
            rule=PathwayRule.ALL,
            expiry_months=36,
        ),
    )
    issue_to_qualifying(pathway)
    db.session.commit()
    return pathway
