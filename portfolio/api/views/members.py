"""Members of an organization, their roles, and invitations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portfolio.accounts import registration
from portfolio.accounts.models import Invitation, Membership, Role, User
from portfolio.api import schemas as s
from portfolio.api.blueprint import (
    actor,
    admin,
    bp,
    commit_use,
    need,
    organization,
)
from portfolio.core.security import public
from portfolio.extensions import db


@bp.get("/organizations/<slug>/members")
@bp.response(200, s.MemberOut(many=True))
@public
def list_members(slug: str) -> list[Membership]:
    """Members and their roles (admins)."""
    need("read")
    org = organization(slug)
    admin(org)
    return list(
        db.session.scalars(
            select(Membership)
            .join(User)
            .options(selectinload(Membership.user))
            .where(Membership.organization_id == org.id)
            .order_by(User.display_name, Membership.role)
        )
    )


@bp.get("/organizations/<slug>/invitations")
@bp.response(200, s.InvitationOut(many=True))
@public
def list_invitations(slug: str) -> list[Invitation]:
    """Open invitations (admins)."""
    need("read")
    org = organization(slug)
    admin(org)
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.organization_id == org.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


@bp.post("/organizations/<slug>/invitations")
@bp.arguments(s.InvitationIn)
@bp.response(201, s.InvitationOut)
@public
def create_invitation(data: dict[str, Any], slug: str) -> Invitation:
    """Invite someone with a role; the invitation is mailed (admins)."""
    need("members:write")
    org = organization(slug)
    admin(org)
    invitation, _ = registration.invite(actor(), org, data["email"], Role(data["role"]))
    commit_use("membership.invite", "invitation", invitation.public_id)
    return invitation
