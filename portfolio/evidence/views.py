"""The worker's evidence library under /portfolio: list, upload, item pages, edit, delete."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.wrappers import Response
from wtforms import ValidationError

from portfolio.core.errors import DomainError, NotFound
from portfolio.core.transaction import commit, rollback
from portfolio.evidence import services
from portfolio.evidence.forms import AddLinkForm, EditItemForm, WriteReflectionForm
from portfolio.evidence.models import EvidenceItem, EvidenceKind
from portfolio.evidence.streaming import FullReader, MultipartFileStream
from portfolio.evidence.validation import ALLOWED_TYPES, human_size
from portfolio.extensions import csrf
from portfolio.storage import UploadedPart, get_storage
from portfolio.storage.serving import serve_object

bp = Blueprint("evidence", __name__, url_prefix="/portfolio")


def family(item: EvidenceItem) -> str:
    """image | pdf | video | audio | document | text | link | reflection."""
    if item.kind == EvidenceKind.LINK:
        return "link"
    if item.kind == EvidenceKind.TEXT:
        return "reflection"
    allowed = ALLOWED_TYPES.get(item.media_type or "")
    return allowed.family if allowed else "file"


@bp.app_template_global()
def evidence_family(item: EvidenceItem) -> str:
    return family(item)


@bp.app_template_filter("filesize")
def filesize(n: int | None) -> str:
    return human_size(n or 0)


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


# -- library ----------------------------------------------------------------------------------
@bp.get("/")
def library() -> str:
    """The worker's items as a grid (default) or a list."""
    layout = "list" if request.args.get("view") == "list" else "grid"
    tag = request.args.get("tag") or None
    items = services.list_items(current_user, tag=tag, kind=request.args.get("kind"))
    cfg = current_app.config["PORTFOLIO"]
    return render_template(
        "evidence/library.html",
        items=items,
        layout=layout,
        tag=tag,
        used=services.used_bytes(current_user),
        quota=cfg.user_quota_bytes,
    )


@bp.get("/upload")
def upload_page() -> str:
    """Upload page: the Uppy widget (direct to storage) with a plain form as fallback."""
    from portfolio.evidence.returning import return_target

    cfg = current_app.config["PORTFOLIO"]
    return render_template(
        "evidence/upload.html",
        back=return_target(request.args.get("next"), request.args.get("element")),
        max_bytes=cfg.max_upload_bytes,
        multipart=cfg.storage_backend == "s3",
        used=services.used_bytes(current_user),
        quota=cfg.user_quota_bytes,
    )


