"""Account rules: registration, login with lockout, passwords, organizations, invitations."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from limits import RateLimitItem
from limits import parse as parse_limit
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from portfolio.accounts.models import (
    Invitation,
    Membership,
    Organization,
    Role,
    SsoConfiguration,
    SsoIdentity,
    User,
    new_session_token,
)
from portfolio.accounts.signals import account_deleted, address_confirmed
from portfolio.core import audit, mail, paging
from portfolio.core.db import lock_row, utcnow
from portfolio.core.errors import Conflict, DomainError, Forbidden, NotFound
from portfolio.core.mail import send_mail
from portfolio.core.sanitize import clean_text
from portfolio.core.urls import public_url
from portfolio.extensions import db, limiter

#: Argon2id with the library's current recommended parameters.
_STRONG_HASHER = PasswordHasher()
#: Only for APP_ENV=testing: the same algorithm with minimal cost, so a test suite that creates
#: hundreds of accounts does not spend minutes hashing. Never used in development or production.
_TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class SignInRefused(DomainError):
    """A sign-in was refused. What the attempt changed (the failure count, a lock and its
    mail) is kept: the request commits even though it answers with this error."""

    keeps_changes = True


def _hasher() -> PasswordHasher:
    if current_app and current_app.config["PORTFOLIO"].env == "testing":
        return _TEST_HASHER
    return _STRONG_HASHER


MIN_PASSWORD_LENGTH = 10
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class InvalidToken(DomainError):
    """An emailed link that is forged, expired or already used."""


# -- passwords ---------------------------------------------------------------------------
def normalize_email(email: str) -> str:
    """Emails compare case-insensitively: store them trimmed and lower-cased."""
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher().hash(password)


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")


def verify_password(user: User, password: str) -> bool:
    """Check a password; upgrade the hash when the parameters have changed."""
    try:
        _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    return True


# -- users -------------------------------------------------------------------------------
def find_user_by_email(email: str) -> User | None:
    """The user with this email, whatever its case."""
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(email: str, display_name: str, password: str, *, confirmed: bool = True) -> User:
    """Create an account. Raises `Conflict` when the email is taken (in any case).

    `confirmed` says the address is known to belong to the person (an invitation mailed to it,
    an admin creating the account); self-registration passes False and mails a link."""
    email = normalize_email(email)
    check_password_strength(password)
    if find_user_by_email(email) is not None:
        raise Conflict("An account with this email already exists. Sign in or reset your password.")
    user = User(
        email=email,
        display_name=clean_text(display_name, 120) or email,
        password_hash=hash_password(password),
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        db.session.rollback()
        raise Conflict("An account with this email already exists.") from exc
    audit.record("account.create", actor_id=user.id, subject_type="user", subject_id=user.public_id)
    if confirmed:
        _announce_confirmed(user)
    return user


def _announce_confirmed(user: User) -> None:
    address_confirmed.send(current_app._get_current_object(), user=user)  # type: ignore[attr-defined]


#: Wrong passwords one client may try on one account per window before that client is paused
#: for that account. Other clients, and the owner with a new password, are not affected.
MAX_FAILED_LOGINS = 5
LOGIN_FAILURE_WINDOW = "5 per 15 minutes"
#: At most one "sign-in paused" mail per account per window, however many clients trip it.
_LOCK_MAIL_WINDOW = "1 per 15 minutes"


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of nothing anyone knows, checked when there is no real one to check."""
    return hasher.hash(secrets.token_urlsafe(16))


def _login_failure_limit() -> RateLimitItem:
    return parse_limit(LOGIN_FAILURE_WINDOW)


def _throttle_key(user: User | None, email: str) -> str:
    # The password fingerprint is part of the key: a reset (or change) of the password starts
    # from zero, so a reset link always gets the owner back in. Unknown addresses are counted
    # too, so the pause cannot tell them apart from real accounts.
    if user is None:
        return "email:" + hashlib.sha256(normalize_email(email).encode()).hexdigest()[:32]
    return f"user:{user.public_id}:{_password_fingerprint(user)}"


