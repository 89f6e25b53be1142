"""Witness pages of the submissions blueprint: a worker asks, revokes or re-sends a witness link
(for a submission element or a library item); the witness answers on a public, signed page."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from portfolio.core.errors import NotFound
from portfolio.core.security import public
from portfolio.core.views import run_service
from portfolio.evidence.models import EvidenceItem
from portfolio.submissions import (
    access,
    services,
    witness,
)
from portfolio.submissions.views import _commit_or_flash, _user, bp


# -- witness testimony -----------------------------------------------------------------------------
@bp.post("/submissions/<public_id>/witnesses")
def request_witness(public_id: str) -> Response:
    """The worker names a witness for one element."""
    sub = access.get_own_submission(_user(), public_id)
    element = request.form.get("element", "")
    _commit_or_flash(
        lambda: witness.request_testimony(
            _user(),
            sub,
            element,
            name=request.form.get("witness_name", ""),
            role=request.form.get("witness_role", ""),
            email=request.form.get("witness_email", ""),
        ),
        "The witness has been sent a link to confirm.",
    )
    return redirect(
        url_for("submissions.show_submission", public_id=public_id) + f"#element-{element}"
    )


@bp.post("/submissions/<public_id>/witnesses/<wid>/revoke")
def revoke_witness(public_id: str, wid: str) -> Response:
    """Withdraw a witness link."""
    sub = access.get_own_submission(_user(), public_id)
    _commit_or_flash(lambda: witness.revoke(_user(), sub, wid), "The witness link was withdrawn.")
    return redirect(url_for("submissions.show_submission", public_id=public_id))


@bp.post("/submissions/<public_id>/witnesses/<wid>/resend")
def resend_witness(public_id: str, wid: str) -> Response:
    """Send the witness a fresh link."""
    sub = access.get_own_submission(_user(), public_id)
    _commit_or_flash(lambda: witness.resend(_user(), sub, wid), "A new link has been sent.")
    return redirect(url_for("submissions.show_submission", public_id=public_id))


def _own_item(public_id: str) -> EvidenceItem:
    from portfolio.evidence import services as evidence_services

    item = evidence_services.get_item(_user(), public_id)
    if item.owner_id != _user().id:
        abort(404)
    return item


def _item_page(public_id: str) -> Response:
    return redirect(url_for("evidence.show_item", public_id=public_id) + "#witnesses")


@bp.post("/portfolio/items/<public_id>/witnesses")
def request_item_witness(public_id: str) -> Response:
    """The worker names a witness for one item of their evidence library."""
    item = _own_item(public_id)
    _commit_or_flash(
        lambda: witness.request_item_testimony(
            _user(),
            item,
            name=request.form.get("witness_name", ""),
            role=request.form.get("witness_role", ""),
            email=request.form.get("witness_email", ""),
        ),
        "The witness has been sent a link to confirm.",
    )
    return _item_page(public_id)


@bp.post("/portfolio/items/<public_id>/witnesses/<wid>/revoke")
def revoke_item_witness(public_id: str, wid: str) -> Response:
    """Withdraw the witness link of an item."""
    item = _own_item(public_id)
    _commit_or_flash(
        lambda: witness.revoke_testimony(_user(), witness.own_item_testimony(_user(), item, wid)),
        "The witness link was withdrawn.",
    )
    return _item_page(public_id)


@bp.post("/portfolio/items/<public_id>/witnesses/<wid>/resend")
def resend_item_witness(public_id: str, wid: str) -> Response:
    """Send the witness of an item a fresh link."""
    item = _own_item(public_id)
    _commit_or_flash(
        lambda: witness.resend_testimony(_user(), witness.own_item_testimony(_user(), item, wid)),
        "A new link has been sent.",
    )
    return _item_page(public_id)


@bp.route("/witness/<token>", methods=["GET", "POST"])
@public
def witness_page(token: str) -> Response | str | tuple[str, int]:
    """The witness's page: exactly the evidence of one element (or the one evidence item),
    and confirm or decline."""
    try:
        testimony = witness.from_token(token)
    except NotFound as exc:
        return render_template("submissions/witness_gone.html", message=exc.message), 404
    problem = None
    if request.method == "POST":
        choice = request.form.get("answer")
        if choice not in {"confirm", "decline"}:
            problem = "Choose whether you confirm or decline."
        else:
            done = run_service(
                lambda: witness.respond(
                    testimony,
                    confirms=choice == "confirm",
                    statement=request.form.get("statement", ""),
                ),
                flash_error=False,
            )
            if done:
                return render_template(
                    "submissions/witness_gone.html",
                    message="Thank you. Your answer has been recorded; this link is now closed.",
                    thanks=True,
                )
            problem = done.message
    return render_template(
        "submissions/witness.html",
        t=testimony,
        token=token,
        links=witness.evidence_of(testimony),
        item=witness.item_of(testimony),
        problem=problem,
        statement=request.form.get("statement", ""),
        inline_kind=services.inline_kind,
    )


@bp.get("/witness/<token>/evidence/<link_id>")
@public
def witness_file(token: str, link_id: str) -> Response | tuple[str, int]:
    """One file of the witness's element (a short-lived signed URL), and nothing else."""
    from portfolio.storage import get_storage

    try:
        testimony = witness.from_token(token)
    except NotFound as exc:
        return render_template("submissions/witness_gone.html", message=exc.message), 404
    item = witness.item_of(testimony)
    if item is not None:
        # An item testimony: its one file, nothing else.
        if item.public_id != link_id or not item.storage_key:
            abort(404)
        return redirect(
            get_storage().signed_download_url(
                item.storage_key,
                filename=item.original_filename or "evidence",
                content_type=item.media_type or "application/octet-stream",
                inline=False,
            )
        )
    link = next((x for x in witness.evidence_of(testimony) if x.public_id == link_id), None)
    key = link.frozen_key if link else None
    if link is not None and key is None and link.evidence_item is not None:
        key = link.evidence_item.storage_key
    if link is None or not key:
        abort(404)
    return redirect(
        get_storage().signed_download_url(
            key,
            filename=link.original_filename or "evidence",
            content_type=link.media_type or "application/octet-stream",
            inline=False,
        )
    )
