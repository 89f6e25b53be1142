"""The evidence library's upload endpoints: the no-JavaScript form and the API body streamed
through the app, and the direct (browser to storage) uploads with their presigned URLs.

Routes on the `evidence` blueprint of `portfolio.evidence.views` (endpoint names
`evidence.*`); registered by importing this module in `create_app`.
"""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.wrappers import Response
from wtforms import ValidationError

from portfolio.accounts.models import User
from portfolio.core.errors import DomainError
from portfolio.core.transaction import commit, rollback
from portfolio.evidence import uploads
from portfolio.evidence.models import EvidenceItem
from portfolio.evidence.streaming import FullReader, MultipartFileStream
from portfolio.evidence.views import bp
from portfolio.extensions import csrf
from portfolio.storage import UploadedPart


def _notices(item: EvidenceItem) -> list[str]:
    """What the app changed about a file the worker sent, in their words."""
    if getattr(item, "metadata_removed", False):
        return [PRIVACY_NOTICE.format(title=item.title)]
    return []


#: Told to the worker whenever a photo was stored without its location and device data.
PRIVACY_NOTICE = (
    "“{title}”: the location (GPS) and camera details were removed from the photo before it "
    "was stored, so nobody who sees it learns where it was taken."
)


def _item_json(item: EvidenceItem) -> dict[str, Any]:
    return {
        "notices": _notices(item),
        "metadata_removed": bool(getattr(item, "metadata_removed", False)),
        "id": item.public_id,
        "title": item.title,
        "state": str(item.state),
        "media_type": item.media_type,
        "size": item.size,
        "sha256": item.sha256,
        "url": url_for("evidence.show_item", public_id=item.public_id),
        "thumbnail_url": (
            url_for("evidence.thumbnail", public_id=item.public_id) if item.thumbnail_key else None
        ),
    }


# -- uploads streamed through the app ---------------------------------------------------------
def stream_upload(
    user: User, stream: Any, *, filename: str, declared_size: int | None, **fields: Any
) -> EvidenceItem:
    """Reserve, commit, stream, commit.

    The reservation row is committed before the first byte is read (through
    `core.transaction.commit`): it holds the bytes against the quota for overlapping uploads,
    and the user's row stays locked only for the reservation, never while bytes travel. If
    storing then fails in any way, the rollback undoes the stored object and the committed
    reservation is removed in a transaction of its own before the error is raised on."""
    item = uploads.reserve_streamed_upload(user, filename=filename, declared_size=declared_size)
    commit()
    item_id = item.id
    try:
        item = uploads.store_streamed_upload(user, item, stream, **fields)
        commit()
    except BaseException:
        rollback()
        uploads.discard_reservation(user, item_id)
        commit()
        raise
    return item


@bp.post("/upload")
@csrf.exempt  # checked below from the streamed field: the global check would buffer the body
def upload_form() -> Response | tuple[str, int]:
    """No-JavaScript upload: the multipart body is decoded as it arrives and streamed to
    storage, so memory stays constant whatever the size of the file."""
    ctype = request.mimetype
    boundary = request.mimetype_params.get("boundary", "")
    if ctype != "multipart/form-data" or not boundary:
        raise DomainError("Send the file with the upload form.")
    body = MultipartFileStream(request.stream, boundary.encode("latin-1"))
    fields = body.read_fields()
    try:
        # The token field comes before the file in the form, so it is checked before any
        # byte is stored.
        validate_csrf(fields.get("csrf_token"))
    except ValidationError as exc:
        raise CSRFError(str(exc)) from exc
    if body.filename is None or body.filename == "":
        flash("Choose a file to upload.", "error")
        return redirect(url_for("evidence.upload_page"))
    item = stream_upload(
        current_user,
        body,
        filename=body.filename,
        declared_size=None,
        title=fields.get("title", ""),
        description=fields.get("description", ""),
        tags=fields.get("tags", ""),
    )
    from portfolio.evidence.returning import return_target

    back = return_target(fields.get("next"), fields.get("element"))
    if back is not None:
        if back.element:
            flash(f"“{item.title}” was added. Press Attach to add it to this element.", "success")
        else:
            flash(f"“{item.title}” was added to your portfolio.", "success")
        return redirect(back.after_upload(item.public_id))
    flash(f"“{item.title}” was added to your portfolio.", "success")
    for notice in _notices(item):
        flash(notice, "info")
    return redirect(url_for("evidence.show_item", public_id=item.public_id))