def authenticate(email: str, password: str, *, client: str = "") -> User:
    """The user for these credentials, or a `DomainError` that does not reveal which part
    was wrong. Too many failures from one client pause that client's attempts on the account.

    Every path checks exactly one password hash (the account's, or a dummy one for an unknown
    address or a paused client), so the time taken does not tell them apart.
    """
    limiter_ = limiter.limiter
    user = find_user_by_email(email)
    # The same words for an unknown address, a wrong password and a paused client, so the
    # answer never tells whether an account exists; the pause itself is announced by email.
    generic = SignInRefused(
        "Wrong email or password. After several failed attempts from one device, sign-in to an "
        "account pauses there for 15 minutes; resetting the password ends the pause."
    )
    limit = _login_failure_limit()
    key = ("login-failures", client or "-", _throttle_key(user, email))
    paused = not limiter_.test(limit, *key)
    if user is None or paused:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher().verify(_dummy_hash(_hasher()), password)
        if not paused:
            limiter_.hit(limit, *key)
        raise generic
    if not verify_password(user, password):
        limiter_.hit(limit, *key)
        if not limiter_.test(limit, *key):
            _announce_pause(user)
        raise generic  # keeps what was recorded (audit, the pause mail): the caller commits
    if not user.is_active_account:
        raise DomainError("This account has been disabled. Contact your organization's admin.")
    limiter_.clear(limit, *key)
    # Checked after the password, so the answer tells nothing to someone who does not know it.
    sso_only, break_glass = _sso_only_organizations(user)
    if sso_only:
        config = sso_only[0]
        audit.record(
            "account.login_refused",
            actor_id=user.id,
            organization_id=config.organization_id,
            subject_type="user",
            subject_id=user.public_id,
            reason="password sign-in disabled",
        )
        raise SignInRefused(
            f"{config.organization.name} signs its members in with single sign-on: choose "
            f"“Sign in with {config.button_label}” on this page instead of your password."
        )
    user.last_login_at = utcnow()
    extra: dict[str, Any] = {}
    if break_glass:  # an admin's password where members must use single sign-on
        extra["break_glass"] = [c.organization.slug for c in break_glass]
    audit.record(
        "account.login",
        actor_id=user.id,
        subject_type="user",
        subject_id=user.public_id,
        **extra,
    )
    return user


def _sso_only_organizations(user: User) -> tuple[list[SsoConfiguration], list[SsoConfiguration]]:
    """The providers of the user's organizations that switched password sign-in off: those that
    refuse this user's password, and those where the user is an admin and so keeps it.

    Break-glass: an organization's admins may still sign in with their password, so that a
    provider that is down or misconfigured never locks the organization out of its own
    settings (every such sign-in is audited with `break_glass`). Everybody else must use the
    provider."""
    org_ids = {m.organization_id for m in user.memberships}
    if not org_ids:
        return [], []
    configs = db.session.scalars(
        select(SsoConfiguration).where(
            SsoConfiguration.organization_id.in_(org_ids),
            SsoConfiguration.is_enabled.is_(True),
            SsoConfiguration.is_password_sign_in_disabled.is_(True),
        )
    ).all()
    refused = [c for c in configs if not user.has_role(c.organization_id, Role.ADMIN)]
    kept = [c for c in configs if user.has_role(c.organization_id, Role.ADMIN)]
    return refused, kept


def _announce_pause(user: User) -> None:
    """Audit a paused client and tell the owner, at most once per window."""
    audit.record("account.locked", actor_id=user.id, subject_type="user", subject_id=user.public_id)
    if limiter.limiter.hit(parse_limit(_LOCK_MAIL_WINDOW), "login-pause-mail", user.public_id):
        send_mail(
            user.email,
            "Sign-in to your Portfolio account is paused",
            f"Hello {user.display_name},\n\nAfter {MAX_FAILED_LOGINS} failed sign-in attempts "
            "from one device, sign-in to your account from that device is paused for 15 "
            "minutes. You can still sign in from your own devices. If this was not you, reset "
            "your password: the reset ends every pause.\n",
        )


def rotate_session(user: User) -> None:
    """Invalidate every existing session of the user (used on password and role changes)."""
    user.session_token = new_session_token()


