"""Account rules: registration, login with lockout, passwords, organizations, invitations."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portfolio.accounts.models import (
    Invitation,
    Membership,
    Organization,
    Role,
    User,
    new_session_token,
)
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, Forbidden, NotFound
from portfolio.core.mail import send_mail
from portfolio.core.sanitize import clean_text
from portfolio.core.urls import public_url
from portfolio.extensions import db

#: Argon2id with the library's current recommended parameters.
_STRONG_HASHER = PasswordHasher()
#: Only for APP_ENV=testing: the same algorithm with minimal cost, so a test suite that creates
#: hundreds of accounts does not spend minutes hashing. Never used in development or production.
_TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _hasher() -> PasswordHasher:
    if current_app and current_app.config["PORTFOLIO"].env == "testing":
        return _TEST_HASHER
    return _STRONG_HASHER


MIN_PASSWORD_LENGTH = 10
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
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


def create_user(email: str, display_name: str, password: str) -> User:
    """Create an account. Raises `Conflict` when the email is taken (in any case)."""
    email = normalize_email(email)
    check_password_strength(password)
    if find_user_by_email(email) is not None:
        raise Conflict("An account with this email already exists. Sign in or reset your password.")
    user = User(
        email=email,
        display_name=clean_text(display_name, 120) or email,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        db.session.rollback()
        raise Conflict("An account with this email already exists.") from exc
    audit.record("account.create", actor_id=user.id, subject_type="user", subject_id=user.public_id)
    return user


def authenticate(email: str, password: str) -> User:
    """The user for these credentials, or a `DomainError` that does not reveal which part
    was wrong. Too many failures lock the account for a while."""
    user = find_user_by_email(email)
    # The same words for an unknown address, a wrong password and a locked account, so the
    # answer never tells whether an account exists; the lock itself is announced by email.
    generic = DomainError(
        "Wrong email or password. After several failed attempts, sign-in to an account pauses "
        "for 15 minutes; resetting the password ends the pause."
    )
    if user is None:
        _hasher().hash(password)  # spend the same time as a real check: no account probing
        raise generic
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        raise generic
    if not verify_password(user, password):
        # Counted in the database, not in Python: parallel wrong guesses each count.
        failures = db.session.scalar(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=User.failed_logins + 1)
            .returning(User.failed_logins)
        )
        if (failures or 0) >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            audit.record(
                "account.locked", actor_id=user.id, subject_type="user", subject_id=user.public_id
            )
            send_mail(
                user.email,
                "Sign-in to your Portfolio account is paused",
                f"Hello {user.display_name},\n\nAfter {MAX_FAILED_LOGINS} failed sign-in attempts, "
                "sign-in to your account is paused for 15 minutes. If this was not you, reset "
                "your password.\n",
            )
        db.session.commit()
        raise generic
    if not user.is_active_account:
        raise DomainError("This account has been disabled. Contact your organization's admin.")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record("account.login", actor_id=user.id, subject_type="user", subject_id=user.public_id)
    return user


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
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
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
    for name in ("name", "url", "email", "description", "allows_self_registration"):
        if name in fields:
            value = fields[name]
            if name == "name":
                value = clean_text(str(value), 200)
            elif name == "email":
                value = normalize_email(str(value))
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


def remove_membership(actor: User, org: Organization, membership: Membership) -> None:
    """Take a role away (admins only); the last admin cannot remove themselves."""
    require_role(actor, org, Role.ADMIN)
    if membership.organization_id != org.id:
        raise NotFound("No such member.")
    if membership.role == Role.ADMIN:
        admins = db.session.scalars(
            select(Membership).where(
                Membership.organization_id == org.id, Membership.role == Role.ADMIN
            )
        ).all()
        if len(admins) <= 1:
            raise DomainError("An organization needs at least one admin.")
    user = membership.user
    db.session.delete(membership)
    rotate_session(user)
    audit.record(
        "membership.remove",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="user",
        subject_id=user.public_id,
        role=str(membership.role),
    )


def self_register(org: Organization, email: str, display_name: str, password: str) -> User:
    """A learner creates an account in an organization that allows it."""
    if not org.allows_self_registration:
        raise Forbidden("This organization registers people by invitation only.")
    user = create_user(email, display_name, password)
    add_membership(user, org, Role.LEARNER)
    return user


# -- invitations -------------------------------------------------------------------------
def invite(actor: User, org: Organization, email: str, role: Role) -> tuple[Invitation, str]:
    """Invite someone by email with a role (admins only). Returns the invitation and its link."""
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
        f"Accept within {days} days:\n\n{link}\n",
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

    from portfolio.storage import get_storage, new_object_key

    require_role(actor, org, Role.ADMIN)
    if not data:
        raise DomainError("The logo file is empty.")
    if len(data) > MAX_LOGO_BYTES:
        raise DomainError("The logo is larger than 2 MB.")
    detected = magic.from_buffer(data[:8192], mime=True)
    if detected not in LOGO_TYPES:
        raise DomainError(f"The logo must be a PNG, JPEG or WebP image; this file is {detected}.")
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
        storage.delete(old_key)
