"""Evidence rules: who may see an item, what may change, and the upload flows.

Every function takes the acting user explicitly. Functions that touch object storage commit the
database themselves, so a row and its object never disagree for longer than one call: a refused
or abandoned upload leaves neither a row nor an object behind.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import IO

from flask import current_app
from sqlalchemy import func, select, update

from portfolio.accounts.models import User
from portfolio.core.audit import record
from portfolio.core.db import lock_row, utcnow
from portfolio.core.errors import Conflict, DomainError, NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.sanitize import clean_text, render_markdown
from portfolio.evidence.models import STAGING_PREFIX, EvidenceItem, EvidenceKind, EvidenceState
from portfolio.evidence.photos import PHOTO_TYPES, PhotoUnreadable, strip_photo_metadata
from portfolio.evidence.previews import schedule_preview
from portfolio.evidence.validation import (
    ALLOWED_TYPES,
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
    new_object_key,
)

log = logging.getLogger(__name__)

#: Type under which bytes are stored before (and after) the app has looked at them; downloads
#: always name the sniffed type explicitly.
UNCHECKED_TYPE = "application/octet-stream"
#: Images larger than this get a type icon instead of a thumbnail.
MAX_THUMBNAIL_SOURCE_BYTES = 40 * 1024 * 1024
THUMBNAIL_BOX = (480, 480)
MAX_TAGS = 20
#: How much of a streamed request's length may be form fields and boundaries, not file bytes.
REQUEST_OVERHEAD_BYTES = 64 * 1024


# -- access -----------------------------------------------------------------------------------
def can_view_item(user: User | None, item: EvidenceItem) -> bool:
    """Whether `user` (None or anonymous for a visitor) may see `item`.

    Evidence is private: today only its owner sees it. Assessors will see it through a
    submission they may review, and the public through a badge the worker has not hidden;
    both checks belong here and nowhere else.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.id == item.owner_id


def is_item_frozen(item: EvidenceItem) -> bool:
    """Whether a submitted submission uses the item, so that it may be neither changed nor
    deleted (what the assessor saw is what the employer will see)."""
    return item.frozen_at is not None


def get_item(user: User | None, public_id: str, *, include_pending: bool = False) -> EvidenceItem:
    """The item with `public_id` if `user` may see it; otherwise NotFound (never revealing
    whether it exists)."""
    item = None
    if is_public_id(public_id):
        item = db.session.scalar(select(EvidenceItem).where(EvidenceItem.public_id == public_id))
    if item is None or not can_view_item(user, item):
        raise NotFound("There is no such evidence item, or it is not yours to see.")
    if not include_pending and item.state != EvidenceState.READY:
        raise NotFound("This upload has not finished yet.")
    return item


def _get_own_upload(user: User, public_id: str) -> EvidenceItem:
    item = get_item(user, public_id, include_pending=True)
    if item.owner_id != user.id or item.state != EvidenceState.UPLOADING:
        raise NotFound("There is no such upload in progress.")
    return item


def list_items(
    user: User, *, tag: str | None = None, kind: str | None = None
) -> list[EvidenceItem]:
    """The user's ready items, newest work first."""
    query = select(EvidenceItem).where(
        EvidenceItem.owner_id == user.id, EvidenceItem.state == EvidenceState.READY
    )
    if kind in {k.value for k in EvidenceKind}:
        query = query.where(EvidenceItem.kind == kind)
    items = list(
        db.session.scalars(query.order_by(EvidenceItem.item_date.desc(), EvidenceItem.id.desc()))
    )
    if tag:
        items = [i for i in items if tag in (i.tags or [])]
    return items


# -- quota ------------------------------------------------------------------------------------
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


def _settings() -> tuple[int, int]:
    cfg = current_app.config["PORTFOLIO"]
    return int(cfg.max_upload_bytes), int(cfg.user_quota_bytes)


def _too_large(size: int, max_bytes: int) -> UploadTooLarge:
    return UploadTooLarge(
        f"This file is {human_size(size)}; the limit is {human_size(max_bytes)} per file."
    )


