"""Admin pages of the submissions blueprint: a credential's marking settings, managing one
submission (allocation and overrides) and the organization's readable audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Response as FlaskResponse
from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import get_organization, require_role
from portfolio.core.errors import DomainError
from portfolio.extensions import db
from portfolio.submissions import (
    allocation,
    appeals,
    history,
    marking_plans,
)
from portfolio.submissions.models import (
    MarkingMode,
    VerificationMode,
)
from portfolio.submissions.views import _commit_or_flash, _user, bp
from portfolio.submissions.workflow_views import _members, _org_submission


# -- admin: settings, assignments, allocation, overrides -----------------------------------------
def _credential(org: Organization, public_id: str):  # type: ignore[no-untyped-def]
    from portfolio.credentials.models import Credential

    cred = db.session.scalar(
        select(Credential).where(
            Credential.public_id == public_id, Credential.organization_id == org.id
        )
    )
    if cred is None:
        abort(404)
    return cred


def _int(name: str, default: int | None = 0) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) < 6):
        raise DomainError(f"“{raw}” is not a whole number.")
    return int(raw)


@bp.route("/o/<slug>/credentials/<public_id>/marking", methods=["GET", "POST"])
def marking_settings(slug: str, public_id: str) -> Response | str:
    """A credential's marking workflow, sampling plan, appeal period and assessors."""
    org = get_organization(slug)
    require_role(_user(), org, Role.ADMIN)
    cred = _credential(org, public_id)
    if request.method == "POST":
        action = request.form.get("action", "save")
        if action in {"assign", "unassign"}:
            person = db.session.scalar(
                select(User).where(User.public_id == request.form.get("assessor", ""))
            )
            if person is None:
                abort(404)
            fn = allocation.assign if action == "assign" else allocation.unassign
            _commit_or_flash(
                lambda: fn(_user(), org, cred.id, person),
                f"{person.display_name} {'assigned' if action == 'assign' else 'unassigned'}.",
            )
        else:

            def save() -> None:
                values = marking_plans.SettingsInput(
                    mode=MarkingMode(request.form.get("mode", "single")),
                    is_blind=request.form.get("is_blind") == "y",
                    iqa_rate=_int("iqa_rate") or 0,
                    iqa_first_n=_int("iqa_first_n") or 0,
                    iqa_every_fail=request.form.get("iqa_every_fail") == "y",
                    iqa_every_appeal=request.form.get("iqa_every_appeal") == "y",
                    iqa_mode=VerificationMode(request.form.get("iqa_mode", "hold")),
                    appeal_days=_int("appeal_days", None),
                )
                marking_plans.save_settings(_user(), org, cred.id, values)

            if request.form.get("mode", "single") not in {"single", "double"} or request.form.get(
                "iqa_mode", "hold"
            ) not in {"hold", "after"}:
                abort(400)
            _commit_or_flash(save, "Marking settings saved.")
        return redirect(url_for("submissions.marking_settings", slug=slug, public_id=public_id))
    return render_template(
        "submissions/marking_settings.html",
        org=org,
        cred=cred,
        settings=marking_plans.settings_for(cred.id),
        plan_history=marking_plans.plan_history(cred.id),
        assigned=allocation.assigned_assessors(cred.id),
        assessors=_members(org, Role.ASSESSOR),
    )


@bp.route("/o/<slug>/submissions/<public_id>/manage", methods=["GET", "POST"])
def manage_submission(slug: str, public_id: str) -> Response | str:
    """The admin's overrides on one submission: allocate or reassign, extra attempt, reopen."""
    org, sub = _org_submission(slug, public_id)
    require_role(_user(), org, Role.ADMIN)
    if request.method == "POST":
        action = request.form.get("action")
        reason = request.form.get("reason", "")
        if action == "allocate":
            person = db.session.scalar(
                select(User).where(User.public_id == request.form.get("assessor", ""))
            )
            if person is None:
                abort(404)
            _commit_or_flash(
                lambda: appeals.reassign(_user(), org, sub, person),
                f"Allocated to {person.display_name}.",
            )
        elif action == "extra_attempt":
            _commit_or_flash(
                lambda: appeals.grant_extra_attempt(_user(), org, sub, reason),
                "Another attempt granted; the worker has been told.",
            )
        elif action == "reopen":
            _commit_or_flash(
                lambda: appeals.reopen(_user(), org, sub, reason),
                "Decision reopened: the submission is back with the markers.",
            )
        else:
            abort(400)
        return redirect(url_for("submissions.manage_submission", slug=slug, public_id=public_id))
    return render_template(
        "submissions/manage.html",
        org=org,
        sub=sub,
        assessors=[a for a in _members(org, Role.ASSESSOR, Role.ADMIN) if a.id != sub.learner_id],
        appeal=appeals.appeal_of(sub),
    )


# -- the audit trail -------------------------------------------------------------------------------
def _date(name: str) -> datetime | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw[:10]).replace(tzinfo=UTC)
    except ValueError:
        return None


@bp.get("/o/<slug>/audit")
def organization_audit(slug: str) -> Response | str:
    """The organization's trail in plain words, filtered by person, credential and dates; CSV."""
    from portfolio.credentials.models import Credential

    org = get_organization(slug)
    require_role(_user(), org, Role.ADMIN)
    people = _members(
        org, Role.ADMIN, Role.ASSESSOR, Role.MODERATOR, Role.INTERNAL_VERIFIER, Role.LEARNER
    )
    credentials = list(
        db.session.scalars(
            select(Credential).where(Credential.organization_id == org.id).order_by(Credential.name)
        )
    )
    person = next((p for p in people if p.public_id == request.args.get("person")), None)
    cred = next((c for c in credentials if c.public_id == request.args.get("credential")), None)
    until = _date("to")
    flt = history.TrailFilter(
        person_id=person.id if person else None,
        credential_id=cred.id if cred else None,
        since=_date("from"),
        until=until + timedelta(days=1) if until else None,
    )
    rows = history.organization_trail(_user(), org, flt)
    if request.args.get("format") == "csv":
        return FlaskResponse(
            history.trail_csv(rows),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="audit-{org.slug}.csv"'},
        )
    return render_template(
        "submissions/audit.html",
        org=org,
        rows=rows,
        people=people,
        credentials=credentials,
        args=request.args,
    )
