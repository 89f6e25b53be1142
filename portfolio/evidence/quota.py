"""How many bytes a worker's library may hold, and the reservation every upload makes first.

An upload writes its row (holding its bytes against the quota) before any byte is accepted;
the caller commits that row. Limits come from the app's configuration.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from portfolio.accounts.models import User
from portfolio.core.db import lock_row
from portfolio.core.sanitize import clean_text
from portfolio.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from portfolio.evidence.validation import UploadTooLarge, clean_filename, human_size
from portfolio.extensions import db
from portfolio.storage import new_object_key

#: How much of a streamed request's length may be form fields and boundaries, not file bytes.
REQUEST_OVERHEAD_BYTES = 64 * 1024


def used_bytes(user: User) -> int:
    """Bytes the user's files take: finished ones at their stored size, uploads in progress at
    the size reserved for them."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(EvidenceItem.size), 0)).where(
            EvidenceItem.owner_id == user.id,
            EvidenceItem.kind == EvidenceKind.FILE,
            EvidenceItem.state != EvidenceState.REJECTED,
        )
    )
    return int(total or 0)


def limits() -> tuple[int, int]:
    """(bytes per file, bytes per worker) from the configuration."""
    cfg = current_app.config["PORTFOLIO"]
    return int(cfg.max_upload_bytes), int(cfg.user_quota_bytes)


def too_large(size: int, max_bytes: int) -> UploadTooLarge:
    """The refusal of a file over the per-file limit."""
    return UploadTooLarge(
        f"This file is {human_size(size)}; the limit is {human_size(max_bytes)} per file."
    )


def quota_full(used: int, quota: int, size: int | None) -> UploadTooLarge:
    """The refusal of a file that does not fit in what is left of the quota."""
    return UploadTooLarge(
        f"Your portfolio is full: {human_size(used)} of your {human_size(quota)} are used"
        + (f" and this file needs {human_size(size)}" if size else "")
        + ". Delete files you no longer need, then try again."
    )


def check_upload_allowed(
    user: User, size: int | None, *, exclude: EvidenceItem | None = None
) -> None:
    """Refuse a file over the per-file limit or one that would overflow the user's quota.

    Advisory only (for forms that ask before sending): the binding check is the reservation
    that `reserve` makes under a lock before any byte is accepted."""
    max_bytes, quota = limits()
    if size is not None and size > max_bytes:
        raise too_large(size, max_bytes)
    used = used_bytes(user) - ((exclude.size or 0) if exclude is not None else 0)
    if used + (size or 0) > quota or (size is None and used >= quota):
        raise quota_full(used, quota, size)


def new_file_item(user: User, filename: str, size: int | None) -> EvidenceItem:
    """An unsaved file item for `filename`, with a storage key built by the server."""
    display = clean_filename(filename)
    stem = display.rsplit(".", 1)[0] if "." in display else display
    return EvidenceItem(
        owner_id=user.id,
        kind=EvidenceKind.FILE,
        state=EvidenceState.UPLOADING,
        title=clean_text(stem, max_length=200) or "Untitled",
        original_filename=display,
        size=size,
        # Server-built key: the worker's file name never reaches the store.
        storage_key=new_object_key(f"evidence/{user.public_id}"),
    )


def reserve(
    user: User, filename: str, *, size: int | None, upper_bound: int | None, state: EvidenceState
) -> EvidenceItem:
    """Write the item's row, holding its bytes against the quota, before any byte is accepted
    (the caller commits).

    `size` is an exact declared size (direct uploads); a streamed upload of unknown size gives
    an `upper_bound` (its request length, if known) and reserves what is left of the quota up
    to that bound. The user's row is locked while the quota is read and the reservation
    written, so overlapping uploads are counted one after the other and together can never
    pass the quota (the lock is held until the caller commits, which it does before any byte
    travels)."""
    max_bytes, quota = limits()
    if size is not None and size > max_bytes:
        raise too_large(size, max_bytes)
    lock_row(db.session, User.__table__, user.id)
    used = used_bytes(user)
    if size is not None:
        if used + size > quota:
            raise quota_full(used, quota, size)
        reserved = size
    else:
        if upper_bound is not None and upper_bound - REQUEST_OVERHEAD_BYTES > quota - used:
            # The request alone is larger than what is left: refuse before reading it.
            raise quota_full(used, quota, upper_bound)
        reserved = min(max_bytes, quota - used, upper_bound if upper_bound else quota)
        if reserved <= 0:
            raise quota_full(used, quota, None)
    item = new_file_item(user, filename, reserved)
    item.state = state
    db.session.add(item)
    db.session.flush()
    return item
