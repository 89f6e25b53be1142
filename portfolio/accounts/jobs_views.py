"""Failed background jobs of an organization, for its admins: the error and a "run again"."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portfolio.accounts import organizations
from portfolio.core.forms import EmptyForm
from portfolio.core.jobs import JobFailure, registered_jobs, retry_failure
from portfolio.core.views import run_service
from portfolio.extensions import db

bp = Blueprint("jobs", __name__)


@bp.get("/o/<slug>/jobs")
def failed_jobs(slug: str) -> str:
    """Jobs of this organization whose retries are spent, newest first."""
    org = organizations.admin_org(current_user, slug)
    failures = db.session.scalars(
        select(JobFailure)
        .where(JobFailure.organization_id == org.id)
        .order_by(JobFailure.failed_at.desc(), JobFailure.id.desc())
        .limit(200)
    ).all()
    docs = {
        name: (spec.func.__doc__ or "").strip().split("\n")[0]
        for name, spec in registered_jobs().items()
    }
    return render_template(
        "accounts/failed_jobs.html", org=org, failures=failures, docs=docs, form=EmptyForm()
    )


@bp.post("/o/<slug>/jobs/<int:failure_id>/retry")
def retry_job(slug: str, failure_id: int) -> Response:
    """Run a failed job again."""
    org = organizations.admin_org(current_user, slug)
    failure = db.session.get(JobFailure, failure_id)
    if failure is None or failure.organization_id != org.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if failure.retried_at is not None:
        flash("That job was already queued again.", "info")
    else:
        run_service(
            lambda: retry_failure(failure),
            "The job was queued again; this page shows it again if it fails.",
        )
    return redirect(url_for("jobs.failed_jobs", slug=org.slug))
