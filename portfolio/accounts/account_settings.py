"""What a signed-in person does to their own account: change the password, delete the account."""

from __future__ import annotations

from sqlalchemy import delete, update

from portfolio.accounts.models import (
    Invitation,
    Membership,
    SsoIdentity,
    User,
)
from portfolio.accounts.organizations import ensure_admins_remain
from portfolio.accounts.sign_in import (
    check_password_strength,
    hash_password,
    rotate_session,
    verify_password,
)
from portfolio.accounts.signals import account_deleted
from portfolio.core import audit, mail
from portfolio.core.errors import DomainError
from portfolio.extensions import db


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
