"""Assessor assignments to credentials (the queue shows only what one may mark)."""

from __future__ import annotations

from sqlalchemy import delete, select

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core import audit
from portfolio.core.errors import DomainError, NotFound
from portfolio.extensions import db
from portfolio.submissions.models import AssessorAssignment


def assigned_assessors(credential_id: int) -> list[User]:
    """The credential's assigned assessors by name (none: open to every assessor)."""
    return list(
        db.session.scalars(
            select(User)
            .join(AssessorAssignment, AssessorAssignment.user_id == User.id)
            .where(AssessorAssignment.credential_id == credential_id)
            .order_by(User.display_name)
        )
    )


def assign(admin: User, org: Organization, credential_id: int, assessor: User) -> None:
    """Assign an assessor of the organization to a credential (idempotent)."""
    require_role(admin, org, Role.ADMIN)
    if not assessor.has_role(org.id, Role.ASSESSOR, Role.ADMIN):
        raise DomainError(f"{assessor.display_name} is not an assessor here.")
    exists = db.session.scalar(
        select(AssessorAssignment.id).where(
            AssessorAssignment.credential_id == credential_id,
            AssessorAssignment.user_id == assessor.id,
        )
    )
    if exists is not None:
        return
    db.session.add(AssessorAssignment(credential_id=credential_id, user_id=assessor.id))
    audit.record(
        "assignment.add",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="credential",
        subject_id=str(credential_id),
        assessor=assessor.display_name,
    )


def unassign(admin: User, org: Organization, credential_id: int, assessor: User) -> None:
    """Take an assessor off a credential."""
    require_role(admin, org, Role.ADMIN)
    result = db.session.execute(
        delete(AssessorAssignment).where(
            AssessorAssignment.credential_id == credential_id,
            AssessorAssignment.user_id == assessor.id,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound("That assessor is not assigned to this credential.")
    audit.record(
        "assignment.remove",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="credential",
        subject_id=str(credential_id),
        assessor=assessor.display_name,
    )
