"""Append-only audit trail: who did what to which object, when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.core.db import UTCDateTime, utcnow
from portfolio.extensions import db


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    """One recorded action. Rows are only ever inserted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The acting user; null for the system or an anonymous actor.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Organization the action belongs to, for admins reading their history.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    #: Dotted verb such as `account.login`, `membership.invite`, `review.record`.
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    #: Kind and id of the object acted on, e.g. ("submission", "Xy...").
    subject_type: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    subject_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    __table_args__ = (
        Index("ix_audit_events_subject", "subject_type", "subject_id"),
        Index("ix_audit_events_organization_id_created_at", "organization_id", "created_at"),
    )


def record(
    action: str,
    *,
    actor_id: int | None,
    organization_id: int | None = None,
    subject_type: str = "",
    subject_id: str = "",
    **data: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction (committed with the action itself)."""
    event = AuditEvent(
        actor_id=actor_id,
        organization_id=organization_id,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        data=data,
    )
    db.session.add(event)
    return event
