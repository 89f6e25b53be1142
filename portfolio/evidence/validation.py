"""Checking uploaded files by their content: size, SHA-256 and type, decided while the bytes pass.

The browser's claimed type and the file name are never trusted. `FileInspector` sees every chunk
once (hashing, counting, keeping the first bytes for libmagic and collecting zip entry names for
office documents); `classify` then decides against the allowlist and explains a refusal in words
a worker understands ("this file is an HTML page, not a PDF").
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO

import magic

from portfolio.core.errors import DomainError
from portfolio.core.images import ImageTooLarge, check_image_header
from portfolio.core.sanitize import clean_text

#: How many leading bytes libmagic sees: enough for every type on the allowlist.
SNIFF_BYTES = 64 * 1024
#: Zip local file header signature.
_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_HEADER_LEN = 30
#: Stop collecting entry names after this many (a zip bomb of names is not our problem).
_MAX_ZIP_NAMES = 5000


@dataclass(frozen=True)
class AllowedType:
    """One entry of the allowlist."""

    media_type: str
    family: str  # image | pdf | video | audio | document | text
    label: str  # "a JPEG photo"
    #: Browsers display this type themselves without running anything from it.
    is_inline_safe: bool = False
    #: Pillow can make a thumbnail of it.
    has_thumbnail: bool = False


_ALLOWED = [
    AllowedType("image/jpeg", "image", "a JPEG photo", True, True),
    AllowedType("image/png", "image", "a PNG image", True, True),
    AllowedType("image/webp", "image", "a WebP image", True, True),
    AllowedType("image/gif", "image", "a GIF image", True, True),
    AllowedType("image/heic", "image", "a HEIC photo"),
    AllowedType("image/heif", "image", "a HEIF photo"),
    AllowedType("application/pdf", "pdf", "a PDF", True),
    AllowedType("video/mp4", "video", "an MP4 video", True),
    AllowedType("video/webm", "video", "a WebM video", True),
    AllowedType("video/quicktime", "video", "a QuickTime video"),
    AllowedType("audio/mpeg", "audio", "an MP3 recording", True),
    AllowedType("audio/x-m4a", "audio", "an M4A recording", True),
    AllowedType("audio/mp4", "audio", "an M4A recording", True),
    AllowedType("audio/ogg", "audio", "an Ogg recording", True),
    AllowedType("audio/x-wav", "audio", "a WAV recording", True),
    AllowedType("audio/wav", "audio", "a WAV recording", True),
    AllowedType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "document",
        "a Word document",
    ),
    AllowedType(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "document",
        "an Excel spreadsheet",
    ),
    AllowedType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "document",
        "a PowerPoint presentation",
    ),
    AllowedType("application/vnd.oasis.opendocument.text", "document", "an OpenDocument text"),
    AllowedType(
        "application/vnd.oasis.opendocument.spreadsheet", "document", "an OpenDocument spreadsheet"
    ),
    AllowedType("text/plain", "text", "a plain text file", True),
]
ALLOWED_TYPES: dict[str, AllowedType] = {t.media_type: t for t in _ALLOWED}

#: libmagic spells a few allowed types differently across versions; map them to one name.
_ALIASES = {
    "application/ogg": "audio/ogg",
    "video/ogg": "audio/ogg",
    "audio/vnd.wave": "audio/x-wav",
    "audio/mp3": "audio/mpeg",
    "image/heic-sequence": "image/heic",
    "video/x-m4v": "video/mp4",
}

#: Refused types, described for the message the worker reads.
_REFUSED_LABELS = {
    "text/html": "an HTML page",
    "application/xhtml+xml": "an HTML page",
    "image/svg+xml": "an SVG drawing (SVG can carry scripts)",
    "application/x-dosexec": "a Windows program",
    "application/x-msdownload": "a Windows program",
    "application/x-executable": "a program",
    "application/x-sharedlib": "a program library",
    "application/x-pie-executable": "a program",
    "application/x-mach-binary": "a macOS program",
    "text/x-shellscript": "a shell script",
    "text/x-python": "a Python script",
    "text/x-script.python": "a Python script",
    "application/javascript": "a JavaScript program",
    "text/javascript": "a JavaScript program",
    "text/x-php": "a PHP script",
    "text/x-perl": "a Perl script",
    "application/zip": "a zip archive",
    "application/x-7z-compressed": "a 7-Zip archive",
    "application/x-rar": "a RAR archive",
    "application/vnd.rar": "a RAR archive",
    "application/gzip": "a gzip archive",
    "application/x-tar": "a tar archive",
    "application/x-bzip2": "a bzip2 archive",
    "application/x-xz": "an xz archive",
    "application/java-archive": "a Java archive",
    "application/x-msi": "a Windows installer",
    "application/vnd.microsoft.portable-executable": "a Windows program",
    "application/x-empty": "empty",
    "inode/x-empty": "empty",
}

#: What a file claims to be by its extension, for the "..., not a PDF" part of the message.
_EXTENSION_LABELS = {
    ".pdf": "a PDF",
    ".jpg": "a JPEG photo",
    ".jpeg": "a JPEG photo",
    ".png": "a PNG image",
    ".gif": "a GIF image",
    ".webp": "a WebP image",
    ".heic": "a HEIC photo",
    ".mp4": "an MP4 video",
    ".webm": "a WebM video",
    ".mov": "a QuickTime video",
    ".mp3": "an MP3 recording",
    ".m4a": "an M4A recording",
    ".ogg": "an Ogg recording",
    ".wav": "a WAV recording",
    ".docx": "a Word document",
    ".xlsx": "an Excel spreadsheet",
    ".pptx": "a PowerPoint presentation",
    ".odt": "an OpenDocument text",
    ".ods": "an OpenDocument spreadsheet",
    ".txt": "a plain text file",
}

#: Leading bytes of refused programs that libmagic may report only as octet-stream.
_SIGNATURES = [
    (b"MZ", "application/x-dosexec"),
    (b"\x7fELF", "application/x-executable"),
    (b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (b"#!", "text/x-shellscript"),
]

_OOXML_BY_FOLDER = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


class UploadRefused(DomainError):
    """The file is not accepted; `message` says why, in words for the worker."""

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class UploadTooLarge(UploadRefused):
    """The file (or the worker's total) is over the limit."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=413)


def human_size(n: int) -> str:
    """Bytes as a short human-readable figure (binary units)."""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return (
                f"{int(size)} {unit}"
                if unit == "bytes"
                else f"{size:.1f} {unit}".replace(".0 ", " ")
            )
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


def clean_filename(name: str) -> str:
    """A display name: no folders, no control or bidi characters, bounded length."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = clean_text(base, max_length=200).strip(". ")
    return cleaned or "file"


@dataclass
class FileInspector:
    """Sees every chunk of one upload once: counts, hashes, keeps the head, lists zip entries.

    Raises `UploadTooLarge` as soon as more than `max_bytes` have passed, so an oversized
    stream is cut off instead of being stored first.
    """

    max_bytes: int
    size: int = 0
    head: bytes = b""
    zip_names: list[str] = field(default_factory=list)
    _sha: hashlib._Hash = field(default_factory=hashlib.sha256)
    _is_zip: bool | None = None
    _zip_buf: bytes = b""
    _zip_skip: int = 0

    def feed(self, chunk: bytes) -> None:
        """Account for one chunk of the file."""
        if not chunk:
            return
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise UploadTooLarge(
                f"This file is larger than the {human_size(self.max_bytes)} limit per file."
            )
        self._sha.update(chunk)
        if len(self.head) < SNIFF_BYTES:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
        if self._is_zip is None and len(self.head) >= 4:
            self._is_zip = self.head.startswith(_ZIP_LOCAL)
            if self._is_zip:
                # Start parsing from the beginning, including what arrived before this chunk.
                self._zip_buf = self.head[: self.size - len(chunk)]
        if self._is_zip:
            self._scan_zip(chunk)

    def _scan_zip(self, chunk: bytes) -> None:
        """Walk local file headers in order, skipping each entry's data by its stated size.

        Entries written with a data descriptor (size unknown up front) fall back to searching
        for the next header signature.
        """
        buf = self._zip_buf + chunk
        pos = 0
        while len(self.zip_names) < _MAX_ZIP_NAMES:
            if self._zip_skip:
                step = min(self._zip_skip, len(buf) - pos)
                pos += step
                self._zip_skip -= step
                if self._zip_skip:
                    break
            idx = buf.find(_ZIP_LOCAL, pos)
            if idx < 0 or len(buf) - idx < _ZIP_HEADER_LEN:
                pos = max(pos, len(buf) - _ZIP_HEADER_LEN) if idx < 0 else idx
                break
            flags, _, _, _, _, csize, _, nlen, xlen = struct.unpack(
                "<HHHHIIIHH", buf[idx + 6 : idx + _ZIP_HEADER_LEN]
            )
            end = idx + _ZIP_HEADER_LEN + nlen + xlen
            if len(buf) < end:
                pos = idx
                break
            name = buf[idx + _ZIP_HEADER_LEN : idx + _ZIP_HEADER_LEN + nlen]
            self.zip_names.append(name.decode("utf-8", "replace"))
            pos = end
            self._zip_skip = 0 if flags & 0x08 else csize
        self._zip_buf = buf[pos:][-(64 * 1024) :]

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def read_through(self, stream: IO[bytes]) -> _InspectingReader:
        """A reader that feeds this inspector as `stream` is consumed (for `Storage.put`)."""
        return _InspectingReader(stream, self)


class _InspectingReader:
    def __init__(self, stream: IO[bytes], inspector: FileInspector) -> None:
        self._stream = stream
        self._inspector = inspector

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._inspector.feed(data)
        return data


def inspect_chunks(chunks: Iterator[bytes], max_bytes: int) -> FileInspector:
    """Inspect a whole stored object, chunk by chunk."""
    inspector = FileInspector(max_bytes=max_bytes)
    for chunk in chunks:
        inspector.feed(chunk)
    return inspector


def sniff(head: bytes) -> str:
    """libmagic's media type for the first bytes of a file."""
    if not head:
        return "application/x-empty"
    detected = magic.from_buffer(head, mime=True)
    return _ALIASES.get(detected, detected)


def _claimed_label(filename: str) -> str | None:
    return _EXTENSION_LABELS.get(PurePosixPath(filename.lower()).suffix)


def _detected_label(media_type: str) -> str:
    if media_type in ALLOWED_TYPES:
        return ALLOWED_TYPES[media_type].label
    if media_type in _REFUSED_LABELS:
        return _REFUSED_LABELS[media_type]
    if media_type.startswith("text/"):
        return f"a kind of text file that is not accepted ({media_type})"
    return f"a kind of file that is not accepted ({media_type})"


def _check_image_pixels(inspector: FileInspector, display: str) -> None:
    """Refuse a decompression bomb by its header (the first bytes hold the dimensions of every
    allowed image type Pillow reads): browsers showing it inline and the thumbnail would decode
    it whole. A header cut off by the sniffing window is checked again before the thumbnail."""
    try:
        check_image_header(inspector.head, what=f"“{display}”")
    except ImageTooLarge as exc:
        raise UploadRefused(exc.message) from exc


def classify(inspector: FileInspector, filename: str) -> AllowedType:
    """The allowed type of an inspected file, or `UploadRefused` saying what it really is."""
    display = clean_filename(filename)
    if inspector.size == 0:
        raise UploadRefused(f"“{display}” is empty (0 bytes). Choose the file again.")
    media_type = sniff(inspector.head)
    if media_type == "application/zip" or (
        inspector.head.startswith(_ZIP_LOCAL) and media_type == "application/octet-stream"
    ):
        # Reordered OOXML files look like plain zips to libmagic: decide by their parts.
        names = set(inspector.zip_names)
        if "[Content_Types].xml" in names:
            for folder, ooxml in _OOXML_BY_FOLDER.items():
                if any(n.startswith(folder) for n in names):
                    media_type = ooxml
                    break
    if media_type == "application/octet-stream":
        # Name what libmagic could not, so the refusal message says what the file is.
        for signature, known in _SIGNATURES:
            if inspector.head.startswith(signature):
                media_type = known
                break
    if media_type == "text/plain" and b"<svg" in inspector.head[:4096].lower():
        media_type = "image/svg+xml"  # an SVG without an XML declaration
    allowed = ALLOWED_TYPES.get(media_type)
    if allowed is not None:
        if allowed.family == "image":
            _check_image_pixels(inspector, display)
        return allowed
    detected = _detected_label(media_type)
    claimed = _claimed_label(display)
    if detected == "empty":
        raise UploadRefused(f"“{display}” is empty. Choose the file again.")
    if claimed and claimed != detected:
        raise UploadRefused(f"“{display}” is {detected}, not {claimed}. It was not added.")
    raise UploadRefused(
        f"“{display}” is {detected}, which cannot be added to a portfolio. Accepted: photos, "
        "PDFs, videos, audio recordings, office documents and plain text."
    )


def inline_kind(media_type: str | None) -> str:
    """How a page (review, public evidence) shows a file inline: image, pdf, video, audio or
    none (offered as a download only)."""
    allowed = ALLOWED_TYPES.get(media_type or "")
    if allowed is None or not allowed.is_inline_safe:
        return "none"
    return allowed.family if allowed.family in {"image", "pdf", "video", "audio"} else "none"
