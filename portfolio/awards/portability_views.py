"""The worker's export download and account deletion pages (blueprint `portability`)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from portfolio.accounts.account_settings import delete_account as delete_account_service
from portfolio.awards import portability
from portfolio.core.db import utcnow
from portfolio.core.errors import NotFound
from portfolio.core.transaction import commit
from portfolio.core.views import run_service
from portfolio.evidence.export import check_storage_reachable

bp = Blueprint("portability", __name__)


def _page(error: str | None = None) -> str:
    return render_template(
        "awards/account_data.html", error=error, exports=portability.my_exports(current_user)
    )


@bp.get("/account/data")
def account_data() -> str:
    """Download everything (an export made in the background), or delete the account."""
    return _page()


@bp.post("/account/exports")
def request_export() -> BaseResponse:
    """Ask for a ZIP of the whole portfolio; a background job builds it and mails a link."""
    run_service(  # committed, then the job is queued
        lambda: portability.request_export(current_user),
        "Your export is being made. This page shows how far it is; you will get a mail with "
        "the link when it is ready.",
    )
    return redirect(url_for("portability.account_data"))


@bp.get("/account/exports/<public_id>")
def download_export(public_id: str) -> BaseResponse:
    """Redirect the owner to a short-lived link of their finished export."""
    done = run_service(
        lambda: portability.export_download_url(current_user, public_id),
        # Somebody else's export, or none: a 404.
        reraise=lambda exc: isinstance(exc, NotFound),
    )
    if not done or done.value is None:
        return redirect(url_for("portability.account_data"))
    return redirect(done.value)


@bp.get("/account/export.zip")
def export() -> Response:
    """The whole portfolio as one ZIP, streamed while it is made (never held in memory)."""
    check_storage_reachable(current_user)
    portability.record_export(current_user)
    commit()  # the audit event is written before the download starts
    chunks = portability.export_portfolio(current_user)
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    name = f"portfolio-{utcnow():%Y%m%d}.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/account/delete")
def delete_account() -> BaseResponse | tuple[str, int]:
    """Delete the account after the password is confirmed."""
    if request.form.get("confirm") != "delete":
        return _page("Type “delete” to confirm."), 400
    done = run_service(  # committed, then the stored objects are deleted
        lambda: delete_account_service(
            current_user._get_current_object(), request.form.get("password", "")
        ),
        flash_error=False,  # the page shows it
    )
    if not done:
        return _page(done.message), 400
    logout_user()
    flash(
        "Your account and your evidence were deleted. Badges you earned stay verifiable.", "success"
    )
    return redirect(url_for("accounts.login"))
