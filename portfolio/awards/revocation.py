"""Revoking awards: an admin's revocation with its required reason (exactly once, audited; the
issuer's status list is re-signed after commit), and the 1EdTech revocation list of an issuer."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select, update

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.awards import status_lists
from portfolio.awards.models import Award
from portfolio.awards.signals import award_revoked
from portfolio.awards.signing_keys import controller_id
from portfolio.awards.status_lists import status_list_changed
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError
from portfolio.core.urls import public_url
from portfolio.extensions import db


def revoked_awards(org: Organization) -> list[Award]:
    return list(
        db.session.scalars(
            select(Award)
            .where(Award.organization_id == org.id, Award.revoked_at.is_not(None))
            .order_by(Award.revoked_at)
        )
    )


def revocation_list(org: Organization) -> dict[str, Any]:
    """The 1EdTech revocation list named by `credentialStatus` of our OB 3.0 credentials."""
    return {
        "id": public_url("verify.revocations", oid=org.public_id),
        "issuer": controller_id(org),
        "revokedCredential": [
            {
                "id": public_url("verify.badge", aid=a.public_id),
                "revocationReason": a.revocation_reason or "",
            }
            for a in revoked_awards(org)
        ],
    }


def revoke_award(admin: User, award: Award, reason: str) -> None:
    """Revoke an award with a required reason. Exactly once: a second revocation is a
    `Conflict`. Audited."""
    org = award.organization
    require_role(admin, org, Role.ADMIN)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            "Give a reason for revoking the badge; the earner and anyone verifying it will see it."
        )
    if len(reason) > 1000:
        raise DomainError("Keep the reason under 1000 characters.")
    result = db.session.execute(
        update(Award)
        .where(Award.id == award.id, Award.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revocation_reason=reason, revoked_by_id=admin.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("This badge has already been revoked.")
    db.session.expire(award)
    entry = status_lists.entry_of(award)
    if entry is not None:
        # Re-signed by a job after commit; served signed afresh until then.
        status_list_changed(entry.status_list)
    audit.record(
        "award.revoke",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="award",
        subject_id=award.public_id,
        reason=reason,
    )
    award_revoked.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        award=award,
        reason=reason,
    )