def change_password(user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; signs out other sessions."""
    if not verify_password(user, current):
        raise DomainError("Your current password is not correct.")
    check_password_strength(new)
    user.password_hash = hash_password(new)
    rotate_session(user)
    audit.record(
        "account.password_change", actor_id=user.id, subject_type="user", subject_id=user.public_id
    )


# -- signed tokens -----------------------------------------------------------------------
def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_fingerprint(user: User) -> str:
    # Bound into reset tokens: once the password changes, the token no longer matches.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    """A signed reset token, valid until it expires or the password changes."""
    return _serializer("password-reset").dumps(
        {"u": user.public_id, "f": _password_fingerprint(user)}
    )


def request_password_reset(email: str) -> None:
    """Email a reset link if the account exists; says nothing either way."""
    user = find_user_by_email(email)
    if user is None or not user.is_active_account:
        return
    link = public_url("accounts.reset_password", token=make_reset_token(user))
    minutes = current_app.config["PORTFOLIO"].reset_max_age_seconds // 60
    send_mail(
        user.email,
        "Reset your Portfolio password",
        f"Hello {user.display_name},\n\nOpen this link within {minutes} minutes to choose a "
        f"new password:\n\n{link}\n\nIf you did not ask for this, ignore this message.\n",
    )


def user_for_reset_token(token: str) -> User:
    """The user a reset token belongs to; raises `InvalidToken` when forged, expired or used."""
    max_age = current_app.config["PORTFOLIO"].reset_max_age_seconds
    try:
        data = _serializer("password-reset").loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidToken("This reset link has expired. Ask for a new one.") from exc
    except BadSignature as exc:
        raise InvalidToken("This reset link is not valid. Ask for a new one.") from exc
    user = db.session.scalar(select(User).where(User.public_id == data.get("u")))
    if user is None or data.get("f") != _password_fingerprint(user):
        raise InvalidToken("This reset link has already been used. Ask for a new one.")
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset token. The token works once."""
    user = user_for_reset_token(token)
    check_password_strength(new_password)
    # The new hash changes the sign-in throttle's key: every pause on the account ends here.
    user.password_hash = hash_password(new_password)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()  # the reset link went to the address: it is theirs
    rotate_session(user)
    audit.record(
        "account.password_reset", actor_id=user.id, subject_type="user", subject_id=user.public_id
    )
    return user


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


def self_register(org: Organization, email: str, display_name: str, password: str) -> User:
    """A learner creates an account in an organization that allows it. The address is not
    confirmed yet: a signed, expiring link is mailed to it (after commit, by the caller
    through `send_confirmation`).

    Anybody can type anybody's address, so an unconfirmed account never holds it: registering
    again with the same address removes the unconfirmed account (with whatever it held) and
    starts over, so the real owner is never locked out of their own address."""
    if not org.allows_self_registration:
        raise Forbidden("This organization registers people by invitation only.")
    existing = find_user_by_email(email)
    if existing is not None and not existing.is_email_confirmed:
        check_password_strength(password)
        _remove_unconfirmed(existing, reason="registered again")
    user = create_user(email, display_name, password, confirmed=False)
    add_membership(user, org, Role.LEARNER)
    return user


def _remove_unconfirmed(user: User, *, reason: str) -> None:
    audit.record(
        "account.unconfirmed_removed",
        actor_id=None,
        subject_type="user",
        subject_id=user.public_id,
        reason=reason,
    )
    db.session.delete(user)
    db.session.flush()


# -- email confirmation ------------------------------------------------------------------
def _confirmation_max_age() -> int:
    return int(current_app.config["PORTFOLIO"].email_confirmation_max_age_seconds)


def make_confirmation_token(user: User) -> str:
    """A signed token for one account and one address; expires after
    EMAIL_CONFIRMATION_MAX_AGE_SECONDS."""
    return _serializer("email-confirmation").dumps({"u": user.public_id, "e": user.email})


def send_confirmation(user: User) -> str:
    """Mail the confirmation link (absolute, under PUBLIC_BASE_URL); returns it."""
    link = public_url("accounts.confirm_email", token=make_confirmation_token(user))
    hours = _confirmation_max_age() // 3600
    send_mail(
        user.email,
        "Confirm your email address for Portfolio",
        f"Hello {user.display_name},\n\nOpen this link within {hours} hours to confirm that "
        f"this address is yours:\n\n{link}\n\nUntil then you cannot submit work for "
        "assessment or receive badges. If you did not register, ignore this message: the "
        "account is removed when the link expires.\n",
    )
    return link


def confirm_email(token: str) -> User:
    """Mark the address of the token's account as confirmed; raises `InvalidToken`."""
    try:
        data = _serializer("email-confirmation").loads(token, max_age=_confirmation_max_age())
    except SignatureExpired as exc:
        raise InvalidToken(
            "This confirmation link has expired. Register again with the same address."
        ) from exc
    except BadSignature as exc:
        raise InvalidToken("This confirmation link is not valid.") from exc
    user = db.session.scalar(select(User).where(User.public_id == data.get("u")))
    if user is None or user.email != data.get("e"):
        raise InvalidToken(
            "This confirmation link belongs to a registration that no longer exists. "
            "Register again with the same address."
        )
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        audit.record(
            "account.email_confirmed",
            actor_id=user.id,
            subject_type="user",
            subject_id=user.public_id,
        )
        _announce_confirmed(user)
    return user


def require_confirmed_email(user: User, action: str) -> None:
    """Raise `Forbidden` unless the user's address is confirmed; `action` says what waits."""
    if not user.is_email_confirmed:
        raise Forbidden(
            f"Confirm your email address before you {action}: open the link we sent to "
            f"{user.email} (you can ask for a new one on your dashboard)."
        )


def purge_unconfirmed_accounts(*, now: datetime | None = None) -> int:
    """Delete self-registered accounts whose confirmation link has expired unused. Returns how
    many (run from cron with `flask accounts purge-unconfirmed`)."""
    cutoff = (now or utcnow()) - timedelta(seconds=_confirmation_max_age())
    stale = list(
        db.session.scalars(
            select(User).where(User.email_confirmed_at.is_(None), User.created_at < cutoff)
        )
    )
    for user in stale:
        _remove_unconfirmed(user, reason="confirmation expired")
    return len(stale)


# -- invitations -------------------------------------------------------------------------
def invite(
    actor: User, org: Organization, email: str, role: Role, *, note: str = ""
) -> tuple[Invitation, str]:
    """Invite someone by email with a role (admins only). Returns the invitation and its link.
    `note` is a paragraph added to the mail (why they are invited, e.g. a badge to claim)."""
    require_role(actor, org, Role.ADMIN)
    email = normalize_email(email)
    existing = find_user_by_email(email)
    if existing is not None and existing.has_role(org.id, role):
        raise Conflict(f"{email} already has the {role} role here.")
    invitation = Invitation(organization_id=org.id, email=email, role=role, invited_by_id=actor.id)
    db.session.add(invitation)
    db.session.flush()
    token = _serializer("invitation").dumps({"i": invitation.public_id})
    link = public_url("accounts.accept_invitation", token=token)
    days = current_app.config["PORTFOLIO"].invitation_max_age_seconds // 86400
    send_mail(
        email,
        f"You are invited to {org.name} on Portfolio",
        f"{actor.display_name} invited you to join {org.name} as {role}.\n\n"
        + (f"{note}\n\n" if note else "")
        + f"Accept within {days} days:\n\n{link}\n",
    )
    audit.record(
        "membership.invite",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="invitation",
        subject_id=invitation.public_id,
        email=email,
        role=str(role),
    )
    return invitation, link


def invitation_for_token(token: str) -> Invitation:
    """The open invitation behind a token; raises `InvalidToken` if forged, expired or used."""
    max_age = current_app.config["PORTFOLIO"].invitation_max_age_seconds
    try:
        data = _serializer("invitation").loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidToken("This invitation has expired. Ask the admin for a new one.") from exc
    except BadSignature as exc:
        raise InvalidToken("This invitation link is not valid.") from exc
    invitation = db.session.scalar(select(Invitation).where(Invitation.public_id == data.get("i")))
    if invitation is None or invitation.revoked_at is not None:
        raise InvalidToken("This invitation has been withdrawn.")
    if invitation.accepted_at is not None:
        raise InvalidToken("This invitation has already been used. Sign in instead.")
    return invitation


def accept_invitation(
    token: str, *, user: User | None, display_name: str = "", password: str = ""
) -> User:
    """Join through an invitation: as the signed-in user, or by creating the invited account."""
    invitation = invitation_for_token(token)
    if user is None:
        existing = find_user_by_email(invitation.email)
        if existing is not None and not existing.is_email_confirmed:
            # Whoever opens the invitation controls the mailbox: the unconfirmed registration
            # (perhaps by somebody else) gives way to the invited account.
            _remove_unconfirmed(existing, reason="invited")
            existing = None
        if existing is not None:
            raise DomainError(
                "An account with this email exists: sign in first, then open the "
                "invitation link again."
            )
        user = create_user(invitation.email, display_name, password)
    elif user.email != invitation.email:
        raise Forbidden(
            f"This invitation was sent to {invitation.email}. Sign in with that "
            "account to accept it."
        )
    elif not user.is_email_confirmed:
        # The invitation link proves the address only to whoever holds it; an account that
        # someone else registered with the address must not collect the invited role.
        require_confirmed_email(user, "accept an invitation")
    add_membership(user, invitation.organization, invitation.role)
    rotate_session(user)
    invitation.accepted_at = utcnow()
    audit.record(
        "membership.accept",
        actor_id=user.id,
        organization_id=invitation.organization_id,
        subject_type="invitation",
        subject_id=invitation.public_id,
    )
    return user


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


# -- account deletion ------------------------------------------------------------------------
#: Shown instead of the name of a deleted account (the credential's recipient stays hashed).
DELETED_NAME = "Former member (account deleted)"


def _forget_account_data(user: User, tombstone_email: str) -> dict[str, int]:
    """This domain's part of deleting an account: invitations to the address keep their history
    under the tombstone address; the account's API tokens go (they act as the account); the
    audit trail forgets the email, the name and what the person titled (`audit.forget_person`)."""
    from portfolio.accounts.tokens import ApiToken

    invitations = db.session.execute(
        update(Invitation)
        .where(Invitation.email == user.email)
        .values(email=tombstone_email)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    tokens = db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount  # type: ignore[attr-defined]
    events = audit.forget_person(actor_id=user.id, values=[user.email, user.display_name])
    return {"invitations_tombstoned": invitations, "api_tokens": tokens, "audit_events": events}


def delete_account(user: User, password: str) -> dict[str, int]:
    """Delete a worker's account after the password is confirmed. Every domain removes its own
    data through a receiver of `account_deleted` (private evidence and files go; issued
    credentials stay verifiable, their evidence answering "withdrawn by the earner"); here the
    memberships go and the user row is anonymized. Stored objects are deleted after commit.
    Returns what was removed."""
    from flask import current_app

    from portfolio.core.ids import new_public_id

    if not verify_password(user, password):
        raise DomainError("That password is not right; your account was not deleted.")
    ensure_admins_remain(user)  # an organization never loses its last admin
    counts: dict[str, int] = {}
    account_deleted.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        user=user,
        counts=counts,
    )
    db.session.execute(delete(Membership).where(Membership.user_id == user.id))
    # Unlinked from single sign-on: signing in through a provider again makes a new account.
    db.session.execute(delete(SsoIdentity).where(SsoIdentity.user_id == user.id))
    public_id = user.public_id
    tombstone_email = f"deleted-{public_id}@deleted.invalid"
    counts |= _forget_account_data(user, tombstone_email)
    counts["mails_forgotten"] = mail.forget_mail_about(user.email, user.display_name)
    user.email = tombstone_email
    user.display_name = DELETED_NAME
    user.password_hash = "!deleted"  # noqa: S105 - not a hash: no password ever matches it
    user.is_active_account = False
    user.session_token = new_public_id()
    audit.record(
        "account.delete", actor_id=user.id, subject_type="user", subject_id=public_id, **counts
    )
    return counts
