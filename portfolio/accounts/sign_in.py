"""Signing in: password hashing and checks, the per-client sign-in pause (lockout), sessions,
signed tokens and password resets."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from limits import RateLimitItem
from limits import parse as parse_limit
from sqlalchemy import select

from portfolio.accounts.models import (
    Role,
    SsoConfiguration,
    User,
    new_session_token,
)
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import DomainError
from portfolio.core.mail import send_mail
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


# -- signed tokens -----------------------------------------------------------------------
def serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_fingerprint(user: User) -> str:
    # Bound into reset tokens: once the password changes, the token no longer matches.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    """A signed reset token, valid until it expires or the password changes."""
    return serializer("password-reset").dumps(
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
        data = serializer("password-reset").loads(token, max_age=max_age)
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
