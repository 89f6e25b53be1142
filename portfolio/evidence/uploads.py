"""The upload flows: direct uploads (browser to storage, in one request or in parts), uploads
streamed through the app, finalizing what arrived, cancelling, and the housekeeping of
uploads that never finished.

Every function takes the acting user explicitly and none commits: the caller (a view, a job, a
CLI command) commits once. Objects and rows never disagree after that commit: an object is
written only with an `on_rollback` undo queued first, objects are deleted only after the
commit that removes their row, and a refusal that discards an upload raises an error that
keeps its changes (`keeps_changes`), so the request commits the removal.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from datetime import date
from typing import IO

from sqlalchemy import update

from portfolio.accounts.models import User
from portfolio.core.audit import record
from portfolio.core.errors import Conflict, DomainError, NotFound
from portfolio.core.sanitize import clean_text
from portfolio.core.transaction import after_commit, on_rollback
from portfolio.evidence.models import EvidenceItem, EvidenceState
from portfolio.evidence.photos import PHOTO_TYPES, PhotoUnreadable, strip_photo_metadata
from portfolio.evidence.previews import schedule_preview
from portfolio.evidence.quota import limits, quota_full, reserve, too_large, used_bytes
from portfolio.evidence.services import UNCHECKED_TYPE, apply_common, get_item
from portfolio.evidence.validation import (
    AllowedType,
    FileInspector,
    UploadRefused,
    UploadTooLarge,
    classify,
    clean_filename,
    human_size,
)
from portfolio.extensions import db
from portfolio.storage import (
    PresignedUpload,
    Storage,
    UploadedPart,
    delete_after_commit,
    get_storage,
)

log = logging.getLogger(__name__)


def _get_own_upload(user: User, public_id: str) -> EvidenceItem:
    item = get_item(user, public_id, include_pending=True)
    if item.owner_id != user.id or item.state != EvidenceState.UPLOADING:
        raise NotFound("There is no such upload in progress.")
    return item


def _undo_put(storage: Storage, key: str) -> None:
    """Before writing `key`: delete it again if the transaction does not commit."""

    def delete() -> None:
        storage.delete(key)

    on_rollback(delete)


def _discarded(user: User, item: EvidenceItem, exc: UploadRefused) -> UploadRefused:
    """Discard the upload and return `exc` marked to keep that removal (the request commits
    it, then the objects go)."""
    discard_upload(user, item)
    exc.keeps_changes = True
    return exc


# -- direct uploads (browser to storage) ------------------------------------------------------
def start_direct_upload(
    user: User, *, filename: str, size: int
) -> tuple[EvidenceItem, PresignedUpload]:
    """Reserve an item and a presigned URL for one browser upload of `size` bytes.

    The URL writes to the item's staging key, never to the key the file is served from."""
    if size <= 0:
        raise UploadRefused(f"“{clean_filename(filename)}” is empty (0 bytes).")
    item = reserve(user, filename, size=size, upper_bound=None, state=EvidenceState.UPLOADING)
    assert item.staging_key
    upload = get_storage().presigned_upload(
        item.staging_key, content_type=UNCHECKED_TYPE, max_bytes=size
    )
    return item, upload


def start_multipart_upload(user: User, *, filename: str, size: int) -> EvidenceItem:
    """Reserve an item and start a multipart upload (to the staging key) for a large file; the
    multipart upload is aborted again if the transaction does not commit."""
    if size <= 0:
        raise UploadRefused(f"“{clean_filename(filename)}” is empty (0 bytes).")
    item = reserve(user, filename, size=size, upper_bound=None, state=EvidenceState.UPLOADING)
    staging_key = item.staging_key
    assert staging_key
    storage = get_storage()
    upload_id = storage.create_multipart_upload(staging_key, content_type=UNCHECKED_TYPE)
    on_rollback(lambda: storage.abort_multipart_upload(staging_key, upload_id))
    item.upload_id = upload_id
    return item


def _check_parts_size(user: User, item: EvidenceItem, parts: list[UploadedPart]) -> None:
    """Refuse (and discard) a multipart upload whose parts hold more than was reserved."""
    received = sum(p.size for p in parts)
    if received > (item.size or 0):
        raise _discarded(
            user,
            item,
            UploadTooLarge(
                f"“{item.original_filename}” is larger than the {human_size(item.size or 0)} "
                "it was announced with. It was not added."
            ),
        )


def sign_upload_part(user: User, public_id: str, part_number: int) -> str:
    """A presigned URL for one part of the user's multipart upload."""
    item = _get_own_upload(user, public_id)
    if not item.upload_id or not 1 <= part_number <= 10000:
        raise DomainError("That part number is not valid for this upload.")
    assert item.staging_key
    storage = get_storage()
    # Parts already received count: no new part link once they hold more than was reserved
    # (S3 cannot cap the size of one part; the total is checked again when it completes).
    parts = storage.list_parts(item.staging_key, item.upload_id)
    _check_parts_size(user, item, parts)
    left = (item.size or 0) - sum(p.size for p in parts if p.part_number != part_number)
    return storage.presign_upload_part(
        item.staging_key, item.upload_id, part_number, max_bytes=max(left, 1)
    )


