"""Evidence rules: who may see an item, what may change, links and reflections, and the
signed URLs of files.

Every function takes the acting user explicitly and none commits (the view does). File uploads
are in `portfolio.evidence.uploads`, the quota in `portfolio.evidence.quota`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select

from portfolio.accounts.models import User
from portfolio.core.audit import record
from portfolio.core.db import utcnow
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.sanitize import clean_text, render_markdown
from portfolio.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from portfolio.evidence.validation import ALLOWED_TYPES
from portfolio.extensions import db
from portfolio.storage import delete_after_commit, get_storage

#: Type under which bytes are stored before (and after) the app has looked at them; downloads
#: always name the sniffed type explicitly.
UNCHECKED_TYPE = "application/octet-stream"
MAX_TAGS = 20


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


def apply_common(
    item: EvidenceItem,
    *,
    title: str,
    description: str,
    item_date: date | None,
    tags: str | Iterable[str] | None,
) -> None:
    """Set the fields every kind of item has (title, description, date, tags)."""
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
    apply_common(item, title=title, description=description, item_date=item_date, tags=tags)
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
    apply_common(item, title=title, description=description, item_date=item_date, tags=tags)
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
    apply_common(item, title=title, description=description, item_date=item_date, tags=tags)
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
