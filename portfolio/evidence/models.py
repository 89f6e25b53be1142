"""Evidence items: files, links and written reflections in a worker's library."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portfolio.accounts.models import User
from portfolio.core.db import TimestampMixin, UTCDateTime, utcnow
from portfolio.core.ids import new_public_id
from portfolio.core.urls import clean_http_url
from portfolio.extensions import db


class EvidenceKind(StrEnum):
    """What an item holds."""

    FILE = "file"
    LINK = "link"
    TEXT = "text"


class EvidenceState(StrEnum):
    """Where a file item is in its life. Links and reflections are ready at once."""

    #: Bytes are on their way to storage; not shown as evidence, removed if abandoned.
    UPLOADING = "uploading"
    #: The app holds the item: it is receiving a streamed upload or checking and moving the
    #: bytes of a finished one. Exactly one request gets to move an item into this state, so
    #: a file is finalized once; no other call (finalize, cancel, part links) touches it.
    PROCESSING = "processing"
    #: Checked by content and hashed; usable as evidence.
    READY = "ready"
    #: Kept only for an audit trail; refused uploads are normally deleted outright.
    REJECTED = "rejected"


def _today() -> date:
    return utcnow().date()


class EvidenceItem(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """One piece of evidence owned by one worker (not tied to an organization)."""

    __tablename__ = "evidence_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[EvidenceKind] = mapped_column(String(8), nullable=False)
    state: Mapped[EvidenceState] = mapped_column(
        String(16), nullable=False, default=EvidenceState.READY
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    #: Markdown as written by the worker, and its sanitized HTML (the only one rendered).
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    description_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: When the work happened (chosen by the worker), not when it was uploaded.
    item_date: Mapped[date] = mapped_column(Date, nullable=False, default=_today)
    #: Short lower-case labels, e.g. ["welding", "site-b"].
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)

    #: Links: the address (http/https only).
    url: Mapped[str | None] = mapped_column(String(2000))
    #: Reflections: Markdown text and its sanitized HTML.
    body: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)

    #: Files: server-built storage key of the bytes and of the thumbnail (images only). Browsers
    #: upload to `staging_key_for(storage_key)`, never to this key: the app copies the bytes
    #: here when it finalizes, so no upload link can replace a file once it was checked.
    storage_key: Mapped[str | None] = mapped_column(String(512), unique=True)
    thumbnail_key: Mapped[str | None] = mapped_column(String(512))
    #: Files a browser cannot show (HEIC, video, PDF, office): a JPEG rendering (poster frame,
    #: first page) and whether it exists ("pending", "ready", "unavailable"; empty: none tried).
    preview_key: Mapped[str | None] = mapped_column(String(512))
    preview_state: Mapped[str | None] = mapped_column(String(16))
    #: The name the file had on the worker's device, cleaned for display; never a storage key.
    original_filename: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    #: Bytes reserved against the quota while uploading (the declared size, reserved under a
    #: lock before any byte is accepted), the measured size of the stored file once ready.
    size: Mapped[int | None] = mapped_column(BigInteger)
    #: Hex SHA-256 of the stored bytes, computed by the app after the upload.
    sha256: Mapped[str | None] = mapped_column(String(64))
    #: Type detected from the content (libmagic), never the browser's claim.
    media_type: Mapped[str | None] = mapped_column(String(120))
    #: S3 multipart upload id while a large direct upload is in progress.
    upload_id: Mapped[str | None] = mapped_column(String(1024))
    #: Set when a submitted submission uses the item: it may then be neither changed nor deleted.
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )

    owner: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_evidence_items_owner_id_state", "owner_id", "state"),
        Index("ix_evidence_items_state_created_at", "state", "created_at"),
    )

    @validates("url")
    def _check_url(self, _key: str, value: str | None) -> str | None:
        # Shown as a link (and written into badges): http(s) only, never javascript: or data:,
        # whether it comes from a form, a service or an import.
        return None if value is None else clean_http_url(value, what="The address")

    @property
    def is_ready(self) -> bool:
        return self.state == EvidenceState.READY

    @property
    def staging_key(self) -> str | None:
        """Where browsers upload this item's bytes before they are checked (never served)."""
        return staging_key_for(self.storage_key) if self.storage_key else None


#: Prefix of the keys browsers upload to; nothing under it is ever served or signed for reading.
STAGING_PREFIX = "staging/"


def staging_key_for(storage_key: str) -> str:
    """The staging key that belongs to a final storage key."""
    return STAGING_PREFIX + storage_key
