"""An admin opens the reports dashboard in Chromium: figures, SVG charts, no CSP violations."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.reports.conftest import ReportData

pytestmark = pytest.mark.browser


def test_dashboard_with_data(
    report_data: ReportData, live_server, browser, screenshot_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("admin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    page.goto(live_server.url + "/o/acme/reports?from=2024-02-25&to=2024-03-31")
    assert page.locator("#fig-median").inner_text() == "6.0 h"
    assert page.locator("#fig-p90").inner_text() == "30.0 h"
    chart = page.get_by_role("img", name="Pass rate per credential")
    assert chart.is_visible() and chart.bounding_box()["width"] > 300  # type: ignore[index]
    assert page.locator("#table-elements tbody tr").count() == 8
    page.screenshot(path=str(screenshot_dir / "reports-dashboard.png"), full_page=True)
    # Filter by one credential through the form.
    page.locator("select#credential").select_option(label="Pipe Welding")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**credential=*")
    assert page.locator("#table-elements tbody tr").count() == 4
    assert problems == []
    context.close()
