"""Portability: the worker's whole portfolio as a ZIP (evidence and every badge, baked and as
OB 3.0 JSON). The evidence side of the export is `portfolio.evidence.export`; account deletion is
`portfolio.accounts.account_settings.delete_account`, each domain removing its own data.

The worker asks for an export; a background job streams the ZIP into storage (memory bounded:
chunks flow from the stored files through the ZIP writer into the store's multipart upload),
recording its progress, then mails the worker a link. The export is kept `KEEP_EXPORT`, then
removed by a periodic job.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from portfolio.accounts.models import User
from portfolio.awards import baking, issuance
from portfolio.awards.models import Award, PortfolioExport
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.jobs import enqueue
from portfolio.core.mail import send_mail
from portfolio.core.urls import public_url
from portfolio.evidence.export import ExtraEntry, safe_name, stream_portfolio
from portfolio.evidence.models import EvidenceItem, EvidenceState
from portfolio.extensions import db
from portfolio.storage import get_storage, new_object_key

#: How long a finished export stays downloadable.
KEEP_EXPORT = timedelta(days=7)
#: Progress is written after every this many bytes of ZIP.
PROGRESS_EVERY = 4 * 1024 * 1024
#: Expected bytes beyond the evidence files (badges, manifest, ZIP headers), for the progress.
OVERHEAD = 256 * 1024


def _badge_entries(user: User) -> list[ExtraEntry]:
    entries: list[ExtraEntry] = []
    for award in issuance.my_awards(user):
        if award.ob3_credential is None:
            continue  # being signed: in the next export, moments from now
        base = f"badges/{safe_name(award.credential.name, 'badge')}-{award.public_id}"
        meta = {
            "id": award.public_id,
            "name": award.credential.name,
            "issuer": award.organization.name,
            "issued": award.issued_at.isoformat(),
            "expires": award.expires_at.isoformat() if award.expires_at else None,
            "status": award.status(),
            "url": public_url("verify.badge", aid=award.public_id),
        }

        def baked(award: Award = award) -> Iterator[bytes]:
            yield baking.baked_badge(award, "3.0", "png")[0]

        def document(award: Award = award) -> Iterator[bytes]:
            yield (award.ob3_credential or "").encode("utf-8")

        entries.append(ExtraEntry(f"{base}.png", baked, dict(meta, format="ob3-baked-png")))
        entries.append(ExtraEntry(f"{base}.json", document, dict(meta, format="ob3-json")))
    return entries


def export_portfolio(user: User) -> Iterator[bytes]:
    """The worker's portfolio as ZIP chunks (evidence, badges, manifest, index)."""
    return stream_portfolio(user, _badge_entries(user))


def record_export(user: User) -> None:
    """Audit a download of the whole portfolio (the caller commits before streaming it)."""
    audit.record(
        "portfolio.export", actor_id=user.id, subject_type="user", subject_id=user.public_id
    )


# -- exports built in the background -------------------------------------------------------------
def request_export(user: User) -> PortfolioExport:
    """Queue an export of the worker's portfolio (built by a job after commit). One at a time:
    while one is being made, asking again returns it."""
    running = db.session.scalar(
        select(PortfolioExport).where(
            PortfolioExport.user_id == user.id,
            PortfolioExport.state.in_(("queued", "building")),
        )
    )
    if running is not None:
        return running
    expected = db.session.scalar(
        select(func.coalesce(func.sum(EvidenceItem.size), 0)).where(
            EvidenceItem.owner_id == user.id, EvidenceItem.state == EvidenceState.READY
        )
    )
    export = PortfolioExport(user_id=user.id, bytes_expected=int(expected or 0) + OVERHEAD)
    db.session.add(export)
    db.session.flush()
    record_export(user)
    from portfolio.awards.jobs import build_export

    enqueue(build_export, export.public_id)
    return export


def my_exports(user: User) -> list[PortfolioExport]:
    """The worker's exports not yet removed, newest first."""
    return list(
        db.session.scalars(
            select(PortfolioExport)
            .where(PortfolioExport.user_id == user.id)
            .order_by(PortfolioExport.id.desc())
            .limit(5)
        )
    )


