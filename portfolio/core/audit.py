"""Append-only audit trail: who did what to which object, when.

Rows are only ever inserted, with one exception: when a person deletes their account, the
personal data in the events (their email, their name, the titles and file names they gave)
is replaced by a tombstone (`forget_person`); the events themselves stay.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, cast, func, or_, select
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


#: Keys of event data that hold what a person wrote or named (an evidence title, an uploaded or
#: imported file name, an invited email, the reason they gave for an appeal): tombstoned in the
#: events a deleted account caused.
PERSONAL_KEYS = frozenset(
    {"title", "filename", "file", "name", "email", "original_filename", "reason"}
)
#: What stands in for removed personal data.
TOMBSTONE = "[removed: account deleted]"


def _needles(values: Iterable[str]) -> list[str]:
    # Both as typed and as JSON escapes it (non-ASCII letters are stored as \uXXXX), in lower
    # case: the match must not depend on how the JSON column serializes text.
    out: set[str] = set()
    for value in values:
        value = value.strip().lower()
        if len(value) >= 3:  # never match everything on a one- or two-letter name
            out.add(value)
            out.add(json.dumps(value)[1:-1])
    return sorted(out)


def _scrub(value: Any, needles: list[str], personal: bool) -> Any:
    if isinstance(value, dict):
        return {
            k: TOMBSTONE
            if personal and k in PERSONAL_KEYS and isinstance(v, str) and v
            else _scrub(v, needles, personal)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub(v, needles, personal) for v in value]
    if isinstance(value, str) and any(n in value.lower() for n in needles):
        return TOMBSTONE
    return value


def forget_person(*, actor_id: int, values: Iterable[str]) -> int:
    """Tombstone a deleted account's personal data in the audit trail: in the events the person
    caused, every value under a `PERSONAL_KEYS` key; in any event, every string containing one
    of `values` (their email and name, e.g. an admin's invitation to that address). Who did
    what, and when, stays. Returns how many events changed."""
    needles = _needles(values)
    text = func.lower(cast(AuditEvent.data, Text))
    matches = [text.contains(n, autoescape=True) for n in needles]
    events = db.session.scalars(
        select(AuditEvent).where(or_(AuditEvent.actor_id == actor_id, *matches))
    )
    changed = 0
    for event in events:
        scrubbed = _scrub(event.data or {}, needles, event.actor_id == actor_id)
        if scrubbed != event.data:
            event.data = scrubbed
            changed += 1
    return changed
