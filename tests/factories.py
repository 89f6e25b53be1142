"""Plain helpers for building many rows quickly (imported by tests; fixtures live in conftest)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from portfolio.accounts.models import Membership, Organization, Role, User
from portfolio.core.db import utcnow
from portfolio.extensions import db


def bulk_users(n: int, prefix: str, start: int = 0) -> list[int]:
    """Insert `n` active users named `<prefix> <i>` (no password to log in with); their ids."""
    now = utcnow()
    db.session.execute(
        insert(User),
        [
            {
                "email": f"{prefix}{i}@example.org",
                "display_name": f"{prefix.title()} {i:03d}",
                "password_hash": "x",
                "public_id": f"{prefix}{i:016d}"[-32:],
                "session_token": f"{prefix}-session-{i}",
                "is_active_account": True,
                "failed_logins": 0,
                "created_at": now,
            }
            for i in range(start, start + n)
        ],
    )
    return list(
        db.session.scalars(
            select(User.id).where(User.email.like(f"{prefix}%@example.org")).order_by(User.id)
        ).all()[start:]
    )


def bulk_members(org: Organization, n: int, start: int = 0, role: Role = Role.LEARNER) -> None:
    """`n` more members of `org` with `role`."""
    ids = bulk_users(n, "member", start)
    now = utcnow()
    db.session.execute(
        insert(Membership),
        [
            {"user_id": uid, "organization_id": org.id, "role": role, "created_at": now}
            for uid in ids
        ],
    )
    db.session.commit()


def clone_rows(table_name: str, row_id: int, changes: list[dict[str, Any]]) -> list[int]:
    """Copies of one row of `table_name`, each with its own changes; the new ids."""
    table = db.metadata.tables[table_name]
    row = dict(db.session.execute(select(table).where(table.c.id == row_id)).mappings().one())
    row.pop("id")
    return [
        db.session.execute(insert(table).values({**row, **change})).inserted_primary_key[0]
        for change in changes
    ]