def get_own_export(user: User, public_id: str) -> PortfolioExport:
    """The worker's own export; anybody else's answers as not found."""
    export = (
        db.session.scalar(select(PortfolioExport).where(PortfolioExport.public_id == public_id))
        if is_public_id(public_id)
        else None
    )
    if export is None or export.user_id != user.id:
        raise NotFound("No such export.")
    return export


def export_download_url(user: User, public_id: str) -> str:
    """A short-lived signed URL of the finished ZIP (the owner's only)."""
    export = get_own_export(user, public_id)
    if export.state != "ready" or not export.storage_key:
        raise DomainError("This export is not ready yet.")
    return get_storage().signed_download_url(
        export.storage_key,
        filename=f"portfolio-{export.created_at:%Y%m%d}.zip",
        content_type="application/zip",
    )


class _ChunkReader(io.RawIOBase):
    """A readable file over an iterator of chunks (what `Storage.put` reads from), counting the
    bytes and reporting them every `PROGRESS_EVERY`. Holds at most one chunk."""

    def __init__(self, chunks: Iterator[bytes], progress: Callable[[int], None]) -> None:
        self._chunks = chunks
        self._rest = b""
        self._progress = progress
        self.count = 0
        self._reported = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        self.count += n
        if self.count - self._reported >= PROGRESS_EVERY:
            self._reported = self.count
            self._progress(self.count)
        return n


def _absolute(path: str) -> str:
    return current_app.config["PORTFOLIO"].public_base_url.rstrip("/") + path


def start_building(public_id: str) -> PortfolioExport | None:
    """The export to build, marked "building" from the start (progress zero, no error); None
    when it is gone or ready already. A run that failed midway starts again from the beginning
    under a new key (the store never keeps a half-written object)."""
    export = db.session.scalar(
        select(PortfolioExport).where(PortfolioExport.public_id == public_id)
    )
    if export is None or export.state == "ready":
        return None
    export.state = "building"
    export.bytes_done = 0
    export.error = None
    return export


def record_progress(export_id: int, done: int) -> None:
    """How many bytes of the export's ZIP are written so far."""
    db.session.execute(
        update(PortfolioExport).where(PortfolioExport.id == export_id).values(bytes_done=done)
    )


def record_failure(export_id: int, exc: BaseException) -> None:
    """The export's build failed (its page says so; the job is retried)."""
    db.session.execute(
        update(PortfolioExport)
        .where(PortfolioExport.id == export_id)
        .values(state="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
    )


def write_export(export: PortfolioExport, progress: Callable[[int], None]) -> None:
    """Stream the export's ZIP into storage under a new key, reporting the bytes written to
    `progress`; then mark the export ready and mail the worker a link (after commit)."""
    user = export.user
    key = new_object_key(f"exports/{user.public_id}")
    reader = _ChunkReader(export_portfolio(user), progress)
    info = get_storage().put(key, io.BufferedReader(reader, 1024 * 1024), "application/zip")
    now = utcnow()
    export.state = "ready"
    export.storage_key = key
    export.size = info.size
    export.bytes_done = info.size
    export.finished_at = now
    export.expires_at = now + KEEP_EXPORT
    link = _absolute("/account/data")
    send_mail(
        user.email,
        "Portfolio: your export is ready",
        f"The ZIP of your whole portfolio ({info.size / 1024 / 1024:.1f} MB) is ready. "
        f"Download it from your data page until {export.expires_at:%d %B %Y}:\n\n{link}\n",
    )


def remove_expired_exports(now: datetime) -> int:
    """Delete exports past their expiry: the row now, the ZIP once that commits."""
    from portfolio.storage import delete_after_commit

    old = list(
        db.session.scalars(
            select(PortfolioExport).where(
                PortfolioExport.expires_at.is_not(None), PortfolioExport.expires_at < now
            )
        )
    )
    keys = [e.storage_key for e in old if e.storage_key]
    for export in old:
        db.session.delete(export)
    delete_after_commit(keys)
    return len(old)
