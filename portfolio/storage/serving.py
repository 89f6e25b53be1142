"""Serving a stored object to a browser through the application, with the protections that a
file from a user needs (whatever the backend).

Files shown inline (previews of photos, PDFs, videos, text) always come through the app, on both
backends: the response names the type that was detected when the file was checked, forbids the
browser to guess another (`nosniff`), and carries a sandbox CSP, so a file can never run as
active content on the app's origin. Object-store URLs (S3 presigned GETs) are only handed out
for downloads, as attachments.
"""

from __future__ import annotations

import re

from flask import Response, request, stream_with_context

from portfolio.storage import Storage

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _content_disposition(filename: str, inline: bool) -> str:
    from portfolio.storage.s3 import content_disposition

    return content_disposition(filename, inline)


def sandbox_csp(content_type: str, *, framed: bool) -> str:
    """The CSP of a user's file: nothing may load or run; `framed` lets our own pages frame
    it (inline previews)."""
    csp = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
    if framed:
        csp += "; frame-ancestors 'self'"
        if content_type == "application/pdf":
            # Chromium refuses its PDF viewer in a sandboxed document; nosniff and the fixed
            # type keep the bytes from being read as anything but a PDF.
            csp = csp.replace("; sandbox", "")
    else:
        csp += "; frame-ancestors 'none'"
    return csp


def serve_object(
    storage: Storage,
    key: str,
    *,
    filename: str,
    content_type: str,
    inline: bool,
    cache: str = "private, max-age=60",
) -> Response:
    """A streaming response of the object, honouring a single `Range` (video seeking)."""
    head = storage.head(key)
    if head is None:
        return Response("Not found", status=404, mimetype="text/plain")
    size = head.size
    start, end, status = 0, size - 1, 200
    match = _RANGE_RE.match(request.headers.get("Range", "").strip())
    if match and size > 0 and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        else:  # the last N bytes
            start = max(0, size - int(match.group(2)))
        if start > end or start >= size:
            response = Response(status=416)
            response.headers["Content-Range"] = f"bytes */{size}"
            return response
        status = 206
    body = storage.iter_range(key, start, end) if status == 206 else storage.iter_chunks(key)
    response = Response(
        stream_with_context(body), status=status, mimetype=content_type, direct_passthrough=True
    )
    response.content_length = end - start + 1 if size else 0
    if status == 206:
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Content-Disposition"] = _content_disposition(filename, inline)
    response.headers["Cache-Control"] = cache
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = sandbox_csp(content_type, framed=inline)
    if inline:
        # Inline previews are framed by our own item pages.
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