def list_upload_parts(user: User, public_id: str) -> list[UploadedPart]:
    """Parts of the user's multipart upload received so far."""
    item = _get_own_upload(user, public_id)
    if not item.upload_id or not item.staging_key:
        return []
    return get_storage().list_parts(item.staging_key, item.upload_id)


def complete_multipart(user: User, public_id: str, parts: list[UploadedPart]) -> EvidenceItem:
    """Join the uploaded parts into the staged object, then finalize it (once)."""
    item = _get_own_upload(user, public_id)
    if not item.upload_id or not item.staging_key:
        raise DomainError("This upload was not sent in parts.")
    item = _claim(user, item)
    storage = get_storage()
    assert item.upload_id and item.staging_key
    try:
        received = storage.list_parts(item.staging_key, item.upload_id)
        _check_parts_size(user, item, received)
        storage.complete_multipart_upload(item.staging_key, item.upload_id, parts)
    except (KeyError, ValueError) as exc:
        raise _discarded(
            user,
            item,
            UploadRefused("The parts of this file did not arrive completely. Try again."),
        ) from exc
    item.upload_id = None
    return _finalize_claimed(user, item)


def discard_upload(user: User, item: EvidenceItem) -> None:
    """Cancel an unfinished or refused upload: its row goes now, its objects and unfinished
    parts once that commits, so no object and no row remain."""
    storage = get_storage()
    if item.upload_id and item.staging_key:
        staging_key, upload_id = item.staging_key, item.upload_id

        def abort() -> None:
            try:
                storage.abort_multipart_upload(staging_key, upload_id)
            except Exception:
                log.exception("could not abort multipart upload of %s", staging_key)

        after_commit(abort)
    keys = [
        k for k in (item.staging_key, item.storage_key, item.thumbnail_key, item.preview_key) if k
    ]
    db.session.delete(item)
    delete_after_commit(keys)


def cancel_upload(user: User, public_id: str) -> None:
    """The worker cancelled an upload in progress."""
    discard_upload(user, _get_own_upload(user, public_id))


