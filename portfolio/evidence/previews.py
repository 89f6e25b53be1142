"""Previews of files a browser cannot show by itself: HEIC photos, videos, PDFs, office files.

A preview is one JPEG image stored beside the file (`preview_key`), plus the item's thumbnail
made from it: the photo itself for HEIC/HEIF (through pillow-heif), a poster frame for videos
(Debian's ffmpeg), the first page for PDFs (poppler's pdftoppm) and for Word, Excel,
PowerPoint and OpenDocument files (converted to PDF by LibreOffice headless first).

Making one can take seconds (LibreOffice starts a whole office suite), so it never runs inside
the upload request: the upload commits the item "pending" and queues the `make_item_images` job
(`portfolio.evidence.jobs`) after the commit, which also makes the thumbnail of a plain image.
The item page says a preview is being made until then. Each tool runs with a time limit and a
memory limit, in an empty temporary folder. Where a preview cannot be made the item says so and
offers the download (`preview_state` "unavailable").
"""

from __future__ import annotations

import io
import logging
import os
import resource
import shutil
import signal
import subprocess
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app

from portfolio.core.jobs import enqueue
from portfolio.core.transaction import after_commit

if TYPE_CHECKING:
    from portfolio.accounts.models import User
    from portfolio.evidence.models import EvidenceItem
    from portfolio.storage import Storage

log = logging.getLogger(__name__)

#: Preview images fit in this box (the item page shows them at most this wide).
PREVIEW_BOX = (1600, 1600)
THUMBNAIL_BOX = (480, 480)
#: Images larger than this get a type icon instead of a thumbnail.
MAX_THUMBNAIL_SOURCE_BYTES = 40 * 1024 * 1024
#: Files larger than this get no preview (reading them back would take too long).
MAX_PREVIEW_SOURCE_BYTES = 512 * 1024 * 1024
#: Wall-clock and memory limits of one tool run.
TOOL_TIMEOUT_SECONDS = 60
TOOL_MEMORY_BYTES = 2 * 1024**3


class PreviewState(StrEnum):
    """Whether an item has a preview image."""

    #: Being made in the background.
    PENDING = "pending"
    READY = "ready"
    #: No preview could be made (unknown format, damaged file, tool missing or too slow).
    UNAVAILABLE = "unavailable"


HEIF_TYPES = {"image/heic", "image/heif"}
VIDEO_TYPES = {"video/mp4", "video/webm", "video/quicktime"}
PDF_TYPES = {"application/pdf"}
OFFICE_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
}
PREVIEW_TYPES = HEIF_TYPES | VIDEO_TYPES | PDF_TYPES | OFFICE_TYPES


def wants_preview(media_type: str | None) -> bool:
    """Whether files of this type get a preview image made in the background."""
    return media_type in PREVIEW_TYPES


def schedule_preview(item: EvidenceItem) -> None:
    """Queue the thumbnail and preview of a just-finished item, in the transaction that
    records it as ready: the job runs once that commits (nothing is queued on a rollback)."""
    from portfolio.evidence.jobs import make_item_images
    from portfolio.evidence.validation import ALLOWED_TYPES

    if not item.storage_key:
        return
    allowed = ALLOWED_TYPES.get(item.media_type or "")
    thumbnail = bool(allowed and allowed.has_thumbnail)
    mode = current_app.config["PORTFOLIO"].preview_mode
    preview = wants_preview(item.media_type) and mode != "off"
    if not (thumbnail or preview):
        return
    if preview:
        item.preview_state = PreviewState.PENDING
    if mode == "inline":  # command-line use (demo data) without a worker: right after commit
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        public_id = item.public_id
        after_commit(lambda: _inline(app, public_id))
        return
    enqueue(make_item_images, item.public_id, organization_id=None)


def _inline(app: Flask, public_id: str) -> None:
    """Run the images job in this process, in its own transaction: like a job run by the
    worker, it commits through `core.transaction.commit`."""
    from portfolio.core.transaction import commit
    from portfolio.evidence.jobs import make_item_images
    from portfolio.extensions import db

    with app.app_context():
        try:
            make_item_images(public_id)
            commit()
        finally:
            db.session.remove()


def make_item_images(item: EvidenceItem) -> None:
    """Make what the item still lacks: the thumbnail of an image, the preview of a file a
    browser cannot show (when "pending"). Idempotent: what exists is not made again. A file
    that cannot be rendered ends "unavailable"; a storage outage raises (the job retries)."""
    from portfolio.core.transaction import on_rollback
    from portfolio.storage import StorageError, get_storage

    if item.thumbnail_key is None:
        storage = get_storage()
        key = make_thumbnail(storage, item.owner, item)
        if key is not None:
            on_rollback(lambda: storage.delete(key))  # the job failed: no orphan thumbnail
        item.thumbnail_key = key
    if item.preview_state == PreviewState.PENDING:
        try:
            make_preview(item)
        except StorageError:
            raise
        except Exception:
            log.exception("preview of %s failed", item.public_id)
            item.preview_state = PreviewState.UNAVAILABLE


def make_thumbnail(storage: Storage, user: User, item: EvidenceItem) -> str | None:
    """A JPEG thumbnail of an image item, stored beside it; None for other types or when the
    image cannot be decoded (the page then shows a type icon)."""
    from portfolio.evidence.validation import ALLOWED_TYPES

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
    from portfolio.storage import new_object_key

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


