"""Pathways: stacked credentials earned by holding other badges.

Kept whole a little over 400 lines: defining a pathway and issuing its stack share the
satisfying-set rule and the depth checks. Progress is in `progress`, lapses in `lapses`.

A pathway points at a credential without a rubric (the stacked credential) and lists component
credentials: all of them, or N of them, optionally earned within a time window. Components may be
credentials of other organizations on this service whose issuer profile URL the admin trusts.

When a worker's last required badge is issued, `check_pathways` (run by a job that the
receiver of the awards domain's `award_issued` signal queues after the commit) issues the
stacked credential,
exactly once per pathway and worker (a unique constraint on the award settles races), with
evidence entries pointing at the component badges. Revoking or expiring a component marks the
stack as affected and notifies the admins; the stack itself is not revoked automatically (an
admin decides).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.awards import documents, issuance, signing, signing_keys
from portfolio.awards.models import Award
from portfolio.awards.ob.types import EvidenceEntry
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.ids import is_public_id, new_public_id
from portfolio.core.jobs import enqueue
from portfolio.core.sanitize import clean_text, render_markdown
from portfolio.core.urls import public_url
from portfolio.credentials.models import Credential, CredentialState
from portfolio.extensions import db
from portfolio.pathways.models import (
    Pathway,
    PathwayAwardComponent,
    PathwayComponent,
    PathwayRule,
    PathwayTrustedIssuer,
)

#: Deepest chain of stacks of stacks followed when one award completes several pathways.
MAX_DEPTH = 5
MAX_COMPONENTS = 50


# -- the rule ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """A valid badge that may count towards a pathway."""

    credential_id: int
    award_id: int
    issued_at: datetime


def satisfying_set(
    held: Sequence[Held], *, needed: int, window_days: int | None
) -> list[Held] | None:
    """The badges that meet the rule (one per credential, `needed` distinct credentials, all
    within `window_days` of each other if set), preferring the most recent ones; None when the
    rule is not met."""
    if needed <= 0:
        return None
    ordered = sorted(held, key=lambda h: (h.issued_at, h.award_id), reverse=True)
    window = timedelta(days=window_days) if window_days else None
    # Try windows ending at each badge, newest first: the first that holds enough wins.
    for end_index, end in enumerate(ordered):
        chosen: dict[int, Held] = {}
        for h in ordered[end_index:]:
            if window is not None and end.issued_at - h.issued_at > window:
                break
            chosen.setdefault(h.credential_id, h)
            if len(chosen) >= needed:
                return sorted(chosen.values(), key=lambda x: (x.issued_at, x.award_id))
        if window is None:
            return None  # without a window the first (widest) try is conclusive
    return None


# -- defining pathways ----------------------------------------------------------------------------


@dataclass
class PathwayInput:
    """What an admin gives to define a pathway."""

    name: str
    description: str = ""
    component_ids: list[str] = field(default_factory=list)
    rule: str = PathwayRule.ALL
    required_count: int | None = None
    window_days: int | None = None
    trusted_issuers: list[str] = field(default_factory=list)
    expiry_months: int | None = None


def issuer_url(org: Organization) -> str:
    """The public issuer profile URL by which admins trust another organization."""
    return public_url("verify.issuer", oid=org.public_id)


def candidate_components(org: Organization) -> list[Credential]:
    """Published credentials that may be components: this organization's first, then other
    organizations' on this service (which count only if their issuer URL is trusted)."""
    creds = db.session.scalars(
        select(Credential)
        .where(Credential.state == CredentialState.PUBLISHED)
        .order_by(Credential.organization_id != org.id, Credential.organization_id, Credential.name)
    )
    return list(creds)


