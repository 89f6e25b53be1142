"""Components that lapse (revoked or expired) under stacked awards: recording the lapse, telling
the admins, and listing the stacks affected."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portfolio.accounts.models import Membership, Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.awards.models import Award
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.extensions import db
from portfolio.pathways.models import (
    PathwayAwardComponent,
)
from portfolio.submissions.notifications import notify


def component_lapsed(component: Award, reason: str) -> list[PathwayAwardComponent]:
    """Mark every stack issued on `component` as affected (revoked or expired component), with
    an audit event and a notification to the admins of each stack's organization."""
    links = list(
        db.session.scalars(
            select(PathwayAwardComponent).where(
                PathwayAwardComponent.component_award_id == component.id,
                PathwayAwardComponent.affected_at.is_(None),
            )
        )
    )
    now = utcnow()
    for link in links:
        link.affected_at = now
        link.affected_reason = reason[:1000]
        stack = link.award
        audit.record(
            "pathway.affected",
            actor_id=None,
            organization_id=stack.organization_id,
            subject_type="award",
            subject_id=stack.public_id,
            component=component.public_id,
            reason=link.affected_reason,
        )
        _tell_admins(
            stack.organization,
            f"“{stack.credential.name}” of {stack.recipient_display_name} is affected: its "
            f"component “{component.credential.name}” was {reason}.",
            f"/o/{stack.organization.slug}/pathways",
        )
    return links


def _tell_admins(org: Organization, message: str, link: str) -> None:
    admins = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == org.id, Membership.role == Role.ADMIN)
    )
    for admin in admins:
        notify(admin, message[:500], link)


def mark_expired_components(now: datetime | None = None) -> int:
    """Mark stacks whose component badges have expired since (run hourly by the scheduler and
    by `flask pathways check-expiry`). Returns how many were marked."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(PathwayAwardComponent)
        .join(Award, Award.id == PathwayAwardComponent.component_award_id)
        .where(
            PathwayAwardComponent.affected_at.is_(None),
            Award.expires_at.is_not(None),
            Award.expires_at <= now,
        )
    )
    components = {row.component.id: row.component for row in rows}
    marked = 0
    for component in components.values():
        marked += len(component_lapsed(component, f"expired on {component.expires_at:%Y-%m-%d}"))
    return marked


def affected_stacks(admin: User, org: Organization) -> list[PathwayAwardComponent]:
    """The organization's stacked awards with a revoked or expired component (admins only)."""
    require_role(admin, org, Role.ADMIN)
    return list(
        db.session.scalars(
            select(PathwayAwardComponent)
            .join(Award, Award.id == PathwayAwardComponent.award_id)
            .where(Award.organization_id == org.id, PathwayAwardComponent.affected_at.is_not(None))
            .order_by(PathwayAwardComponent.affected_at.desc())
        )
    )


def stack_components(award: Award) -> list[PathwayAwardComponent]:
    """The component badges a stacked award was issued on."""
    return list(
        db.session.scalars(
            select(PathwayAwardComponent)
            .where(PathwayAwardComponent.award_id == award.id)
            .order_by(PathwayAwardComponent.id)
        )
    )