@bp.put("/api/files")
def upload_raw() -> tuple[Response, int]:
    """API upload: the request body is the file (CSRF token in the X-CSRFToken header)."""
    item = stream_upload(
        current_user,
        FullReader(request.stream),
        filename=request.args.get("filename", "file"),
        declared_size=request.content_length,
        title=request.args.get("title", ""),
        tags=request.args.get("tags", ""),
    )
    return jsonify(_item_json(item)), 201


# -- direct uploads: presigned URLs for the browser -------------------------------------------
def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("Expected a JSON object.")
    return data


def _size(data: dict[str, Any]) -> int:
    try:
        return int(data.get("size") or 0)
    except (TypeError, ValueError) as exc:
        raise DomainError("The file size is missing.") from exc


@bp.post("/uploads")
def start_upload() -> tuple[Response, int]:
    """Reserve an item and hand out a short-lived URL for a single-request upload."""
    data = _json()
    item, upload = uploads.start_direct_upload(
        current_user, filename=str(data.get("filename", "")), size=_size(data)
    )
    commit()
    return jsonify(
        id=item.public_id,
        method=upload.method,
        url=upload.url,
        fields=upload.fields,
        headers=upload.headers,
    ), 201


@bp.post("/uploads/multipart")
def start_multipart() -> tuple[Response, int]:
    """Reserve an item and start a multipart upload (large files)."""
    data = _json()
    item = uploads.start_multipart_upload(
        current_user, filename=str(data.get("filename", "")), size=_size(data)
    )
    commit()
    # Uppy keeps `key` and `uploadId`; the key it sees is our public id, not the storage key.
    return jsonify(id=item.public_id, key=item.public_id, uploadId=item.public_id), 201


@bp.get("/uploads/<public_id>/parts/<int:part_number>")
def sign_part(public_id: str, part_number: int) -> Response:
    """A presigned URL for one part."""
    return jsonify(url=uploads.sign_upload_part(current_user, public_id, part_number))


@bp.get("/uploads/<public_id>/parts")
def list_parts(public_id: str) -> Response:
    """Parts received so far, so an interrupted upload resumes instead of restarting."""
    parts = uploads.list_upload_parts(current_user, public_id)
    return jsonify([{"PartNumber": p.part_number, "ETag": p.etag, "Size": p.size} for p in parts])


@bp.post("/uploads/<public_id>/complete")
def complete_multipart(public_id: str) -> Response:
    """Join the parts and finalize."""
    raw_parts = _json().get("parts") or []
    try:
        parts = [UploadedPart(int(p["PartNumber"]), str(p["ETag"])) for p in raw_parts]
    except (KeyError, TypeError, ValueError) as exc:
        raise DomainError("The list of parts is not valid.") from exc
    item = uploads.complete_multipart(current_user, public_id, parts)
    commit()
    return jsonify(_item_json(item))


@bp.post("/uploads/<public_id>/finalize")
def finalize(public_id: str) -> Response:
    """Check what arrived in storage; ready, or deleted with the reason."""
    item = uploads.finalize_upload(current_user, public_id)
    commit()
    return jsonify(_item_json(item))


@bp.delete("/uploads/<public_id>")
def cancel(public_id: str) -> tuple[str, int]:
    """Cancel an upload in progress: its object, parts and row are removed."""
    uploads.cancel_upload(current_user, public_id)
    commit()  # then its objects and parts are removed
    return "", 204
