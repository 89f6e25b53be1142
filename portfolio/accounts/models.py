"""Users, organizations, memberships, invitations and single sign-on (OpenID Connect)."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portfolio.core.db import TimestampMixin, UTCDateTime
from portfolio.core.ids import new_public_id
from portfolio.core.urls import clean_http_url
from portfolio.extensions import db


class Role(StrEnum):
    """What a member may do in an organization."""

    LEARNER = "learner"
    ASSESSOR = "assessor"
    ADMIN = "admin"
    #: Decides when double markers disagree.
    MODERATOR = "moderator"
    #: Internal verifier (IQA): checks a sample of decisions.
    INTERNAL_VERIFIER = "verifier"


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """A person with a login."""

    __tablename__ = "users"
    #: The members list pages by name: read in name order, it stops after one page.
    __table_args__ = (Index("ix_users_display_name", "display_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    #: Stored lower-cased, so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(120), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    #: Part of the login cookie; changing it signs the user out everywhere.
    session_token: Mapped[str] = mapped_column(
        String(64), unique=True, default=new_session_token, nullable=False
    )
    #: No longer written: wrong passwords are now counted per client and account in the rate
    #: limit store (see `accounts.sign_in.authenticate`). Kept until a migration drops them.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the owner of the address proved it by opening the emailed link (or an invitation
    #: or reset link, which went to the same address). Until then a self-registered account
    #: may not submit work, receive a badge or accept an invitation, and it does not hold the
    #: address: registering again with it replaces the unconfirmed account.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    #: Loaded when first used (the signed-in user's navigation), not with every user a page
    #: lists (queue rows, badge recipients).
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    # -- Flask-Login ---------------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The session token, not the primary key: rotating it ends every session."""
        return self.session_token

    # -- roles ---------------------------------------------------------------------------
    def roles_in(self, organization_id: int) -> set[Role]:
        """The roles this user holds in one organization."""
        return {m.role for m in self.memberships if m.organization_id == organization_id}

    def has_role(self, organization_id: int, *roles: Role) -> bool:
        """True when the user holds any of `roles` in the organization."""
        return bool(self.roles_in(organization_id) & set(roles))

    def organizations_with(self, *roles: Role) -> list[Organization]:
        """Organizations where the user holds any of `roles`, by name."""
        orgs = {m.organization.id: m.organization for m in self.memberships if m.role in roles}
        return sorted(orgs.values(), key=lambda o: o.name.lower())


class Organization(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """An issuing organization (Open Badges Issuer Profile)."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    #: Short URL name, e.g. `acme-welding`.
    slug: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    url: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Storage key of the logo (PNG/JPEG/WebP checked by content), if any.
    logo_key: Mapped[str | None] = mapped_column(String(512))
    logo_content_type: Mapped[str | None] = mapped_column(String(100))
    #: Learners may create their own account in this organization.
    allows_self_registration: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    #: LinkedIn's numeric id of the organization's company page: "Add to LinkedIn" links name
    #: it (`organizationId`), so the certification shows the company's logo and links to it.
    linkedin_organization_id: Mapped[str | None] = mapped_column(String(20))

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )

    @validates("url")
    def _check_url(self, _key: str, value: str | None) -> str | None:
        # Shown as a link (and written into badges): http(s) only, never javascript: or data:,
        # whether it comes from a form, a service or an import.
        return None if value is None else clean_http_url(value, what="The website")


class Membership(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """One role of one user in one organization. A user may hold several roles."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "organization_id", "role", name="uq_memberships_user_org_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(String(16), nullable=False)

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(back_populates="memberships", lazy="joined")


class Invitation(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """An emailed invitation to join an organization with a role. Used at most once."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    role: Mapped[Role] = mapped_column(String(16), nullable=False)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship(lazy="joined")


class SsoConfiguration(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """An organization's OpenID Provider: members sign in through it with the
    authorization-code flow (PKCE), and people it vouches for join just in time."""

    __tablename__ = "sso_configurations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    #: The provider's issuer identifier; its metadata is read from
    #: `<issuer>/.well-known/openid-configuration`, and ID tokens must name it as `iss`.
    issuer: Mapped[str] = mapped_column(String(500), nullable=False)
    client_id: Mapped[str] = mapped_column(String(255), nullable=False)
    #: The client secret, encrypted (AES-GCM, key derived from SIGNING_KEY_SECRET); never shown.
    client_secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: The words after "Sign in with" on the sign-in page.
    button_label: Mapped[str] = mapped_column(String(80), nullable=False)
    #: The role given to someone the provider signs in who holds no role here yet.
    default_role: Mapped[Role] = mapped_column(String(16), nullable=False, default=Role.LEARNER)
    #: Lower-case email domains the provider may vouch for; empty: any domain.
    allowed_domains: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    #: Members must sign in through the provider; admins keep their password (break-glass).
    is_password_sign_in_disabled: Mapped[bool] = mapped_column(
        Boolean, default=False, nullable=False
    )

    organization: Mapped[Organization] = relationship(lazy="joined")


class SsoIdentity(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """One account at an OpenID Provider, linked to one user: (issuer, subject) is the
    provider's stable name for the person, whatever their email becomes."""

    __tablename__ = "sso_identities"
    __table_args__ = (
        UniqueConstraint("issuer", "subject", name="uq_sso_identities_issuer_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: The organization whose provider linked it.
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(500), nullable=False)
    #: The ID token's `sub`.
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    #: The verified address the provider gave when the identity was linked.
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