def _quota_full(used: int, quota: int, size: int | None) -> UploadTooLarge:
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
    that `_reserve` makes under a lock before any byte is accepted."""
    max_bytes, quota = _settings()
    if size is not None and size > max_bytes:
        raise _too_large(size, max_bytes)
    used = used_bytes(user) - ((exclude.size or 0) if exclude is not None else 0)
    if used + (size or 0) > quota or (size is None and used >= quota):
        raise _quota_full(used, quota, size)


def _reserve(
    user: User, filename: str, *, size: int | None, upper_bound: int | None, state: EvidenceState
) -> EvidenceItem:
    """Write the item's row, holding its bytes against the quota, before any byte is accepted.
    Commits.

    `size` is an exact declared size (direct uploads); a streamed upload of unknown size gives
    an `upper_bound` (its request length, if known) and reserves what is left of the quota up
    to that bound. The user's row is locked while the quota is read and the reservation
    written, so overlapping uploads are counted one after the other and together can never
    pass the quota (the lock is held for two short statements, never while bytes travel)."""
    max_bytes, quota = _settings()
    if size is not None and size > max_bytes:
        raise _too_large(size, max_bytes)
    try:
        lock_row(db.session, User.__table__, user.id)
        used = used_bytes(user)
        if size is not None:
            if used + size > quota:
                raise _quota_full(used, quota, size)
            reserved = size
        else:
            if upper_bound is not None and upper_bound - REQUEST_OVERHEAD_BYTES > quota - used:
                # The request alone is larger than what is left: refuse before reading it.
                raise _quota_full(used, quota, upper_bound)
            reserved = min(max_bytes, quota - used, upper_bound if upper_bound else quota)
            if reserved <= 0:
                raise _quota_full(used, quota, None)
        item = _new_file_item(user, filename, reserved)
        item.state = state
        db.session.add(item)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return item


# -- item fields ------------------------------------------------------------------------------
def parse_tags(raw: str | Iterable[str] | None) -> list[str]:
    """Comma-separated tags, cleaned, lower-cased, unique, in order."""
    parts = raw.split(",") if isinstance(raw, str) else list(raw or [])
    tags: list[str] = []
    for part in parts:
        tag = clean_text(part, max_length=40).lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tags[:MAX_TAGS]


def _apply_common(
    item: EvidenceItem,
    *,
    title: str,
    description: str,
    item_date: date | None,
    tags: str | Iterable[str] | None,
) -> None:
    item.title = clean_text(title, max_length=200) or "Untitled"
    item.description = description or ""
    # Sanitized once, on write: templates render only the *_html columns as markup.
    item.description_html = render_markdown(item.description)
    item.item_date = item_date or utcnow().date()
    item.tags = parse_tags(tags)


def _check_url(url: str) -> str:
    url = (url or "").strip()
    if not url.lower().startswith(("http://", "https://")) or len(url) > 2000:
        # javascript:, data: and the like would run in the viewer's browser.
        raise DomainError("A link must start with http:// or https://.")
    return url


def create_link(
    user: User,
    *,
    title: str,
    url: str,
    description: str = "",
    item_date: date | None = None,
    tags: str | Iterable[str] | None = None,
) -> EvidenceItem:
    """Add a link (URL and title) to the user's library."""
    item = EvidenceItem(
        owner_id=user.id, kind=EvidenceKind.LINK, state=EvidenceState.READY, url=_check_url(url)
    )
    _apply_common(item, title=title, description=description, item_date=item_date, tags=tags)
    db.session.add(item)
    db.session.flush()
    record(
        "evidence.create",
        actor_id=user.id,
        subject_type="evidence",
        subject_id=item.public_id,
        kind="link",
    )
    return item


def create_reflection(
    user: User,
    *,
    title: str,
    body: str,
    description: str = "",
    item_date: date | None = None,
    tags: str | Iterable[str] | None = None,
) -> EvidenceItem:
    """Add a written reflection (Markdown, sanitized to HTML on write)."""
    if not (body or "").strip():
        raise DomainError("Write your reflection before saving it.")
    item = EvidenceItem(
        owner_id=user.id,
        kind=EvidenceKind.TEXT,
        state=EvidenceState.READY,
        body=body,
        body_html=render_markdown(body),
    )
    _apply_common(item, title=title, description=description, item_date=item_date, tags=tags)
    db.session.add(item)
    db.session.flush()
    record(
        "evidence.create",
        actor_id=user.id,
        subject_type="evidence",
        subject_id=item.public_id,
        kind="text",
    )
    return item


