"""Endpoints behind the local backend's signed URLs. Registered only when STORAGE_BACKEND=local.

The signed token is the credential, so these views are public: whoever holds a fresh URL may
use it, exactly like an S3 presigned URL.
"""

from __future__ import annotations

from flask import Blueprint, abort, request
from werkzeug.wrappers import Response

from portfolio.core.security import public
from portfolio.extensions import csrf
from portfolio.storage import get_storage
from portfolio.storage.local import LocalStorage
from portfolio.storage.serving import serve_object

bp = Blueprint("storage", __name__, url_prefix="/storage")


def _local() -> LocalStorage:
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        abort(404)
    return storage


@bp.get("/o/<token>")
@public
def download(token: str) -> Response:
    """Serve an object for a valid, unexpired download token."""
    storage = _local()
    try:
        data = storage.read_token(token, upload=False)
    except PermissionError as exc:
        abort(403, str(exc))
    if not storage.exists(data["k"]):
        abort(404)
    # Files from users never run as active content on our origin (nosniff, sandbox CSP).
    return serve_object(
        storage, data["k"], filename=data["n"], content_type=data["t"], inline=bool(data["i"])
    )


@bp.put("/u/<token>")
@public
@csrf.exempt  # the signed token authorizes the upload, like an S3 presigned URL
def upload(token: str) -> tuple[str, int]:
    """Accept one upload body for a valid, unexpired upload token, up to its size limit."""
    storage = _local()
    try:
        data = storage.read_token(token, upload=True)
    except PermissionError as exc:
        abort(403, str(exc))
    if storage.upload_guard is not None and not storage.upload_guard(data["k"]):
        # The upload this link was made for was cancelled, finalized or removed: bytes sent
        # now would have no row behind them (or replace a checked file).
        abort(410, "This upload link is no longer valid.")
    length = request.content_length
    if length is not None and length > int(data["m"]):
        abort(413)
    stream = _LimitedReader(request.stream, int(data["m"]))
    if "p" in data:  # one part of a multipart upload
        try:
            etag = storage.put_part(data["k"], data["id"], int(data["p"]), stream)  # type: ignore[arg-type]
        except KeyError:
            abort(404)
        except _TooLarge:
            abort(413)  # the part went to a temporary file, which put_part removed
        return "", 200, {"ETag": etag}  # type: ignore[return-value]
    if storage.exists(data["k"]):
        # An upload URL is good for one object: once the bytes are there (and perhaps already
        # checked and in use), a second PUT with the same URL must not replace or delete them.
        abort(409, "This upload link has already been used.")
    try:
        info = storage.put(data["k"], stream, data["t"])  # type: ignore[arg-type]
    except _TooLarge:
        abort(413)  # put() wrote to a temporary file and removed it: nothing is left behind
    # Browser upload widgets read the ETag, as from S3; the size serves as a weak one here.
    return "", 200, {"ETag": f'"{info.size:x}"'}  # type: ignore[return-value]


class _TooLarge(Exception):
    pass


class _LimitedReader:
    def __init__(self, stream: object, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._stream.read(size)  # type: ignore[attr-defined]
        self._read += len(data)
        if self._read > self._limit:
            raise _TooLarge()
        return data