def create_pathway(admin: User, org: Organization, data: PathwayInput) -> Pathway:
    """Define a stacked credential and the pathway that earns it (published at once)."""
    require_role(admin, org, Role.ADMIN)
    name = clean_text(data.name, 200)
    if not name:
        raise DomainError("A pathway needs a name for the credential it earns.")
    trusted = sorted({u.strip().rstrip("/") for u in data.trusted_issuers if u.strip()})
    for url in trusted:
        if not url.startswith(("https://", "http://")) or len(url) > 500:
            raise DomainError(f"“{url[:80]}” is not an issuer profile URL.")
    components: list[Credential] = []
    for cid in dict.fromkeys(data.component_ids):
        cred = (
            db.session.scalar(select(Credential).where(Credential.public_id == cid))
            if is_public_id(cid)
            else None
        )
        if cred is None or cred.state != CredentialState.PUBLISHED:
            raise DomainError("A chosen component is not a published credential.")
        if cred.organization_id != org.id:
            other = db.session.get(Organization, cred.organization_id)
            assert other is not None
            if issuer_url(other).rstrip("/") not in trusted:
                raise DomainError(
                    f"“{cred.name}” is issued by {other.name}: add their issuer URL "
                    f"({issuer_url(other)}) to the trusted issuers to count it."
                )
        components.append(cred)
    if len(components) < 2:
        raise DomainError("Choose at least two component credentials.")
    if len(components) > MAX_COMPONENTS:
        raise DomainError(f"Choose at most {MAX_COMPONENTS} components.")
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
    pathway = Pathway(
        organization_id=org.id,
        rule=rule,
        required_count=required,
        window_days=data.window_days,
        created_by_id=admin.id,
    )
    pathway.components = [
        PathwayComponent(credential_id=c.id, position=i) for i, c in enumerate(components)
    ]
    pathway.trusted_issuers = [PathwayTrustedIssuer(issuer_url=u) for u in trusted]
    pathway.credential = Credential(organization_id=org.id, name=name)
    criteria = pathway.describe() + "\n\n" + "\n".join(f"- {c.name}" for c in components)
    pathway.credential.description = clean_text(data.description, 2000) or criteria.split("\n")[0]
    pathway.credential.criteria_md = criteria
    pathway.credential.criteria_html = render_markdown(criteria)
    pathway.credential.expiry_months = data.expiry_months
    pathway.credential.state = CredentialState.PUBLISHED
    pathway.credential.published_at = utcnow()
    db.session.add(pathway)
    db.session.flush()
    audit.record(
        "pathway.create",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="pathway",
        subject_id=pathway.public_id,
        credential=pathway.credential.public_id,
        components=[c.public_id for c in components],
        rule=rule.value,
        required=required,
        window_days=data.window_days,
    )
    return pathway


def organization_pathways(org: Organization) -> list[Pathway]:
    return list(
        db.session.scalars(
            select(Pathway).where(Pathway.organization_id == org.id).order_by(Pathway.id)
        )
    )


def get_pathway(org: Organization, public_id: str) -> Pathway:
    pathway = (
        db.session.scalar(
            select(Pathway).where(Pathway.public_id == public_id, Pathway.organization_id == org.id)
        )
        if is_public_id(public_id)
        else None
    )
    if pathway is None:
        raise NotFound("No such pathway.")
    return pathway


# -- issuing stacks -----------------------------------------------------------------------------


def _counts(pathway: Pathway, cred: Credential) -> bool:
    """Whether badges of `cred` count towards `pathway` (its own, or a trusted issuer's)."""
    if cred.organization_id == pathway.organization_id:
        return True
    other = db.session.get(Organization, cred.organization_id)
    trusted = {t.issuer_url.rstrip("/") for t in pathway.trusted_issuers}
    return other is not None and issuer_url(other).rstrip("/") in trusted


def _valid_awards(recipient_id: int, credential_ids: Iterable[int]) -> list[Award]:
    now = utcnow()
    awards = db.session.scalars(
        select(Award).where(
            Award.recipient_id == recipient_id,
            Award.credential_id.in_(list(credential_ids)),
            Award.revoked_at.is_(None),
        )
    )
    return [a for a in awards if not a.is_expired(now)]


def holdings(pathway: Pathway, recipient_id: int) -> list[Award]:
    """The worker's valid badges that count towards the pathway."""
    counting = {c.credential_id for c in pathway.components if _counts(pathway, c.credential)}
    return _valid_awards(recipient_id, counting)


def stack_award(pathway: Pathway, recipient_id: int) -> Award | None:
    return db.session.scalar(
        select(Award).where(Award.pathway_id == pathway.id, Award.recipient_id == recipient_id)
    )


def lock_recipient(recipient_id: int) -> None:
    """Serialize completion checks per worker: two component badges passed at the same instant
    in two transactions would each see only their own badge and both miss the stack. With the
    worker's row locked, the second check waits for the first to commit and then sees both
    badges (PostgreSQL; SQLite runs one writing transaction at a time anyway)."""
    # FOR NO KEY UPDATE: the two checks wait for each other, but not for the key-share locks
    # that inserting the worker's awards already holds on this row (FOR UPDATE would deadlock
    # against them on PostgreSQL).
    db.session.execute(
        select(User.id).where(User.id == recipient_id).with_for_update(key_share=True)
    )


