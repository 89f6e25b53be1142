"""The members page of an organization: its memberships in keyset pages and its open
invitations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from portfolio.accounts.models import (
    Invitation,
    Membership,
    Organization,
    Role,
    User,
)
from portfolio.accounts.organizations import require_role
from portfolio.core import paging
from portfolio.extensions import db

#: Rows per page of an organization's members list.
MEMBERS_PAGE_SIZE = 50

#: Cursors of the members list carry a display name: no longer than the column.
_decode_member_cursor = paging.text_cursor_decoder(120)


def members_page(
    admin: User,
    org: Organization,
    after: str | None = None,
    before: str | None = None,
    limit: int = MEMBERS_PAGE_SIZE,
) -> paging.Page[Membership]:
    """One page of the organization's memberships by display name (admins only), in keyset
    pages on (display name, membership id): one statement per page whatever the size."""
    require_role(admin, org, Role.ADMIN)
    query = (
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .options(contains_eager(Membership.user))
        .where(Membership.organization_id == org.id)
    )
    return paging.keyset_page(
        query,
        key=User.display_name,
        ident=Membership.id,
        row_key=lambda m: (m.user.display_name, m.id),
        decode=_decode_member_cursor,
        descending=False,
        after=after,
        before=before,
        limit=limit,
    )


def open_invitations(admin: User, org: Organization) -> list[Invitation]:
    """Invitations of the organization not yet accepted nor revoked, newest first."""
    require_role(admin, org, Role.ADMIN)
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.organization_id == org.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Invitation.created_at.desc())
        )
    )
