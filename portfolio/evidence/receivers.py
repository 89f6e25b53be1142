"""Receivers of other domains' events that change evidence data; connected by `init_app`."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import delete, select

from portfolio.accounts.models import User
from portfolio.accounts.signals import account_deleted
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.storage import delete_after_commit


def remove_account_evidence(
    sender: Flask, *, user: User, counts: dict[str, int], **_: object
) -> None:
    """A deleted account's library goes: rows now, stored files after commit. Submitted copies
    are frozen objects of their own (the submissions domain handles them); links from
    submissions to a deleted item are cleared by the database (ON DELETE SET NULL)."""
    items = list(db.session.scalars(select(EvidenceItem).where(EvidenceItem.owner_id == user.id)))
    keys = [
        k for item in items for k in (item.storage_key, item.thumbnail_key, item.preview_key) if k
    ]
    if items:
        db.session.flush()
        db.session.execute(
            delete(EvidenceItem).where(EvidenceItem.id.in_([i.id for i in items])),
            execution_options={"synchronize_session": "fetch"},
        )
    delete_after_commit(keys)
    counts["evidence_items"] = len(items)
    counts["objects"] = counts.get("objects", 0) + len(keys)


def init_app(app: Flask) -> None:
    """Connect this domain's receivers."""
    account_deleted.connect(remove_account_evidence)
