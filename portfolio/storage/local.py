"""Local-folder backend: files under one root, URLs signed by the application itself.

Behaves like the S3 backend (signed, expiring download and upload URLs) so the embedded setup
exercises the same flows as production.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from flask import url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portfolio.storage import ObjectInfo, PresignedUpload, check_key

CHUNK = 1024 * 1024


class LocalStorage:
    """Objects as files under `root`; refuses any path that would leave it."""

    def __init__(self, root: str, *, secret_key: str, default_expiry: int = 300) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.default_expiry = default_expiry
        self._signer = URLSafeTimedSerializer(secret_key, salt="portfolio.local-storage")

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
