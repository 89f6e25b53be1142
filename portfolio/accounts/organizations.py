"""Organizations, their memberships and roles: loading an organization for a page, role checks,
creating and editing organizations, adding and removing members, the logo."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select

from portfolio.accounts.models import (
    Membership,
    Organization,
    Role,
    User,
)
from portfolio.accounts.sign_in import normalize_email, rotate_session
from portfolio.core import audit
from portfolio.core.db import lock_row
from portfolio.core.errors import Conflict, DomainError, Forbidden, NotFound
from portfolio.core.sanitize import clean_text
from portfolio.extensions import db

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


# -- organizations -----------------------------------------------------------------------
def get_organization(slug: str) -> Organization:
    """The organization with this slug, or `NotFound`."""
    org = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound("No such organization.")
    return org


def admin_org(user: User, slug: str, *, hidden: bool = False) -> Organization:
    """The organization with this slug, if `user` is one of its admins (`NotFound` or
    `Forbidden` otherwise): how every admin page loads its organization. With `hidden`, a
    non-admin gets `NotFound` too: pages holding secrets (API tokens, webhook endpoints) do not
    even say that they exist."""
    org = get_organization(slug)
    if hidden and not user.has_role(org.id, Role.ADMIN):
        raise NotFound("No such organization.")
    require_role(user, org, Role.ADMIN)
    return org


def require_role(user: User, org: Organization, *roles: Role) -> None:
    """Raise `Forbidden` unless the user holds one of `roles` in `org`."""
    if not user.has_role(org.id, *roles):
        raise Forbidden("You do not have the role needed for this page in this organization.")


def create_organization(
    name: str,
    slug: str,
    *,
    email: str = "",
    url: str = "",
    description: str = "",
    allows_self_registration: bool = False,
) -> Organization:
    """Create an issuing organization."""
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise DomainError("The short name may use lower-case letters, digits and dashes only.")
    if db.session.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        raise Conflict(f"The short name {slug!r} is taken.")
    org = Organization(
        name=clean_text(name, 200),
        slug=slug,
        email=normalize_email(email),
        url=url.strip(),
        description=description.strip(),
        allows_self_registration=allows_self_registration,
    )
    db.session.add(org)
    db.session.flush()
    return org


def update_organization(actor: User, org: Organization, **fields: object) -> None:
    """Change an organization's profile (admins only)."""
    require_role(actor, org, Role.ADMIN)
    names = ("name", "url", "email", "description", "allows_self_registration")
    for name in (*names, "linkedin_organization_id"):
        if name in fields:
            value = fields[name]
            if name == "name":
                value = clean_text(str(value), 200)
            elif name == "email":
                value = normalize_email(str(value))
            elif name == "linkedin_organization_id":
                value = str(value or "").strip() or None
                if value is not None and not (value.isascii() and value.isdigit()):
                    raise DomainError("The LinkedIn organization id is a number.")
                if value is not None and len(value) > 20:
                    raise DomainError("The LinkedIn organization id is at most 20 digits.")
            setattr(org, name, value)
    audit.record(
        "organization.update",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="organization",
        subject_id=org.public_id,
    )


def add_membership(
    user: User, org: Organization, role: Role, *, actor: User | None = None
) -> Membership:
    """Give a user a role in an organization (no-op if they already hold it)."""
    for m in user.memberships:
        if m.organization_id == org.id and m.role == role:
            return m
    membership = Membership(user=user, organization=org, role=role)
    db.session.add(membership)
    user.memberships.append(membership)
    # Privileges changed: rotate the session id so an old cookie cannot ride on the new role.
    if actor is not None and role != Role.LEARNER:
        rotate_session(user)
    db.session.flush()
    audit.record(
        "membership.add",
        actor_id=actor.id if actor else user.id,
        organization_id=org.id,
        subject_type="user",
        subject_id=user.public_id,
        role=str(role),
    )
    return membership


def _other_admins(org_id: int, excluding_user_id: int) -> int:
    """Admins of the organization other than `excluding_user_id`, counted after locking the
    organization's row."""
    lock_row(db.session, Organization.__table__, org_id)
    count = db.session.scalar(
        select(func.count(func.distinct(Membership.user_id))).where(
            Membership.organization_id == org_id,
            Membership.role == Role.ADMIN,
            Membership.user_id != excluding_user_id,
        )
    )
    return int(count or 0)


def ensure_admins_remain(user: User) -> None:
    """Refuse to delete an account that is the last admin of an organization (the same rule
    as `remove_membership`, for account deletion)."""
    for org in user.organizations_with(Role.ADMIN):
        if _other_admins(org.id, user.id) == 0:
            raise Conflict(
                f"You are the only admin of {org.name}. Make someone else an admin there first."
            )


def remove_membership(actor: User, org: Organization, membership: Membership) -> None:
    """Take a role away (admins only); an organization always keeps at least one admin.

    The check and the delete run under a lock on the organization's row (PostgreSQL row lock,
    SQLite's database write lock), so two admins removing each other at the same moment are
    decided one after the other: the second sees that only one admin is left and is refused."""
    require_role(actor, org, Role.ADMIN)
    if membership.organization_id != org.id:
        raise NotFound("No such member.")
    if membership.role == Role.ADMIN and _other_admins(org.id, membership.user_id) == 0:
        raise Conflict("An organization needs at least one admin.")
    # The actor may have lost the admin role while waiting for the lock.
    still_admin = db.session.scalar(
        select(Membership.id).where(
            Membership.organization_id == org.id,
            Membership.user_id == actor.id,
            Membership.role == Role.ADMIN,
        )
    )
    if still_admin is None:
        raise Forbidden("You are no longer an admin of this organization.")
    gone = db.session.execute(
        delete(Membership)
        .where(Membership.id == membership.id)
        .execution_options(synchronize_session=False)
    )
    if gone.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("This role was removed already.")
    user = membership.user
    role = membership.role
    db.session.expire(user, ["memberships"])
    rotate_session(user)
    audit.record(
        "membership.remove",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="user",
        subject_id=user.public_id,
        role=str(role),
    )


# -- logo --------------------------------------------------------------------------------
LOGO_TYPES = {"image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp"}
MAX_LOGO_BYTES = 2 * 1024 * 1024


def set_organization_logo(actor: User, org: Organization, data: bytes) -> None:
    """Store a new logo after checking its content (not its name) is a PNG, JPEG or WebP."""
    import magic

    from portfolio.storage import delete_after_commit, get_storage, new_object_key

    require_role(actor, org, Role.ADMIN)
    if not data:
        raise DomainError("The logo file is empty.")
    if len(data) > MAX_LOGO_BYTES:
        raise DomainError("The logo is larger than 2 MB.")
    detected = magic.from_buffer(data[:8192], mime=True)
    if detected not in LOGO_TYPES:
        raise DomainError(f"The logo must be a PNG, JPEG or WebP image; this file is {detected}.")
    from portfolio.core.images import check_image_header

    # Every visitor's browser decodes the logo: refuse a decompression bomb by its header.
    if not check_image_header(data, what="The logo"):
        raise DomainError("The logo image is damaged; save it again and upload the copy.")
    import io

    storage = get_storage()
    key = new_object_key(f"logos/{org.public_id}")
    storage.put(key, io.BytesIO(data), detected)
    old_key = org.logo_key
    org.logo_key, org.logo_content_type = key, detected
    audit.record(
        "organization.logo",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="organization",
        subject_id=org.public_id,
    )
    if old_key:
        delete_after_commit([old_key])
