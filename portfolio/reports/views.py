"""The reports dashboard of an organization and CSV downloads of its tables (admins only)."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from portfolio.accounts.models import Organization, Role
from portfolio.accounts.organizations import get_organization, require_role
from portfolio.core.errors import DomainError
from portfolio.credentials.services import list_credentials
from portfolio.reports import services

bp = Blueprint("reports", __name__, url_prefix="/o/<slug>/reports")


def _filter(org: Organization) -> services.ReportFilter:
    return services.parse_filter(
        org, request.args.get("from"), request.args.get("to"), request.args.get("credential")
    )


@bp.get("")
def dashboard(slug: str) -> tuple[str, int] | str:
    """Queue, time to decision, pass rates and the rubric elements workers struggle with."""
    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    error = None
    try:
        flt = _filter(org)
    except DomainError as exc:  # a bad filter shows the default period with the reason
        error = exc.message
        flt = services.parse_filter(org, None, None, None)
    report = services.build_report(current_user, org, flt)
    page = render_template(
        "reports/dashboard.html",
        org=org,
        report=report,
        credentials=list_credentials(org),
        error=error,
    )
    return (page, 400) if error else page


@bp.get("/<any(credentials, attempts, elements, timing):table>.csv")
def download_csv(slug: str, table: str) -> Response:
    """One table of the dashboard, with the same filters, as CSV."""
    org = get_organization(slug)
    report = services.build_report(current_user, org, _filter(org))
    header, rows = services.csv_rows(report, table)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    # Cells starting with = + - @ would run as formulas in spreadsheets: quote them away.
    writer.writerows([[_cell(v) for v in row] for row in rows])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}-{table}.csv"'
    return response


def _cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/quality")
def quality(slug: str) -> str:
    """Marker agreement (percent and Cohen's kappa), moderation, verification, stage times,
    appeals."""
    from portfolio.reports.quality import build_quality_report

    org = get_organization(slug)
    return render_template(
        "reports/quality.html", org=org, report=build_quality_report(current_user, org)
    )