def check_pathways(award: Award, _depth: int = 0) -> list[Award]:
    """Issue every stacked credential that `award` completes for its recipient (in the caller's
    transaction). Returns the stacks issued now."""
    recipient = award.recipient
    # A bulk award nobody has claimed yet completes nothing until it is claimed.
    if _depth >= MAX_DEPTH or award.recipient_id is None or recipient is None:
        return []
    recipient_id = award.recipient_id
    lock_recipient(recipient_id)
    pathways = db.session.scalars(
        select(Pathway)
        .join(PathwayComponent, PathwayComponent.pathway_id == Pathway.id)
        .where(PathwayComponent.credential_id == award.credential_id)
        .order_by(Pathway.id)
    ).unique()
    issued: list[Award] = []
    for pathway in pathways:
        # Only the pathway's own workers: trusting another issuer's badges must not let an
        # organization badge (and so see) people who never joined it.
        if not recipient.has_role(pathway.organization_id, Role.LEARNER):
            continue
        if stack_award(pathway, recipient_id) is not None:
            continue
        if pathway.credential.state == CredentialState.ARCHIVED:
            continue
        if not _counts(pathway, award.credential):
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
        stack = issue_stack(pathway, recipient, [by_id[h.award_id] for h in chosen])
        if stack is not None:
            issued.append(stack)
            issued.extend(check_pathways(stack, _depth + 1))
    return issued


def issue_stack(pathway: Pathway, recipient: User, components: Sequence[Award]) -> Award | None:
    """Issue the stacked credential of `pathway` to `recipient` on `components`. Exactly once:
    returns None when it already exists (a racing transaction may have written it)."""
    org = pathway.organization
    cred = pathway.credential
    signing_key = signing_keys.get_or_create_signing_key(org)
    issued = utcnow().replace(microsecond=0)
    award = Award(
        public_id=new_public_id(),
        organization_id=org.id,
        credential_id=cred.id,
        recipient_id=recipient.id,
        pathway_id=pathway.id,
        issuer_key_id=signing_key.id,
        issued_at=issued,
        expires_at=issuance.add_months(issued, cred.expiry_months) if cred.expiry_months else None,
        recipient_salt=secrets.token_hex(16),
        # The stacked credential's own credit, if it has one (its components earned theirs).
        credits_earned=cred.credits_available,
    )
    try:
        with db.session.begin_nested():
            db.session.add(award)
            db.session.flush()
    except IntegrityError:
        if stack_award(pathway, recipient.id) is None:
            raise
        return None
    for component in components:
        db.session.add(PathwayAwardComponent(award_id=award.id, component_award_id=component.id))
    # Committed now as "being signed"; `stack_documents` renders it in the signing job.
    issuance.queue_signing(award)
    return award


def stack_documents(award: Award) -> signing.PendingDocuments:
    """What the signing job needs for a stacked award: its component badges as evidence, and
    the audit details and the earner's notice recorded once it is signed."""
    pathway = db.session.get(Pathway, award.pathway_id)
    assert pathway is not None
    cred = pathway.credential
    components = list(
        db.session.scalars(
            select(Award)
            .join(PathwayAwardComponent, PathwayAwardComponent.component_award_id == Award.id)
            .where(PathwayAwardComponent.award_id == award.id)
            .order_by(PathwayAwardComponent.id)
        )
    )
    evidence = tuple(
        EvidenceEntry(
            url=public_url("verify.badge", aid=c.public_id),
            name=c.credential.name,
            genre="Badge",
            description=(
                f"Component badge “{c.credential.name}” issued by {c.organization.name} "
                f"on {c.issued_at:%Y-%m-%d}."
            ),
        )
        for c in components
    )
    return signing.PendingDocuments(
        documents.achievement_info(cred, None),
        evidence,
        (),
        audit={
            "credential": cred.public_id,
            "pathway": pathway.public_id,
            "components": [c.public_id for c in components],
        },
        notice=(
            f"You earned “{cred.name}” by completing its pathway.",
            f"/badges#badge-{award.public_id}",
        ),
    )


# -- lapsed components ---------------------------------------------------------------------------


# -- progress -----------------------------------------------------------------------------------


# -- receivers (connected in `init_app`) -----------------------------------------------------------


def _on_award_issued(sender: Flask, *, award: Award, **_: object) -> None:
    """The completion check runs as a job once the award is committed."""
    from portfolio.pathways.jobs import check_completion

    enqueue(check_completion, award.public_id, organization_id=award.organization_id)


def _on_award_revoked(sender: Flask, *, award: Award, reason: str, **_: object) -> None:
    """Marking the stacks built on it runs as a job once the revocation is committed."""
    from portfolio.pathways.jobs import mark_component_revoked

    enqueue(mark_component_revoked, award.public_id, organization_id=award.organization_id)