def _claim(user: User, item: EvidenceItem) -> EvidenceItem:
    """Move an upload from "uploading" to "processing" in one conditional UPDATE: of two
    simultaneous calls exactly one changes the row (the other waits for its transaction and
    then finds nothing to change), the other gets `Conflict`."""
    result = db.session.execute(
        update(EvidenceItem)
        .where(EvidenceItem.id == item.id, EvidenceItem.state == EvidenceState.UPLOADING)
        .values(state=EvidenceState.PROCESSING)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("This upload is already being finished.")
    db.session.refresh(item)
    return item


def finalize_upload(user: User, public_id: str) -> EvidenceItem:
    """Check the bytes that arrived in storage and mark the item ready, or discard the object
    and the row and raise `UploadRefused` saying why. Exactly once per upload: a second call
    at the same moment gets `Conflict`. A failing store raises, the transaction rolls back and
    the upload is as it was, so the worker can finalize again."""
    return _finalize_claimed(user, _claim(user, _get_own_upload(user, public_id)))


def _finalize_claimed(user: User, item: EvidenceItem) -> EvidenceItem:
    storage = get_storage()
    assert item.storage_key and item.staging_key
    max_bytes, _ = limits()
    info = storage.head(item.staging_key)
    if info is None:
        raise _discarded(
            user,
            item,
            UploadRefused(f"“{item.original_filename}” did not arrive. Try uploading it again."),
        )
    if info.size > max_bytes:
        raise _discarded(user, item, too_large(info.size, max_bytes))
    if info.size > (item.size or 0):
        # More bytes than were reserved: a reused link or parts larger than declared.
        raise _discarded(
            user,
            item,
            UploadTooLarge(
                f"“{item.original_filename}” is {human_size(info.size)}, larger than the "
                f"{human_size(item.size or 0)} it was announced with. It was not added."
            ),
        )
    # Copy the bytes out of reach of every upload link first, then check what is at the final
    # key: that is what will be served, and nobody else can write it. The staged copy goes
    # once this commits; on a rollback the final copy goes and the staged one stays.
    _undo_put(storage, item.storage_key)
    storage.copy(item.staging_key, item.storage_key)
    delete_after_commit([item.staging_key])
    inspector = FileInspector(max_bytes=min(max_bytes, item.size or 0))
    for chunk in storage.iter_chunks(item.storage_key):
        inspector.feed(chunk)
    try:
        allowed = classify(inspector, item.original_filename)
        _complete(user, item, inspector, allowed)
    except UploadRefused as exc:
        raise _discarded(user, item, exc) from None
    return item


def _complete(
    user: User, item: EvidenceItem, inspector: FileInspector, allowed: AllowedType
) -> None:
    """Remove location and device data from photos, then record the stored file as ready:
    its size, hash and type describe the bytes at the final key."""
    storage = get_storage()
    assert item.storage_key
    removed = False
    if allowed.media_type in PHOTO_TYPES:
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as buf:
            for chunk in storage.iter_chunks(item.storage_key):
                buf.write(chunk)
            buf.seek(0)
            try:
                cleaned = strip_photo_metadata(buf, allowed.media_type)
            except PhotoUnreadable as exc:
                raise UploadRefused(
                    f"“{item.original_filename}” could not be opened as a photo, so its "
                    "location data could not be removed. It was not added."
                ) from exc
        if cleaned is not None:
            inspector = FileInspector(max_bytes=inspector.max_bytes)
            storage.put(item.storage_key, inspector.read_through(cleaned), UNCHECKED_TYPE)  # type: ignore[arg-type]
            removed = True
    item.metadata_removed = removed  # type: ignore[attr-defined]
    item.size = inspector.size
    item.sha256 = inspector.sha256
    item.media_type = allowed.media_type
    item.state = EvidenceState.READY
    item.upload_id = None
    # The thumbnail and any preview are made by a job once this commits.
    schedule_preview(item)
    record(
        "evidence.create",
        actor_id=user.id,
        subject_type="evidence",
        subject_id=item.public_id,
        kind="file",
        media_type=allowed.media_type,
        size=item.size,
        sha256=item.sha256,
        metadata_removed=removed,
    )


# -- uploads streamed through the app ---------------------------------------------------------
def reserve_streamed_upload(
    user: User, *, filename: str, declared_size: int | None
) -> EvidenceItem:
    """The row of a streamed upload ("processing", holding the reservation), written before any
    byte is read. `declared_size` is an upper bound of the file's size (the request's
    length), if known."""
    return reserve(
        user, filename, size=None, upper_bound=declared_size, state=EvidenceState.PROCESSING
    )


def store_streamed_upload(
    user: User,
    item: EvidenceItem,
    stream: IO[bytes],
    *,
    title: str = "",
    description: str = "",
    item_date: date | None = None,
    tags: str | Iterable[str] | None = None,
) -> EvidenceItem:
    """Store a file read from `stream` in chunks (constant memory) at the reserved item's key,
    hashing, sizing and sniffing it on the way; refuse it afterwards (discarding the item) if
    its content is not allowed. Bytes beyond the reservation are refused as they arrive. The
    object is deleted again if the transaction does not commit."""
    max_bytes, quota = limits()
    reserved = item.size or 0
    assert item.storage_key
    storage = get_storage()
    inspector = FileInspector(max_bytes=reserved)
    _undo_put(storage, item.storage_key)
    try:
        # Straight to the final key: no upload link exists for it, and the row is
        # "processing", so no other request can finalize, cancel or replace it.
        storage.put(
            item.storage_key,
            inspector.read_through(stream),  # type: ignore[arg-type]
            UNCHECKED_TYPE,
        )
    except UploadTooLarge:
        if reserved >= max_bytes:
            raise _discarded(user, item, too_large(inspector.size, max_bytes)) from None
        used = used_bytes(user) - reserved
        raise _discarded(user, item, quota_full(used, quota, None)) from None
    try:
        allowed = classify(inspector, item.original_filename)
        item.title = clean_text(title, max_length=200) or item.title
        apply_common(
            item, title=item.title, description=description, item_date=item_date, tags=tags
        )
        _complete(user, item, inspector, allowed)
    except UploadRefused as exc:
        raise _discarded(user, item, exc) from None
    return item


def upload_stream(
    user: User,
    stream: IO[bytes],
    *,
    filename: str,
    declared_size: int | None,
    title: str = "",
    description: str = "",
    item_date: date | None = None,
    tags: str | Iterable[str] | None = None,
) -> EvidenceItem:
    """Reserve and store a streamed file in the caller's one transaction (demo data, tests).
    The upload views commit the reservation between the two steps instead, so that the
    user's row is not locked while bytes travel."""
    item = reserve_streamed_upload(user, filename=filename, declared_size=declared_size)
    return store_streamed_upload(
        user, item, stream, title=title, description=description, item_date=item_date, tags=tags
    )


def discard_reservation(user: User, item_id: int) -> None:
    """Remove a committed reservation whose upload failed (its object is undone by the
    rollback that preceded this); the caller commits."""
    item = db.session.get(EvidenceItem, item_id)
    if item is not None and item.state == EvidenceState.PROCESSING:
        discard_upload(user, item)
