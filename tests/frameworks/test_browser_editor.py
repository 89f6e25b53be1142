"""An admin builds a rubric in the browser editor; a visitor reads it in the catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from portfolio.accounts.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def watch(page, errors: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Collect script errors (a CSP violation shows up here) and failed requests."""
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )


def test_admin_builds_rubric_and_visitor_sees_it_in_catalogue(
    app, make, live_server, browser, screenshot_dir: Path
) -> None:
    org = make.org("Northwind Trades", slug="northwind")
    make.user((org, Role.ADMIN), email="ada@example.org")
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    watch(page, errors)
    page.on("dialog", lambda d: d.accept())
    page.goto(base + "/login")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    page.get_by_role("link", name="Rubrics").click()
    page.get_by_role("link", name="New rubric").click()
    page.get_by_label("Title").fill("Vertical fillet weld")
    page.get_by_role("button", name="Create and edit").click()
    page.wait_for_url("**/edit")

    # Two elements; a fifth level added and then removed again.
    for _ in range(2):
        with page.expect_navigation():
            page.get_by_role("button", name="Add element").first.click()
    with page.expect_navigation():
        page.get_by_role("button", name="Add level").first.click()
    assert page.get_by_label("Level 5 name").input_value() == "New level"
    with page.expect_navigation():
        page.get_by_role("button", name="Remove level New level").click()
    assert page.get_by_label("Level 5 name").count() == 0

    page.get_by_label("Element 1 title").fill("Weld quality")
    page.get_by_label("Element 2 title").fill("Joint preparation")
    page.get_by_label("Evidence guidance for the worker").first.fill("Photos of root and cap")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).first.click()
    assert page.get_by_text("Rubric saved.").is_visible()
    levels = ["Not yet", "Developing", "Meets", "Exceeds"]
    for title in ("Weld quality", "Joint preparation"):
        for level in levels:
            page.get_by_label(f"{title} at level {level}").fill(f"{title}: {level.lower()}")
    # Reorder: joint preparation first.
    with page.expect_navigation():
        page.get_by_role("button", name="Move element Joint preparation up").click()
    assert page.get_by_label("Element 1 title").input_value() == "Joint preparation"
    assert page.get_by_label("Weld quality at level Meets").input_value() == "Weld quality: meets"
    page.screenshot(path=str(screenshot_dir / "rubric-editor.png"), full_page=True)

    with page.expect_navigation():
        page.get_by_role("button", name="Save and preview").first.click()
    assert page.get_by_text("Preview: this is how workers see the rubric.").is_visible()
    with page.expect_navigation():
        page.get_by_role("link", name="Publish version 1").click()
    assert page.get_by_text("The version is frozen: it can never be edited again.").is_visible()
    page.get_by_role("button", name="Publish version 1").click()
    assert page.get_by_text("Version 1 published. It can no longer change.").is_visible()

    # A credential using it, published to the catalogue.
    page.goto(base + "/o/northwind/credentials/new")
    page.get_by_label("Name", exact=True).fill("Vertical Fillet Welder")
    page.get_by_label("Description").fill("Welds 3G plate safely.")
    page.get_by_label("Criteria").fill("Two welds made **on the job**.")
    page.get_by_label("Rubric").select_option(label="Vertical fillet weld (version 1)")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Publish").click()
    assert page.get_by_text("now in the public catalogue").is_visible()
    context.close()

    visitor = browser.new_context(viewport={"width": 390, "height": 844})
    vpage = visitor.new_page()
    watch(vpage, errors)
    vpage.goto(base + "/o/northwind/catalogue")
    vpage.get_by_role("link", name="Vertical Fillet Welder").click()
    table = vpage.get_by_role("table")
    assert table.get_by_role("rowheader").nth(0).inner_text().startswith("Joint preparation")
    assert vpage.get_by_text("Weld quality: exceeds").is_visible()
    assert vpage.get_by_text("Photos of root and cap").is_visible()
    assert vpage.get_by_text("Every required element must be at “Meets” or above").is_visible()
    vpage.screenshot(path=str(screenshot_dir / "catalogue-rubric-phone.png"), full_page=True)
    visitor.close()
    assert errors == []