# -- uploads streamed through the app ---------------------------------------------------------
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
    item = services.upload_stream(
        current_user,
        body,  # type: ignore[arg-type]
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
    item = services.upload_stream(
        current_user,
        FullReader(request.stream),  # type: ignore[arg-type]
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
    item, upload = services.start_direct_upload(
        current_user, filename=str(data.get("filename", "")), size=_size(data)
    )
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
    item = services.start_multipart_upload(
        current_user, filename=str(data.get("filename", "")), size=_size(data)
    )
    # Uppy keeps `key` and `uploadId`; the key it sees is our public id, not the storage key.
    return jsonify(id=item.public_id, key=item.public_id, uploadId=item.public_id), 201


@bp.get("/uploads/<public_id>/parts/<int:part_number>")
def sign_part(public_id: str, part_number: int) -> Response:
    """A presigned URL for one part."""
    return jsonify(url=services.sign_upload_part(current_user, public_id, part_number))


@bp.get("/uploads/<public_id>/parts")
def list_parts(public_id: str) -> Response:
    """Parts received so far, so an interrupted upload resumes instead of restarting."""
    parts = services.list_upload_parts(current_user, public_id)
    return jsonify([{"PartNumber": p.part_number, "ETag": p.etag, "Size": p.size} for p in parts])


@bp.post("/uploads/<public_id>/complete")
def complete_multipart(public_id: str) -> Response:
    """Join the parts and finalize."""
    raw_parts = _json().get("parts") or []
    try:
        parts = [UploadedPart(int(p["PartNumber"]), str(p["ETag"])) for p in raw_parts]
    except (KeyError, TypeError, ValueError) as exc:
        raise DomainError("The list of parts is not valid.") from exc
    item = services.complete_multipart(current_user, public_id, parts)
    return jsonify(_item_json(item))


@bp.post("/uploads/<public_id>/finalize")
def finalize(public_id: str) -> Response:
    """Check what arrived in storage; ready, or deleted with the reason."""
    return jsonify(_item_json(services.finalize_upload(current_user, public_id)))


@bp.delete("/uploads/<public_id>")
def cancel(public_id: str) -> tuple[str, int]:
    """Cancel an upload in progress: its object, parts and row are removed."""
    services.cancel_upload(current_user, public_id)
    return "", 204


# -- links and reflections --------------------------------------------------------------------
@bp.route("/links/new", methods=["GET", "POST"])
def add_link() -> Response | str:
    """Add a link."""
    form = AddLinkForm()
    if form.validate_on_submit():
        try:
            item = services.create_link(
                current_user,
                title=form.title.data or "",
                url=form.url.data or "",
                description=form.description.data or "",
                item_date=form.item_date.data,
                tags=form.tags.data,
            )
        except DomainError as exc:
            form.url.errors = [exc.message]
        else:
            commit()
            flash("The link was added.", "success")
            return redirect(url_for("evidence.show_item", public_id=item.public_id))
    return render_template("evidence/edit.html", form=form, heading="Add a link", item=None)


@bp.route("/reflections/new", methods=["GET", "POST"])
def write_reflection() -> Response | str:
    """Write a reflection."""
    form = WriteReflectionForm()
    if form.validate_on_submit():
        item = services.create_reflection(
            current_user,
            title=form.title.data or "",
            body=form.body.data or "",
            description=form.description.data or "",
            item_date=form.item_date.data,
            tags=form.tags.data,
        )
        commit()
        flash("Your reflection was saved.", "success")
        return redirect(url_for("evidence.show_item", public_id=item.public_id))
    return render_template("evidence/edit.html", form=form, heading="Write a reflection", item=None)


# -- one item ---------------------------------------------------------------------------------
@bp.get("/items/<public_id>")
def show_item(public_id: str) -> str:
    """The item with an inline preview."""
    from portfolio.evidence.signals import item_page_sections

    item = services.get_item(current_user, public_id)
    sections = []
    if item.owner_id == current_user.id:
        # Other domains' parts of the owner's page (witness requests), rendered by them.
        sections = [
            html
            for _receiver, html in item_page_sections.send(
                current_app._get_current_object(),  # type: ignore[attr-defined]
                item=item,
                user=current_user,
            )
            if html
        ]
    return render_template(
        "evidence/item.html",
        item=item,
        family=family(item),
        frozen=services.is_item_frozen(item),
        sections=sections,
    )


@bp.get("/items/<public_id>/download")
def download(public_id: str) -> Response:
    """Redirect to a short-lived signed URL that downloads the file as an attachment."""
    item = services.get_item(current_user, public_id)
    return redirect(services.download_url(current_user, item, inline=False))


@bp.get("/items/<public_id>/preview")
def preview(public_id: str) -> Response:
    """The file shown inline, served through the app on every backend (never from the object
    store's origin) with its checked type, `nosniff` and a sandbox CSP. Types a browser could
    run or misread are sent as attachments."""
    item = services.get_item(current_user, public_id)
    key, filename, content_type, inline = services.inline_source(current_user, item)
    return serve_object(
        get_storage(), key, filename=filename, content_type=content_type, inline=inline
    )


@bp.get("/items/<public_id>/preview-image")
def preview_image(public_id: str) -> Response:
    """The rendered preview (poster frame, first page, HEIC photo as JPEG), if there is one."""
    item = services.get_item(current_user, public_id)
    if not item.preview_key:
        raise NotFound("This item has no preview image.")
    return serve_object(
        get_storage(),
        item.preview_key,
        filename="preview.jpg",
        content_type="image/jpeg",
        inline=True,
    )


@bp.get("/items/<public_id>/thumbnail")
def thumbnail(public_id: str) -> Response:
    """Redirect to the thumbnail's signed URL."""
    item = services.get_item(current_user, public_id)
    url = services.thumbnail_url(current_user, item)
    if url is None:
        raise DomainError("This item has no thumbnail.")
    return redirect(url)


@bp.route("/items/<public_id>/edit", methods=["GET", "POST"])
def edit_item(public_id: str) -> Response | str:
    """Change an item's details (submissions keep their own copies of submitted items)."""
    item = services.get_item(current_user, public_id)
    form = EditItemForm(obj=item, tags=", ".join(item.tags or []))
    if form.validate_on_submit():
        try:
            services.update_item(
                current_user,
                item,
                title=form.title.data or "",
                description=form.description.data or "",
                item_date=form.item_date.data,
                tags=form.tags.data,
                url=form.url.data,
                body=form.body.data,
            )
        except DomainError as exc:
            rollback()
            flash(exc.message, "error")
        else:
            commit()
            flash("Saved.", "success")
            return redirect(url_for("evidence.show_item", public_id=item.public_id))
    return render_template(
        "evidence/edit.html", form=form, heading=f"Edit “{item.title}”", item=item
    )


@bp.post("/items/<public_id>/delete")
def delete_item(public_id: str) -> Response:
    """Delete an item and its file."""
    item = services.get_item(current_user, public_id)
    title = item.title
    services.delete_item(current_user, item)
    commit()  # then its files are deleted
    flash(f"“{title}” was deleted.", "success")
    return redirect(url_for("evidence.library"))
