"""The worker's evidence library under /portfolio: list, upload, item pages, edit, delete."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from portfolio.core.errors import DomainError, NotFound
from portfolio.core.views import run_service
from portfolio.evidence import services
from portfolio.evidence.forms import AddLinkForm, EditItemForm, WriteReflectionForm
from portfolio.evidence.models import EvidenceItem, EvidenceKind
from portfolio.evidence.quota import used_bytes
from portfolio.evidence.validation import ALLOWED_TYPES, human_size
from portfolio.storage import get_storage
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
        used=used_bytes(current_user),
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
        used=used_bytes(current_user),
        quota=cfg.user_quota_bytes,
    )


# -- links and reflections --------------------------------------------------------------------
@bp.route("/links/new", methods=["GET", "POST"])
def add_link() -> Response | str:
    """Add a link."""
    form = AddLinkForm()
    if form.validate_on_submit():
        done = run_service(
            lambda: services.create_link(
                current_user,
                title=form.title.data or "",
                url=form.url.data or "",
                description=form.description.data or "",
                item_date=form.item_date.data,
                tags=form.tags.data,
            ),
            "The link was added.",
            flash_error=False,
        )
        if done.value is not None:
            return redirect(url_for("evidence.show_item", public_id=done.value.public_id))
        form.url.errors = [done.message]
    return render_template("evidence/edit.html", form=form, heading="Add a link", item=None)


@bp.route("/reflections/new", methods=["GET", "POST"])
def write_reflection() -> Response | str:
    """Write a reflection."""
    form = WriteReflectionForm()
    if form.validate_on_submit():
        done = run_service(
            lambda: services.create_reflection(
                current_user,
                title=form.title.data or "",
                body=form.body.data or "",
                description=form.description.data or "",
                item_date=form.item_date.data,
                tags=form.tags.data,
            ),
            "Your reflection was saved.",
        )
        if done.value is not None:
            return redirect(url_for("evidence.show_item", public_id=done.value.public_id))
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
    if form.validate_on_submit() and run_service(
        lambda: services.update_item(
            current_user,
            item,
            title=form.title.data or "",
            description=form.description.data or "",
            item_date=form.item_date.data,
            tags=form.tags.data,
            url=form.url.data,
            body=form.body.data,
        ),
        "Saved.",
    ):
        return redirect(url_for("evidence.show_item", public_id=item.public_id))
    return render_template(
        "evidence/edit.html", form=form, heading=f"Edit “{item.title}”", item=item
    )


@bp.post("/items/<public_id>/delete")
def delete_item(public_id: str) -> Response:
    """Delete an item and its file."""
    item = services.get_item(current_user, public_id)
    title = item.title
    # Committed, then its files are deleted.
    run_service(lambda: services.delete_item(current_user, item), f"“{title}” was deleted.")
    return redirect(url_for("evidence.library"))
