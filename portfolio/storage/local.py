"""Local-folder backend: files under one root, URLs signed by the application itself.

Behaves like the S3 backend (signed, expiring download and upload URLs) so the embedded setup
exercises the same flows as production.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flask import url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portfolio.storage import ObjectInfo, PresignedUpload, UploadedPart, check_key

CHUNK = 1024 * 1024
#: Upload ids are generated here; anything else is refused before it touches a path.
_UPLOAD_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class LocalStorage:
    """Objects as files under `root`; refuses any path that would leave it."""

    def __init__(self, root: str, *, secret_key: str, default_expiry: int = 300) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.default_expiry = default_expiry
        self._signer = URLSafeTimedSerializer(secret_key, salt="portfolio.local-storage")
        #: Asked before an upload link's bytes are accepted: a link outlives the upload it was
        #: made for (cancelled, finalized), so the owner of the key decides whether bytes for
        #: it are still expected. Set by the evidence domain; None accepts every valid link.
        self.upload_guard: Callable[[str], bool] | None = None

    # -- paths ---------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        check_key(key)
        path = (self.root / key).resolve()
        # Defence in depth beside the key pattern: never touch a file outside the root.
        if self.root not in path.parents:
            raise ValueError(f"key {key!r} leaves the storage root")
        return path

    # -- protocol ------------------------------------------------------------------------
    def put(self, key: str, stream: IO[bytes], content_type: str) -> ObjectInfo:
        """Write to a temporary file and rename, so a failed write leaves no object behind."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._meta_path(path).write_text(content_type)
        return ObjectInfo(key=key, size=size, content_type=content_type)

    @staticmethod
    def _meta_path(path: Path) -> Path:
        return path.with_name(path.name + ".type")

    def open(self, key: str) -> IO[bytes]:
        """Open the file for reading."""
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        return path.open("rb")

    def iter_chunks(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """Read the file in chunks."""
        with self.open(key) as fh:
            while chunk := fh.read(chunk_size):
                yield chunk

    def iter_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Read bytes `start`..`end` of the file in chunks."""
        with self.open(key) as fh:
            fh.seek(start)
            left = end - start + 1
            while left > 0 and (chunk := fh.read(min(CHUNK, left))):
                left -= len(chunk)
                yield chunk

    def head(self, key: str) -> ObjectInfo | None:
        """Size and recorded type, or None."""
        path = self._path(key)
        if not path.is_file():
            return None
        meta = self._meta_path(path)
        ctype = meta.read_text() if meta.exists() else None
        return ObjectInfo(key=key, size=path.stat().st_size, content_type=ctype)

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file and its type record."""
        path = self._path(key)
        path.unlink(missing_ok=True)
        self._meta_path(path).unlink(missing_ok=True)

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every stored file under `prefix` (type records, temporary files and multipart parts
        are not objects), with its modification time."""
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root).as_posix()
            if (
                not path.is_file()
                or rel.startswith(".multipart/")
                or path.name.startswith(".")
                or rel.endswith(".type")
                or not rel.startswith(prefix)
            ):
                continue
            stat = path.stat()
            yield ObjectInfo(
                key=rel,
                size=stat.st_size,
                last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
            )

    def list_multipart_uploads(self) -> Iterator[tuple[str, str, datetime | None]]:
        """Unfinished multipart uploads: (key, upload id, started at)."""
        folder = self.root / ".multipart"
        if not folder.is_dir():
            return
        for upload in sorted(folder.iterdir()):
            marker = upload / "key"
            if marker.is_file():
                started = datetime.fromtimestamp(marker.stat().st_mtime, UTC)
                yield marker.read_text(), upload.name, started

    def remove_stale_temporaries(self, older_than: datetime) -> int:
        """Delete half-written temporary files (a crash during `put`) older than `older_than`."""
        removed = 0
        for path in self.root.rglob(".upload-*"):
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) < older_than:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def copy(self, source_key: str, target_key: str) -> None:
        """Copy the file (and its recorded type)."""
        src, dst = self._path(source_key), self._path(target_key)
        if not src.is_file():
            raise KeyError(source_key)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        if self._meta_path(src).exists():
            shutil.copyfile(self._meta_path(src), self._meta_path(dst))

    def signed_download_url(
        self,
        key: str,
        *,
        filename: str,
        content_type: str,
        inline: bool = False,
        expires_in: int | None = None,
    ) -> str:
        """A URL served by `storage.download`, valid for `expires_in` seconds."""
        check_key(key)
        token = self._signer.dumps(
            {
                "k": key,
                "n": filename,
                "t": content_type,
                "i": inline,
                "e": expires_in or self.default_expiry,
            }
        )
        return url_for("storage.download", token=token)

    def presigned_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int | None = None
    ) -> PresignedUpload:
        """A URL served by `storage.upload` that accepts one PUT of at most `max_bytes`."""
        check_key(key)
        token = self._signer.dumps(
            {
                "k": key,
                "t": content_type,
                "m": max_bytes,
                "e": expires_in or self.default_expiry,
                "u": True,
            }
        )
        return PresignedUpload(
            method="PUT",
            url=url_for("storage.upload", token=token),
            fields={},
            headers={"Content-Type": content_type},
        )

    # -- multipart ------------------------------------------------------------------------
    def _upload_dir(self, upload_id: str) -> Path:
        if not _UPLOAD_ID_RE.match(upload_id):
            raise KeyError(upload_id)
        return self.root / ".multipart" / upload_id

    def create_multipart_upload(self, key: str, *, content_type: str) -> str:
        """Parts are kept in a private folder until the upload is completed or aborted."""
        self._path(key)
        upload_id = secrets.token_urlsafe(24)
        folder = self._upload_dir(upload_id)
        folder.mkdir(parents=True)
        (folder / "key").write_text(key)
        (folder / "type").write_text(content_type)
        return upload_id

    def _check_upload(self, key: str, upload_id: str) -> Path:
        folder = self._upload_dir(upload_id)
        marker = folder / "key"
        if not marker.is_file() or marker.read_text() != check_key(key):
            raise KeyError(upload_id)
        return folder

    def presign_upload_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        *,
        max_bytes: int | None = None,
        expires_in: int | None = None,
    ) -> str:
        """A URL served by `storage.upload` that accepts one part of at most `max_bytes`."""
        self._check_upload(key, upload_id)
        token = self._signer.dumps(
            {
                "k": key,
                "id": upload_id,
                "p": int(part_number),
                "t": "application/octet-stream",
                "m": max_bytes or 5 * 1024**3,
                "e": expires_in or self.default_expiry,
                "u": True,
            }
        )
        return url_for("storage.upload", token=token)

    def put_part(self, key: str, upload_id: str, part_number: int, stream: IO[bytes]) -> str:
        """Store one part; returns its ETag (quoted MD5, as S3 does)."""
        folder = self._check_upload(key, upload_id)
        if not 1 <= part_number <= 10000:
            raise KeyError(part_number)
        digest = hashlib.md5(usedforsecurity=False)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
            os.replace(tmp, folder / f"part-{part_number:05d}")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        etag = f'"{digest.hexdigest()}"'
        (folder / f"etag-{part_number:05d}").write_text(etag)
        return etag

    def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        """Parts stored so far, by number."""
        folder = self._check_upload(key, upload_id)
        parts = []
        for part in sorted(folder.glob("part-*")):
            n = int(part.name.removeprefix("part-"))
            etag = (folder / f"etag-{n:05d}").read_text()
            parts.append(UploadedPart(n, etag, part.stat().st_size))
        return parts

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[UploadedPart]
    ) -> None:
        """Concatenate the named parts (ETags must match) into the object."""
        folder = self._check_upload(key, upload_id)
        stored = {p.part_number: p for p in self.list_parts(key, upload_id)}
        chosen = sorted(parts, key=lambda p: p.part_number)
        if not chosen or any(
            p.part_number not in stored
            or stored[p.part_number].etag.strip('"') != p.etag.strip('"')
            for p in chosen
        ):
            raise ValueError("the parts do not match what was uploaded")
        content_type = (folder / "type").read_text()

        class _Joined:
            def __init__(self) -> None:
                self._files = [(folder / f"part-{p.part_number:05d}").open("rb") for p in chosen]

            def read(self, size: int = -1) -> bytes:
                while self._files:
                    data = self._files[0].read(size)
                    if data:
                        return data
                    self._files.pop(0).close()
                return b""

        self.put(key, _Joined(), content_type)  # type: ignore[arg-type]
        shutil.rmtree(folder, ignore_errors=True)

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Remove the parts folder."""
        try:
            folder = self._check_upload(key, upload_id)
        except KeyError:
            return
        shutil.rmtree(folder, ignore_errors=True)

    # -- token checks used by the storage views --------------------------------------------
    def read_token(self, token: str, *, upload: bool) -> dict[str, Any]:
        """Decode a signed token; raises `PermissionError` when forged, expired or misused."""
        try:
            _, payload = self._signer.loads_unsafe(token)
            if not isinstance(payload, dict):
                raise PermissionError("bad token")
            data = self._signer.loads(token, max_age=int(payload.get("e", self.default_expiry)))
        except SignatureExpired as exc:
            raise PermissionError("This link has expired.") from exc
        except BadSignature as exc:
            raise PermissionError("This link is not valid.") from exc
        if bool(data.get("u")) != upload:
            raise PermissionError("This link is not valid.")
        return data  # type: ignore[no-any-return]