def _check_mutable(user: User, item: EvidenceItem, verb: str) -> None:
    # Only the owner manages their library. A submitted item may be changed or deleted too:
    # every submission keeps its own frozen copy (file, title, link, text), so what assessors
    # and employers see does not move with the library.
    if item.owner_id != user.id:
        raise NotFound(f"There is no such evidence item, or it is not yours to have {verb}.")


def update_item(
    user: User,
    item: EvidenceItem,
    *,
    title: str,
    description: str,
    item_date: date | None,
    tags: str | Iterable[str] | None,
    url: str | None = None,
    body: str | None = None,
) -> EvidenceItem:
    """Change an item's details (not a file's bytes). Refused for frozen items."""
    _check_mutable(user, item, "changed")
    _apply_common(item, title=title, description=description, item_date=item_date, tags=tags)
    if item.kind == EvidenceKind.LINK and url is not None:
        item.url = _check_url(url)
    if item.kind == EvidenceKind.TEXT and body is not None:
        if not body.strip():
            raise DomainError("A reflection cannot be empty.")
        item.body = body
        item.body_html = render_markdown(body)
    record("evidence.update", actor_id=user.id, subject_type="evidence", subject_id=item.public_id)
    return item


def delete_item(user: User, item: EvidenceItem) -> None:
    """Delete an item; its stored objects go after commit. Refused for frozen items."""
    _check_mutable(user, item, "deleted")
    keys = [k for k in (item.storage_key, item.thumbnail_key, item.preview_key) if k]
    record(
        "evidence.delete",
        actor_id=user.id,
        subject_type="evidence",
        subject_id=item.public_id,
        title=item.title,
    )
    db.session.delete(item)
    delete_after_commit(keys)


def _delete_objects(keys: Iterable[str]) -> None:
    storage = get_storage()
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # an orphan object is harmless; the row is what users see
            log.exception("could not delete object %s", key)


# -- direct uploads (browser to storage) ------------------------------------------------------
def _new_file_item(user: User, filename: str, size: int | None) -> EvidenceItem:
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


def start_direct_upload(
    user: User, *, filename: str, size: int
) -> tuple[EvidenceItem, PresignedUpload]:
    """Reserve an item and a presigned URL for one browser upload of `size` bytes. Commits.

    The URL writes to the item's staging key, never to the key the file is served from."""
    if size <= 0:
        raise UploadRefused(f"“{clean_filename(filename)}” is empty (0 bytes).")
    item = _reserve(user, filename, size=size, upper_bound=None, state=EvidenceState.UPLOADING)
    assert item.staging_key
    upload = get_storage().presigned_upload(
        item.staging_key, content_type=UNCHECKED_TYPE, max_bytes=size
    )
    return item, upload


def start_multipart_upload(user: User, *, filename: str, size: int) -> EvidenceItem:
    """Reserve an item and start a multipart upload (to the staging key) for a large file.
    Commits."""
    if size <= 0:
        raise UploadRefused(f"“{clean_filename(filename)}” is empty (0 bytes).")
    item = _reserve(user, filename, size=size, upper_bound=None, state=EvidenceState.UPLOADING)
    assert item.staging_key
    try:
        item.upload_id = get_storage().create_multipart_upload(
            item.staging_key, content_type=UNCHECKED_TYPE
        )
    except BaseException:
        discard_upload(user, item)
        raise
    db.session.commit()
    return item


