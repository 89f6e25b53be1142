"""Object storage behind a small protocol, with a local-folder and an S3 backend.

Shared infrastructure (organization logos and evidence files both live here), so it sits beside
`extensions.py` rather than inside one domain. Keys are always built by the server
(`new_object_key`), never taken from user input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Protocol

from flask import Flask, current_app

from portfolio.core.ids import new_public_id

#: Keys are slash-separated segments of safe characters; no `..`, no leading slash.
KEY_RE = re.compile(r"^(?!/)(?!.*\.\.)[A-Za-z0-9_\-./]{1,512}$")


class StorageError(RuntimeError):
    """The object store failed or is unreachable; the user should retry later."""


class InvalidKey(ValueError):
    """A key that the server would never build (path traversal, odd characters)."""


def check_key(key: str) -> str:
    """Return `key` if it is well formed, else raise `InvalidKey`."""
    if not KEY_RE.match(key):
        raise InvalidKey(f"invalid storage key {key!r}")
    return key


def new_object_key(prefix: str) -> str:
    """A fresh, unguessable key under `prefix` (e.g. `evidence/<user>`)."""
    return check_key(f"{prefix.strip('/')}/{new_public_id()}")


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows about one object."""

    key: str
    size: int
    content_type: str | None = None
    #: When the object was last written (set by `list_objects`; `head` may leave it empty).
    last_modified: datetime | None = None


@dataclass(frozen=True)
class PresignedUpload:
    """How a browser uploads straight to the store: an HTTP method, a URL, and form fields or
    headers to send with the bytes."""

    method: str
    url: str
    fields: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class UploadedPart:
    """One received part of a multipart upload."""

    part_number: int
    etag: str
    size: int = 0


class Storage(Protocol):
    """The operations the application needs from an object store."""

    def put(self, key: str, stream: IO[bytes], content_type: str) -> ObjectInfo:
        """Store the bytes read from `stream` (read in chunks; memory stays constant)."""
        ...

    def open(self, key: str) -> IO[bytes]:
        """A readable stream of the object's bytes. Raises `KeyError` if it does not exist."""
        ...

    def iter_chunks(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """The object's bytes in chunks, for streaming responses and hashing."""
        ...

    def iter_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes `start` to `end` (inclusive) of the object, in chunks (HTTP range requests)."""
        ...

    def head(self, key: str) -> ObjectInfo | None:
        """Size and type of the object, or None if it does not exist."""
        ...

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""
        ...

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, with its size and `last_modified`
        (used to reconcile the store with the database)."""
        ...

    def list_multipart_uploads(self) -> Iterator[tuple[str, str, datetime | None]]:
        """Unfinished multipart uploads as (key, upload id, started at)."""
        ...

    def copy(self, source_key: str, target_key: str) -> None:
        """Copy an object server-side (used to freeze evidence)."""
        ...

    def signed_download_url(
        self,
        key: str,
        *,
        filename: str,
        content_type: str,
        inline: bool = False,
        expires_in: int | None = None,
    ) -> str:
        """A short-lived URL that serves the object, as an attachment unless `inline`."""
        ...

    def presigned_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int | None = None
    ) -> PresignedUpload:
        """A short-lived permission for a browser to upload one object under `key`."""
        ...

    # -- multipart: large browser uploads in parts (each part a separate signed request) ----
    def create_multipart_upload(self, key: str, *, content_type: str) -> str:
        """Start a multipart upload of `key`; returns its upload id."""
        ...

    def presign_upload_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        *,
        max_bytes: int | None = None,
        expires_in: int | None = None,
    ) -> str:
        """A short-lived URL accepting one PUT of part `part_number` (answers with an ETag),
        of at most `max_bytes` where the backend can enforce it."""
        ...

    def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        """The parts received so far (to resume or retry)."""
        ...

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[UploadedPart]
    ) -> None:
        """Join the parts, in part-number order, into the object."""
        ...

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Drop an unfinished multipart upload and its parts (missing uploads are ignored)."""
        ...


def create_storage(app: Flask) -> Storage:
    """The backend chosen by `STORAGE_BACKEND`."""
    cfg = app.config["PORTFOLIO"]
    app.register_error_handler(StorageError, _storage_unavailable)
    if cfg.storage_backend == "s3":
        from portfolio.storage.s3 import S3Storage

        return S3Storage.from_config(cfg)
    from portfolio.storage.local import LocalStorage

    return LocalStorage(
        cfg.local_storage_path, secret_key=cfg.secret_key, default_expiry=cfg.signed_url_seconds
    )


def _storage_unavailable(exc: StorageError) -> Any:
    """An unreachable or failing object store is a temporary outage, not a bug: answer 503
    with a message to retry (the request's transaction is rolled back, so nothing is half
    written), through the application's page for HTTP errors."""
    from werkzeug.exceptions import ServiceUnavailable

    current_app.logger.warning("object storage failed: %s", exc)
    return current_app.handle_http_exception(
        ServiceUnavailable(
            "The file store cannot be reached right now. Nothing was lost; "
            "please try again in a few minutes."
        )
    )


def get_storage() -> Storage:
    """The storage of the current application."""
    return current_app.extensions["portfolio.storage"]  # type: ignore[no-any-return]


def delete_after_commit(keys: Iterator[str] | list[str] | tuple[str, ...]) -> None:
    """Queue the deletion of stored objects for after the current transaction commits (a
    rollback keeps them: rows may still point at them). A failed delete only leaves an
    unreferenced object behind, logged."""
    from portfolio.core.transaction import after_commit

    wanted = [k for k in keys if k]
    if not wanted:
        return
    storage = get_storage()
    logger = current_app.logger

    def delete_objects() -> None:
        for key in wanted:
            try:
                storage.delete(key)
            except Exception:  # an orphan object is harmless: no row points at it any more
                logger.exception("could not delete object %s", key)

    after_commit(delete_objects)
