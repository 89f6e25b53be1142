"""Housekeeping of uploads that never finished: removing abandoned ones, and telling the
storage reconciler and the local upload endpoint which staged objects and multipart uploads are
still in use. Nothing here commits; the job or CLI command that runs it does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from portfolio.core.db import utcnow
from portfolio.evidence.models import STAGING_PREFIX, EvidenceItem, EvidenceState
from portfolio.evidence.uploads import discard_upload
from portfolio.extensions import db


def cleanup_abandoned_uploads(older_than: timedelta, *, now: datetime | None = None) -> int:
    """Delete uploads started more than `older_than` ago and never finalized (their rows,
    objects and unfinished multipart parts, once the caller commits), including streamed
    uploads whose request died while "processing". Safe to run at any time: returns how many."""
    cutoff = (now or utcnow()) - older_than
    stale = list(
        db.session.scalars(
            select(EvidenceItem).where(
                EvidenceItem.state.in_(
                    [EvidenceState.UPLOADING, EvidenceState.PROCESSING, EvidenceState.REJECTED]
                ),
                EvidenceItem.created_at < cutoff,
            )
        )
    )
    for item in stale:
        discard_upload(item.owner, item)
    return len(stale)


def expects_upload(key: str) -> bool:
    """Whether bytes for `key` may still be accepted through an upload link: only for the
    staging key of an upload still in progress. A link kept after a cancel or a finalize (or
    for a key the app never handed out) stores nothing."""
    if not key.startswith(STAGING_PREFIX):
        return False
    state = db.session.scalar(
        select(EvidenceItem.state).where(
            EvidenceItem.storage_key == key.removeprefix(STAGING_PREFIX)
        )
    )
    return state == EvidenceState.UPLOADING


def open_upload_ids() -> set[str]:
    """Multipart upload ids that rows still point to."""
    return set(
        db.session.scalars(
            select(EvidenceItem.upload_id).where(EvidenceItem.upload_id.is_not(None))
        )
    )


def staged_keys_in_use() -> set[str]:
    """Staging keys of uploads in progress (their objects are not orphans)."""
    keys = db.session.scalars(
        select(EvidenceItem.storage_key).where(
            EvidenceItem.state.in_([EvidenceState.UPLOADING, EvidenceState.PROCESSING]),
            EvidenceItem.storage_key.is_not(None),
        )
    )
    return {STAGING_PREFIX + k for k in keys if k}
