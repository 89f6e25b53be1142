"""The bulk (prior-learning) award pages of an organization's admins (blueprint `bulk_awards`):
the upload, checked whole before anything is written, and the progress of its jobs."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portfolio.accounts.organizations import admin_org
from portfolio.awards import bulk, bulk_upload
from portfolio.awards.forms import BulkAwardForm
from portfolio.core.errors import DomainError
from portfolio.core.transaction import rollback
from portfolio.core.views import run_service
from portfolio.credentials.models import Credential, CredentialState
from portfolio.extensions import db

bp = Blueprint("bulk_awards", __name__)


@bp.route("/o/<slug>/awards/bulk", methods=["GET", "POST"])
def upload(slug: str) -> Response | str:
    """Upload a CSV of recipients of a published credential, with the reason."""
    org = admin_org(current_user, slug)
    form = BulkAwardForm()
    published = list(
        db.session.scalars(
            select(Credential)
            .where(
                Credential.organization_id == org.id,
                Credential.state == CredentialState.PUBLISHED,
            )
            .order_by(Credential.name)
        )
    )
    form.credential.choices = [(c.public_id, c.name) for c in published]
    problems: list[bulk_upload.Problem] = []
    note = ""
    if form.validate_on_submit():
        upload_file = form.csv_file.data
        filename = (upload_file.filename or "awards.csv").rsplit("/", 1)[-1][:200]
        # One byte more than the limit is enough to know the file is too large.
        data = upload_file.read(bulk_upload.MAX_BYTES + 1)
        try:
            cred = bulk.bulk_credential(current_user, org, form.credential.data or "")
            records = bulk_upload.check_records(bulk_upload.parse_csv(data))
            held = bulk_upload.already_held(cred, records)
        except bulk_upload.BulkAwardRefused as exc:
            rollback()
            problems = exc.problems
        except DomainError as exc:
            rollback()
            note = exc.message
        else:
            message = f"{len(records)} recipients checked; their badges are being issued."
            if held == len(records):
                message = (
                    f"Every one of the {held} recipients already holds this badge with the same "
                    "source id (this file was uploaded before): nothing new will be issued."
                )
            elif held:
                message += f" {held} already hold it and will not get a second one."
            outcome = run_service(
                lambda: bulk.start_bulk_award(
                    current_user, org, cred, records, form.reason.data or "", filename=filename
                ),
                message,
            )
            if outcome and outcome.value is not None:
                return redirect(
                    url_for("bulk_awards.show_batch", slug=slug, bid=outcome.value.public_id)
                )
    return render_template(
        "awards/bulk_upload.html",
        org=org,
        form=form,
        problems=problems,
        note=note,
        columns=bulk_upload.COLUMNS,
        max_records=bulk_upload.MAX_RECORDS,
    )


@bp.get("/o/<slug>/awards/bulk/<bid>")
def show_batch(slug: str, bid: str) -> str:
    """The progress of an upload's jobs (the page polls the status below)."""
    org = admin_org(current_user, slug)
    batch = bulk.get_batch(current_user, org, bid)
    return render_template(
        "awards/bulk_batch.html", org=org, batch=batch, summary=bulk.batch_summary(batch)
    )


@bp.get("/o/<slug>/awards/bulk/<bid>/status")
def batch_status(slug: str, bid: str) -> Response:
    """The progress as JSON, for the page's polling."""
    org = admin_org(current_user, slug)
    batch = bulk.get_batch(current_user, org, bid)
    return jsonify(
        state=str(batch.state),
        total=batch.total,
        processed=batch.processed,
        issued=batch.issued,
        already_held=batch.already_held,
        invited=batch.invited,
        percent=batch.percent,
        summary=bulk.batch_summary(batch),
    )
