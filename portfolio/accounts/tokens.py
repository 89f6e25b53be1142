"""API tokens: personal tokens that act as their owner, organization tokens that act as their
creator inside one organization only. Shown once, stored as a SHA-256 digest, revocable, with
scopes, an expiry and the time of last use. Every action on a token is audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.accounts.models import Organization, Role, User
from portfolio.core import audit
from portfolio.core.db import TimestampMixin, UTCDateTime, utcnow
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.ids import is_public_id, new_public_id
from portfolio.core.sanitize import clean_text
from portfolio.extensions import db

#: What a token may do. Reading is a scope too, so a write-only token can be made.
SCOPES: dict[str, str] = {
    "read": "Read organizations, frameworks, credentials, submissions, awards, members, reports",
    "credentials:write": "Create, change, publish and archive credentials",
    "frameworks:write": "Import frameworks (CASE)",
    "awards:write": "Revoke awards, award in bulk without assessment",
    "members:write": "Invite members",
    "evidence:write": "Upload evidence to your own library",
}

#: Every token starts with this, so secret scanners and people recognise a leaked one.
TOKEN_PREFIX = "pft_"  # noqa: S105 - a marker, not a secret
#: The longest a token may live; the form offers shorter ones.
MAX_LIFETIME_DAYS = 366


class TokenKind(StrEnum):
    PERSONAL = "personal"
    ORGANIZATION = "organization"


def token_digest(raw: str) -> str:
    """Hex SHA-256 of a presented token. 256 random bits need no slow hash: nobody can guess
    them from the digest, and a fast digest keeps every API request cheap."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """A bearer token for the JSON API."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    #: The owner (personal) or the admin who made it (organization): the token acts as this user.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: Organization tokens reach this organization only; null for personal tokens.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[TokenKind] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    #: Hex SHA-256 of the token; the token itself is never stored.
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    #: First characters of the token, shown in lists so people can tell tokens apart.
    hint: Mapped[str] = mapped_column(String(16), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    organization: Mapped[Organization | None] = relationship()

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or utcnow())

    def status(self, now: datetime | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.expires_at > (now or utcnow()) else "expired"


def _clean_scopes(scopes: list[str]) -> list[str]:
    chosen = sorted(set(scopes))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise DomainError(f"Unknown scope: {', '.join(unknown)}.")
    if not chosen:
        raise DomainError("Choose at least one scope.")
    return chosen


def create_token(
    actor: User,
    name: str,
    scopes: list[str],
    days: int,
    organization: Organization | None = None,
) -> tuple[ApiToken, str]:
    """Make a token and return it with its secret, which is shown once and never again.
    Organization tokens are made by the organization's admins."""
    name = clean_text(name, 100)
    if not name:
        raise DomainError("Give the token a name that says where it is used.")
    if not 1 <= days <= MAX_LIFETIME_DAYS:
        raise DomainError(f"A token lives between 1 and {MAX_LIFETIME_DAYS} days.")
    if organization is not None and not actor.has_role(organization.id, Role.ADMIN):
        raise NotFound("No such organization.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=actor.id,
        organization_id=organization.id if organization else None,
        kind=TokenKind.ORGANIZATION if organization else TokenKind.PERSONAL,
        name=name,
        scopes=_clean_scopes(scopes),
        token_sha256=token_digest(raw),
        hint=raw[: len(TOKEN_PREFIX) + 4],
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "token.create",
        actor_id=actor.id,
        organization_id=token.organization_id,
        subject_type="api_token",
        subject_id=token.public_id,
        kind=str(token.kind),
        scopes=token.scopes,
        expires_at=token.expires_at.isoformat(),
    )
    return token, raw


def personal_tokens(user: User) -> list[ApiToken]:
    """The user's own personal tokens, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.kind == TokenKind.PERSONAL)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def organization_tokens(admin: User, org: Organization) -> list[ApiToken]:
    """The organization's tokens, newest first (admins only)."""
    if not admin.has_role(org.id, Role.ADMIN):
        raise NotFound("No such organization.")
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.organization_id == org.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def get_manageable_token(actor: User, public_id: str) -> ApiToken:
    """A token the actor may revoke: their own personal token, or an organization token of an
    organization they administer. Anything else answers as not found."""
    token = None
    if is_public_id(public_id):
        token = db.session.scalar(select(ApiToken).where(ApiToken.public_id == public_id))
    if token is None:
        raise NotFound("No such token.")
    if token.organization_id is not None:
        if not actor.has_role(token.organization_id, Role.ADMIN):
            raise NotFound("No such token.")
    elif token.user_id != actor.id:
        raise NotFound("No such token.")
    return token


def revoke_token(actor: User, token: ApiToken) -> None:
    """Revoke a token at once; further requests with it are refused. Audited."""
    if token.revoked_at is not None:
        raise DomainError("This token is already revoked.")
    token.revoked_at = utcnow()
    audit.record(
        "token.revoke",
        actor_id=actor.id,
        organization_id=token.organization_id,
        subject_type="api_token",
        subject_id=token.public_id,
    )


def authenticate_token(raw: str) -> ApiToken | None:
    """The usable token with this secret, its last use stamped; None for anything else
    (unknown, revoked, expired, or its user's account closed)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_digest(raw)))
    now = utcnow()
    if token is None or not token.is_usable(now) or not token.user.is_active_account:
        return None
    # Stamped at most once a minute, so a busy integration does not write on every request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        token.last_used_at = now
    return token


def record_token_use(token: ApiToken, operation: str, subject_type: str, subject_id: str) -> None:
    """Audit a change made through the API, naming the token that made it."""
    audit.record(
        f"api.{operation}",
        actor_id=token.user_id,
        organization_id=token.organization_id,
        subject_type=subject_type,
        subject_id=subject_id,
        token=token.public_id,
    )