def make_preview(item: EvidenceItem) -> None:
    """Render the item's preview and thumbnail now, store them, set `preview_state` (the
    caller commits). A file that cannot be rendered ends "unavailable", never an error."""
    from portfolio.storage import get_storage, new_object_key

    storage = get_storage()
    assert item.storage_key
    if (item.size or 0) > MAX_PREVIEW_SOURCE_BYTES:
        item.preview_state = PreviewState.UNAVAILABLE
        return
    with tempfile.TemporaryDirectory(prefix="portfolio-preview-") as folder:
        work = Path(folder)
        source = work / "source"
        with source.open("wb") as out:
            for chunk in storage.iter_chunks(item.storage_key):
                out.write(chunk)
        image = _render(item.media_type or "", source, work)
        if image is None:
            item.preview_state = PreviewState.UNAVAILABLE
            return
        preview, thumb = _jpegs(image)
    owner = item.owner.public_id
    preview_key = new_object_key(f"previews/{owner}")
    storage.put(preview_key, preview, "image/jpeg")
    old = [k for k in (item.preview_key, item.thumbnail_key) if k]
    item.preview_key = preview_key
    if thumb is not None:
        thumbnail_key = new_object_key(f"thumbnails/{owner}")
        storage.put(thumbnail_key, thumb, "image/jpeg")
        item.thumbnail_key = thumbnail_key
    item.preview_state = PreviewState.READY
    for key in old:
        if key not in (item.preview_key, item.thumbnail_key):
            storage.delete(key)


def _render(media_type: str, source: Path, work: Path) -> Path | bytes | None:
    """A raster image of the file (a path to a PNG/JPEG, or HEIF bytes decoded to JPEG)."""
    if media_type in HEIF_TYPES:
        return _heif_to_jpeg(source)
    if media_type in VIDEO_TYPES:
        return _video_frame(source, work)
    if media_type in PDF_TYPES:
        return _pdf_first_page(source, work)
    if media_type in OFFICE_TYPES:
        pdf = _office_to_pdf(source, work)
        return _pdf_first_page(pdf, work) if pdf is not None else None
    return None


def _heif_to_jpeg(source: Path) -> bytes | None:
    from PIL import Image, ImageOps

    from portfolio.evidence import photos

    if not photos.HAS_HEIF:
        return None
    try:
        with Image.open(source) as img:
            if img.size[0] * img.size[1] > photos.MAX_PHOTO_PIXELS:
                return None
            img.draft("RGB", PREVIEW_BOX)
            out = io.BytesIO()
            ImageOps.exif_transpose(img).convert("RGB").save(out, "JPEG", quality=85)
            return out.getvalue()
    except Exception:
        log.info("HEIF photo could not be decoded", exc_info=True)
        return None


def _limit_memory() -> None:  # runs in the child, before the tool starts
    resource.setrlimit(resource.RLIMIT_AS, (TOOL_MEMORY_BYTES, TOOL_MEMORY_BYTES))


def _tool(args: list[str], work: Path) -> bool:
    """Run one converter in `work` with a time and a memory limit; True when it succeeded.

    The tool gets its own process group, so a timeout kills it with every helper it started
    (LibreOffice runs a second process)."""
    if shutil.which(args[0]) is None:
        log.warning("%s is not installed: no preview", args[0])
        return False
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "LANG": "C.UTF-8"}
    try:
        proc = subprocess.Popen(  # noqa: S603 - fixed tools; the only input is a file path we made
            args,
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=_limit_memory,
        )
    except OSError:
        log.info("%s could not start", args[0], exc_info=True)
        return False
    try:
        code = proc.wait(timeout=TOOL_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.info("%s took longer than %d s: no preview", args[0], TOOL_TIMEOUT_SECONDS)
        return False
    return code == 0


def _video_frame(source: Path, work: Path) -> Path | None:
    """A poster frame: one second in (the first frame is often black), else the first."""
    target = work / "frame.jpg"
    for offset in ("1", "0"):
        ok = _tool(
            [
                "ffmpeg",
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "error",
                "-ss",
                offset,
                "-i",
                str(source),
                "-frames:v",
                "1",
                "-vf",
                f"scale='min({PREVIEW_BOX[0]},iw)':-2",
                "-y",
                str(target),
            ],
            work,
        )
        if ok and target.is_file() and target.stat().st_size > 0:
            return target
    return None


def _pdf_first_page(source: Path, work: Path) -> Path | None:
    """Page 1 as a PNG, at most PREVIEW_BOX."""
    stem = work / "page"
    ok = _tool(
        [
            "pdftoppm",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            "-png",
            "-scale-to",
            str(PREVIEW_BOX[0]),
            str(source),
            str(stem),
        ],
        work,
    )
    target = stem.with_suffix(".png")
    return target if ok and target.is_file() else None


def _office_to_pdf(source: Path, work: Path) -> Path | None:
    """LibreOffice headless, with a profile of its own in the temporary folder (so parallel
    conversions do not share one), converting to PDF."""
    outdir = work / "pdf"
    outdir.mkdir()
    ok = _tool(
        [
            "soffice",
            f"-env:UserInstallation=file://{work / 'profile'}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            str(source),
        ],
        work,
    )
    target = outdir / "source.pdf"
    return target if ok and target.is_file() else None


def _jpegs(image: Path | bytes) -> tuple[io.BytesIO, io.BytesIO | None]:
    """The preview (at most PREVIEW_BOX) and the thumbnail (THUMBNAIL_BOX) as JPEGs."""
    from PIL import Image

    data = image if isinstance(image, bytes) else image.read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
    rgb.thumbnail(PREVIEW_BOX)
    preview = io.BytesIO()
    rgb.save(preview, "JPEG", quality=85, optimize=True)
    preview.seek(0)
    rgb.thumbnail(THUMBNAIL_BOX)
    thumb = io.BytesIO()
    rgb.save(thumb, "JPEG", quality=80, optimize=True)
    thumb.seek(0)
    return preview, thumb
