"""Getting an account: creating users, self-registration with email confirmation, and
invitations to an organization."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portfolio.accounts.models import (
    Invitation,
    Organization,
    Role,
    User,
)
from portfolio.accounts.organizations import add_membership, require_role
from portfolio.accounts.sign_in import (
    InvalidToken,
    check_password_strength,
    find_user_by_email,
    hash_password,
    normalize_email,
    rotate_session,
    serializer,
)
from portfolio.accounts.signals import address_confirmed
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, Forbidden
from portfolio.core.mail import send_mail
from portfolio.core.sanitize import clean_text
from portfolio.core.urls import public_url
from portfolio.extensions import db


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
        remove_unconfirmed(existing, reason="registered again")
    user = create_user(email, display_name, password, confirmed=False)
    add_membership(user, org, Role.LEARNER)
    return user


def remove_unconfirmed(user: User, *, reason: str) -> None:
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
    return serializer("email-confirmation").dumps({"u": user.public_id, "e": user.email})


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
        data = serializer("email-confirmation").loads(token, max_age=_confirmation_max_age())
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
        remove_unconfirmed(user, reason="confirmation expired")
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
    token = serializer("invitation").dumps({"i": invitation.public_id})
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
        data = serializer("invitation").loads(token, max_age=max_age)
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
            remove_unconfirmed(existing, reason="invited")
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