def _check_parts_size(user: User, item: EvidenceItem, parts: list[UploadedPart]) -> None:
    """Refuse (and discard) a multipart upload whose parts hold more than was reserved."""
    received = sum(p.size for p in parts)
    if received > (item.size or 0):
        discard_upload(user, item)
        raise UploadTooLarge(
            f"“{item.original_filename}” is larger than the {human_size(item.size or 0)} it was "
            "announced with. It was not added."
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
        discard_upload(user, item)
        raise UploadRefused("The parts of this file did not arrive completely. Try again.") from exc
    item.upload_id = None
    db.session.commit()
    return _finalize_claimed(user, item)


def discard_upload(user: User, item: EvidenceItem) -> None:
    """Cancel an unfinished or refused upload: no object and no row remain. Commits."""
    storage = get_storage()
    if item.upload_id and item.staging_key:
        try:
            storage.abort_multipart_upload(item.staging_key, item.upload_id)
        except Exception:
            log.exception("could not abort multipart upload of %s", item.staging_key)
    keys = [
        k for k in (item.staging_key, item.storage_key, item.thumbnail_key, item.preview_key) if k
    ]
    db.session.delete(item)
    db.session.commit()
    _delete_objects(keys)


def cancel_upload(user: User, public_id: str) -> None:
    """The worker cancelled an upload in progress."""
    discard_upload(user, _get_own_upload(user, public_id))


def _claim(user: User, item: EvidenceItem) -> EvidenceItem:
    """Move an upload from "uploading" to "processing" in one conditional UPDATE: of two
    simultaneous calls exactly one changes the row, the other gets `Conflict`. Commits."""
    result = db.session.execute(
        update(EvidenceItem)
        .where(EvidenceItem.id == item.id, EvidenceItem.state == EvidenceState.UPLOADING)
        .values(state=EvidenceState.PROCESSING)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict("This upload is already being finished.")
    db.session.commit()
    db.session.refresh(item)
    return item


def finalize_upload(user: User, public_id: str) -> EvidenceItem:
    """Check the bytes that arrived in storage and mark the item ready, or delete both the
    object and the row and raise `UploadRefused` saying why. Exactly once per upload: a second
    call at the same moment gets `Conflict`. Commits."""
    return _finalize_claimed(user, _claim(user, _get_own_upload(user, public_id)))


def _finalize_claimed(user: User, item: EvidenceItem) -> EvidenceItem:
    storage = get_storage()
    assert item.storage_key and item.staging_key
    max_bytes, _ = _settings()
    try:
        try:
            info = storage.head(item.staging_key)
            if info is None:
                raise UploadRefused(
                    f"“{item.original_filename}” did not arrive. Try uploading it again."
                )
            if info.size > max_bytes:
                raise _too_large(info.size, max_bytes)
            if info.size > (item.size or 0):
                # More bytes than were reserved: a reused link or parts larger than declared.
                raise UploadTooLarge(
                    f"“{item.original_filename}” is {human_size(info.size)}, larger than the "
                    f"{human_size(item.size or 0)} it was announced with. It was not added."
                )
            # Move the bytes out of reach of every upload link first, then check what is at
            # the final key: that is what will be served, and nobody else can write it.
            storage.copy(item.staging_key, item.storage_key)
            storage.delete(item.staging_key)
            inspector = FileInspector(max_bytes=min(max_bytes, item.size or 0))
            for chunk in storage.iter_chunks(item.storage_key):
                inspector.feed(chunk)
            allowed = classify(inspector, item.original_filename)
            _complete(user, item, inspector, allowed)
        except UploadRefused:
            db.session.rollback()
            discard_upload(user, item)
            raise
    except BaseException:
        # A failing store: give the upload back, so the worker can retry finalize (or the
        # cleanup removes it); the row never stays "processing" because of an error here.
        if db.session.get(EvidenceItem, item.id) is not None and item.state == (
            EvidenceState.PROCESSING
        ):
            db.session.rollback()
            db.session.execute(
                update(EvidenceItem)
                .where(EvidenceItem.id == item.id, EvidenceItem.state == EvidenceState.PROCESSING)
                .values(state=EvidenceState.UPLOADING)
            )
            db.session.commit()
        raise
    return item


def _complete(
    user: User, item: EvidenceItem, inspector: FileInspector, allowed: AllowedType
) -> None:
    """Remove location and device data from photos, then record the stored file as ready:
    its size, hash and type describe the bytes at the final key. Commits."""
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
    db.session.commit()


# -- uploads streamed through the app ---------------------------------------------------------
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
    """Store a file read from `stream` in chunks (constant memory), hashing, sizing and sniffing
    it on the way; refuse it afterwards if its content is not allowed. Commits.

    The row comes first ("processing", holding the reservation), the object second: a crash
    in between leaves a row that the cleanup finds, never an object that nothing owns.
    `declared_size` is an upper bound of the file's size (the request's length), if known;
    bytes beyond the reservation are refused as they arrive."""
    max_bytes, quota = _settings()
    item = _reserve(
        user, filename, size=None, upper_bound=declared_size, state=EvidenceState.PROCESSING
    )
    reserved = item.size or 0
    assert item.storage_key
    storage = get_storage()
    inspector = FileInspector(max_bytes=reserved)
    try:
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
                raise _too_large(inspector.size, max_bytes) from None
            raise _quota_full(used_bytes(user) - reserved, quota, None) from None
        allowed = classify(inspector, item.original_filename)
        item.title = clean_text(title, max_length=200) or item.title
        _apply_common(
            item, title=item.title, description=description, item_date=item_date, tags=tags
        )
        _complete(user, item, inspector, allowed)
    except BaseException:
        db.session.rollback()
        stale = db.session.get(EvidenceItem, item.id)
        if stale is not None:
            discard_upload(user, stale)
        raise
    return item


# -- thumbnails -------------------------------------------------------------------------------
def make_thumbnail(storage: Storage, user: User, item: EvidenceItem) -> str | None:
    """A JPEG thumbnail of an image item, stored beside it; None for other types or when the
    image cannot be decoded (the page then shows a type icon)."""
    allowed = ALLOWED_TYPES.get(item.media_type or "")
    if (
        allowed is None
        or not allowed.has_thumbnail
        or not item.storage_key
        or (item.size or 0) > MAX_THUMBNAIL_SOURCE_BYTES
    ):
        return None
    from PIL import ImageOps

    from portfolio.core.images import open_checked

    try:
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as buf:
            for chunk in storage.iter_chunks(item.storage_key):
                buf.write(chunk)
            buf.seek(0)
            # Refuses an image above the pixel budget before a pixel is decoded.
            with open_checked(buf) as img:
                img.draft("RGB", THUMBNAIL_BOX)
                thumb = ImageOps.exif_transpose(img).convert("RGB")
                thumb.thumbnail(THUMBNAIL_BOX)
                out = io.BytesIO()
                thumb.save(out, "JPEG", quality=80, optimize=True)
        out.seek(0)
        key = new_object_key(f"thumbnails/{user.public_id}")
        storage.put(key, out, "image/jpeg")
        return key
    except Exception:
        log.warning("no thumbnail for %s", item.public_id, exc_info=True)
        return None


# -- signed URLs ------------------------------------------------------------------------------
def download_url(user: User | None, item: EvidenceItem, *, inline: bool = False) -> str:
    """A short-lived signed URL for the item's file. Inline only for types a browser shows
    without running anything; everything else is an attachment."""
    if not can_view_item(user, item):
        raise NotFound("There is no such evidence item, or it is not yours to see.")
    if item.kind != EvidenceKind.FILE or not item.storage_key or not item.is_ready:
        raise NotFound("This item has no file.")
    allowed = ALLOWED_TYPES.get(item.media_type or "")
    safe_inline = bool(inline and allowed and allowed.is_inline_safe)
    return get_storage().signed_download_url(
        item.storage_key,
        filename=item.original_filename or "evidence",
        content_type=item.media_type or UNCHECKED_TYPE,
        inline=safe_inline,
    )


def inline_source(user: User | None, item: EvidenceItem) -> tuple[str, str, str, bool]:
    """What the preview route serves for `item`: (key, file name, type, inline). Inline only
    for types a browser shows without running anything; everything else as an attachment."""
    if not can_view_item(user, item):
        raise NotFound("There is no such evidence item, or it is not yours to see.")
    if item.kind != EvidenceKind.FILE or not item.storage_key or not item.is_ready:
        raise NotFound("This item has no file.")
    allowed = ALLOWED_TYPES.get(item.media_type or "")
    return (
        item.storage_key,
        item.original_filename or "evidence",
        item.media_type or UNCHECKED_TYPE,
        bool(allowed and allowed.is_inline_safe),
    )


def thumbnail_url(user: User | None, item: EvidenceItem) -> str | None:
    """A short-lived signed URL of the item's thumbnail, if it has one."""
    if not item.thumbnail_key or not can_view_item(user, item):
        return None
    return get_storage().signed_download_url(
        item.thumbnail_key, filename="thumbnail.jpg", content_type="image/jpeg", inline=True
    )


# -- housekeeping -----------------------------------------------------------------------------
def cleanup_abandoned_uploads(older_than: timedelta, *, now: datetime | None = None) -> int:
    """Delete uploads started more than `older_than` ago and never finalized (their rows,
    objects and unfinished multipart parts), including streamed uploads whose request died
    while "processing". Safe to run at any time: returns how many."""
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
