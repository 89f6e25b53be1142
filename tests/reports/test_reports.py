"""Report figures against hand-computed values on the fixed data set of `conftest.py`."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from portfolio.core.errors import DomainError
from portfolio.reports import services
from tests.conftest import Client
from tests.reports.conftest import NOW, ReportData

PERIOD = {"from": "2024-02-25", "to": "2024-03-31"}


def flt(data: ReportData, credential: str | None = None) -> services.ReportFilter:
    return services.parse_filter(data.org, PERIOD["from"], PERIOD["to"], credential)


def test_queue(report_data: ReportData) -> None:
    q = services.queue_figures(report_data.org, flt(report_data), now=NOW)
    # Waiting: #7 (submitted 2 days before now) and #8 (1 day before).
    assert (q.waiting, q.oldest_hours, q.median_age_hours) == (2, 48.0, 36.0)
    q = services.queue_figures(report_data.org, flt(report_data, report_data.pipe.public_id), NOW)
    assert (q.waiting, q.oldest_hours) == (1, 48.0)


def test_time_to_decision(report_data: ReportData) -> None:
    t = services.timing_figures(report_data.org, flt(report_data))
    # In the period: 2, 4, 10, 30 and 6 hours (#6 decided 199 days earlier is outside).
    # Sorted 2 4 6 10 30: median 6; 90th percentile, nearest rank ceil(0.9 * 5) = 5th: 30.
    assert (t.decided, t.median_hours, t.p90_hours) == (5, 6.0, 30.0)
    assert t.histogram == [
        ("< 1 day", 4),
        ("1 to 3 days", 1),
        ("3 to 7 days", 0),
        ("1 to 2 weeks", 0),
        ("2 weeks or more", 0),
    ]
    t = services.timing_figures(report_data.org, flt(report_data, report_data.fillet.public_id))
    # Fillet only: 2, 4, 10 → median 4, p90 rank ceil(2.7) = 3rd: 10.
    assert (t.decided, t.median_hours, t.p90_hours) == (3, 4.0, 10.0)


def test_pass_rates(report_data: ReportData) -> None:
    rows = services.pass_rates_by_credential(report_data.org, flt(report_data))
    # People, not attempts (issue 15, finding 24): on Fillet, w1 passed at the second try and
    # w2 at the first, so 2 of 2 people passed although 1 of 3 attempts did not.
    assert [(r.label, r.decided, r.passed) for r in rows] == [
        ("Fillet Welding", 2, 2),
        ("Pipe Welding", 2, 1),
    ]
    assert rows[0].rate == pytest.approx(1.0)
    rows = services.pass_rates_by_attempt(report_data.org, flt(report_data))
    # First attempts: #1 (revision), #3 pass, #4 fail, #5 pass; second: #2 pass.
    assert [(r.label, r.decided, r.passed) for r in rows] == [
        ("Attempt 1", 4, 2),
        ("Attempt 2", 1, 1),
    ]


def test_below_pass_per_element(report_data: ReportData) -> None:
    rows = services.below_pass_by_element(report_data.org, flt(report_data))
    got = {(r.credential, r.element): (r.scored, r.below) for r in rows}
    assert got == {
        # Fillet: levels 1 2 0 3 / 2 2 1 0 / 3 1 2 2.
        ("Fillet Welding", "Prepare the joint"): (3, 1),
        ("Fillet Welding", "Weld the joint"): (3, 1),
        ("Fillet Welding", "Inspect the weld"): (3, 2),
        ("Fillet Welding", "Tidy the workplace"): (3, 1),
        # Pipe: 0 0 1 2 / 2 3 2 1.
        ("Pipe Welding", "Prepare the joint"): (2, 1),
        ("Pipe Welding", "Weld the joint"): (2, 1),
        ("Pipe Welding", "Inspect the weld"): (2, 1),
        ("Pipe Welding", "Tidy the workplace"): (2, 1),
    }
    assert [r.element for r in rows][:4] == [
        "Prepare the joint",
        "Weld the joint",
        "Inspect the weld",
        "Tidy the workplace",
    ]


def test_filters_are_checked(report_data: ReportData) -> None:
    with pytest.raises(DomainError, match="after the end"):
        services.parse_filter(report_data.org, "2024-03-02", "2024-03-01", None)
    with pytest.raises(DomainError, match="2024-03-31"):
        services.parse_filter(report_data.org, "March", None, None)
    with pytest.raises(DomainError, match="No such credential"):
        services.parse_filter(report_data.org, None, None, "AAAAAAAAAAAAAAAAAAAAAA")
    default = services.parse_filter(report_data.org, None, None, None, today=date(2024, 5, 30))
    assert (default.start, default.end) == (date(2024, 3, 1), date(2024, 5, 30))


def test_dashboard_page_and_csv(report_data: ReportData, client: Client) -> None:
    client.login("admin@example.org")
    resp = client.get("/o/acme/reports", query_string=PERIOD)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert '<dd id="fig-median">6.0 h</dd>' in html and '<dd id="fig-p90">30.0 h</dd>' in html
    assert '<dd id="fig-decided">5</dd>' in html
    assert html.count("<svg") == 4 and "style=" not in html and "<script" not in html
    assert "100% of 2 people" in html  # Fillet Welding's bar label
    assert '<dd id="fig-issued">0</dd>' in html
    resp = client.get("/o/acme/reports/credentials.csv", query_string=PERIOD)
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    assert list(csv.reader(io.StringIO(resp.get_data(as_text=True)))) == [
        ["credential", "people_decided", "people_passed", "pass_rate"],
        ["Fillet Welding", "2", "2", "1.0000"],
        ["Pipe Welding", "2", "1", "0.5000"],
    ]
    resp = client.get(
        "/o/acme/reports/elements.csv",
        query_string={**PERIOD, "credential": report_data.pipe.public_id},
    )
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[1] == ["Pipe Welding", "Prepare the joint", "2", "1", "0.5000"] and len(rows) == 5
    for table in ("attempts", "timing"):
        assert client.get(f"/o/acme/reports/{table}.csv", query_string=PERIOD).status_code == 200
    bad = client.get("/o/acme/reports", query_string={"from": "soon"})
    assert bad.status_code == 400 and "2024-03-31" in bad.get_data(as_text=True)


def test_only_admins_see_reports(report_data: ReportData, client: Client) -> None:
    assert client.get("/o/acme/reports").status_code == 302
    for email in ("sam@example.org", "w1@example.org"):
        client.login(email)
        assert client.get("/o/acme/reports").status_code == 403
        assert client.get("/o/acme/reports/credentials.csv").status_code == 403
        client.post("/logout", data={"csrf_token": client.csrf_token("/dashboard")})
