"""A demo user signs in with a real browser and sees their dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from portfolio.demo import DEMO_PASSWORD, load_demo

pytestmark = pytest.mark.browser


def test_demo_admin_signs_in_and_sees_dashboard(
    app, live_server, browser, screenshot_dir: Path
) -> None:
    load_demo()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + "/dashboard")
    assert "/login" in page.url
    assert page.get_by_text("Please sign in to open that page.").is_visible()
    page.get_by_label("Email").fill("admin@northwind.example")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Wrong email or password.")
    page.get_by_label("Email").fill("admin@northwind.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    assert page.get_by_role("heading", name="Hello, Ada Admin").is_visible()
    assert page.get_by_role("heading", name="Northwind Trades College Admin").is_visible()
    page.screenshot(path=str(screenshot_dir / "foundation-dashboard-phone.png"), full_page=True)
    page.get_by_text("Menu").click()
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_text("You are signed out.").is_visible()
    context.close()
