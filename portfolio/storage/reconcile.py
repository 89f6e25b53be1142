"""Reconciling the object store with the database: objects that no row points to are removed.

A crash between two steps, an upload link used after its upload was cancelled, or a failed
delete can leave objects behind. Every stored object is named by a column whose name ends in
`_key` (`storage_key`, `thumbnail_key`, `logo_key`, `frozen_key`, `image_key`, ...): an object
whose key no such column holds, older than a grace period, belongs to nobody and is deleted.
The grace period protects objects written a moment ago whose row is not committed yet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, select

from portfolio.core.db import utcnow
from portfolio.extensions import db
from portfolio.storage import Storage

log = logging.getLogger(__name__)


@dataclass
class ReconcileResult:
    """What one reconciliation removed."""

    objects: int = 0
    multipart_uploads: int = 0
    temporaries: int = 0


def referenced_keys() -> set[str]:
    """Every storage key some row holds: the values of all string columns named `*_key`."""
    keys: set[str] = set()
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith("_key") and isinstance(column.type, String):
                keys.update(
                    v for v in db.session.scalars(select(column).where(column.is_not(None))) if v
                )
    return keys


def reconcile_store(
    storage: Storage,
    grace: timedelta,
    *,
    keep_keys: Iterable[str] = (),
    keep_upload_ids: Iterable[str] = (),
    now: datetime | None = None,
) -> ReconcileResult:
    """Delete objects older than `grace` that no row points to (and `keep_keys` does not
    name), abort multipart uploads older than `grace` that no row knows, and, on the local
    backend, remove half-written temporary files."""
    cutoff = (now or utcnow()) - grace
    keep = referenced_keys() | set(keep_keys)
    uploads = set(keep_upload_ids)
    result = ReconcileResult()
    for obj in list(storage.list_objects()):
        if obj.key in keep or obj.last_modified is None or obj.last_modified >= cutoff:
            continue
        log.info("removing orphan object %s (%d bytes)", obj.key, obj.size)
        storage.delete(obj.key)
        result.objects += 1
    for key, upload_id, started in list(storage.list_multipart_uploads()):
        if upload_id in uploads or started is None or started >= cutoff:
            continue
        storage.abort_multipart_upload(key, upload_id)
        result.multipart_uploads += 1
    remove_temporaries = getattr(storage, "remove_stale_temporaries", None)
    if remove_temporaries is not None:
        result.temporaries = remove_temporaries(cutoff)
    return result
