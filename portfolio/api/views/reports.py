"""The figures of an organization's reports dashboard."""

from __future__ import annotations

from typing import Any

from portfolio.api import schemas as s
from portfolio.api.blueprint import (
    actor,
    admin,
    bp,
    need,
    organization,
)
from portfolio.core.security import public


@bp.get("/organizations/<slug>/reports")
@bp.arguments(s.ReportArgs, location="query")
@bp.response(200, s.ReportOut)
@public
def get_report(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """The figures of the reports dashboard (admins)."""
    from portfolio.reports import services as reports

    need("read")
    org = organization(slug)
    admin(org)
    flt = reports.parse_filter(
        org,
        args["start"].isoformat() if args["start"] else None,
        args["end"].isoformat() if args["end"] else None,
        args["credential"],
    )
    report = reports.build_report(actor(), org, flt)

    def rows(items: list[Any]) -> list[dict[str, Any]]:
        return [
            {"label": r.label, "decided": r.decided, "passed": r.passed, "rate": r.rate}
            for r in items
        ]

    return {
        "start": flt.start,
        "end": flt.end,
        "waiting": report.queue.waiting,
        "oldest_waiting_hours": report.queue.oldest_hours,
        "decided": report.timing.decided,
        "median_decision_hours": report.timing.median_hours,
        "p90_decision_hours": report.timing.p90_hours,
        "by_credential": rows(report.by_credential),
        "by_attempt": rows(report.by_attempt),
    }
