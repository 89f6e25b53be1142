"""Mistakes a worker can make on the way: each shows a clear message in the page and loses
nothing they typed. axe-core checks the pages with the messages on them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from portfolio.accounts.models import Role
from tests.conftest import PASSWORD
from tests.e2e.axe import Auditor
from tests.e2e.conftest import PHONE, watch
from tests.evidence import samples
from tests.submissions.conftest import Scenario, scenario  # noqa: F401 - fixture reused

pytestmark = pytest.mark.browser

REFLECTION = "Today I welded the **root pass** twice.\n\nThe second one had no porosity."


def worker_page(browser: Any, site: str, email: str, errors: list[str]) -> Any:
    page = browser.new_context(**PHONE).new_page()
    page.set_default_timeout(15000)
    watch(page, errors)
    page.goto(site + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    return page


def test_wrong_file_type_is_refused_with_the_reason(
    site: str, browser: Any, make: Any, auditor: Auditor
) -> None:
    org = make.org("Acme Welding")
    make.user((org, Role.LEARNER), email="wren@example.org")
    errors: list[str] = []
    page = worker_page(browser, site, "wren@example.org", errors)
    page.goto(site + "/portfolio/upload")
    page.wait_for_selector(".uppy-Dashboard")
    page.locator("input.uppy-Dashboard-input").first.set_input_files(
        [
            {"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"<html>hi</html>"},
            {"name": "weld.jpg", "mimeType": "image/jpeg", "buffer": samples.jpeg()},
        ]
    )
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    refused = page.locator("#upload-results li.bad")
    expect(refused).to_contain_text("report.pdf", timeout=20000)
    expect(refused).to_contain_text("not a PDF")
    expect(refused).to_contain_text("It was not added")
    # The good file in the same batch still arrives.
    expect(page.locator("#upload-results li.ok")).to_contain_text("weld")
    auditor.check(page, "wrong-file-type-phone")
    auditor.assert_clean()
    page.goto(site + "/portfolio/")
    expect(page.locator(".evidence-card")).to_have_count(1)
    page.context.close()
    # Uppy logs the refusal it displays; anything else would be a fault.
    assert not [e for e in errors if "[Uppy]" not in e], errors


def test_missing_evidence_for_a_required_element_keeps_the_note(
    site: str, browser: Any, scenario: Scenario, auditor: Auditor
) -> None:
    errors: list[str] = []
    page = worker_page(browser, site, "wren@example.org", errors)
    page.goto(f"{site}/o/{scenario.org.slug}/catalogue/{scenario.credential.public_id}")
    with page.expect_navigation():
        page.get_by_role("button", name="Start a submission").click()
    first = page.locator(f"#element-{scenario.elements[0].public_id}")
    first.get_by_label("Add evidence from your portfolio").select_option(
        label="Joint photo (PNG image)"
    )
    # Attached in place (issue 15, finding 4): the element says so, the page stays put.
    first.get_by_role("button", name="Attach").click()
    expect(first.get_by_text("Evidence attached and saved.")).to_be_visible()
    note = "Photos were taken on site B, bay 4, after the root pass."
    page.get_by_label("A note for the assessor (optional)").fill(note)
    page.get_by_label("I confirm this is my own work", exact=False).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit", exact=True).click()
    alert = page.get_by_role("alert").first
    expect(alert).to_contain_text("Add evidence for every required element")
    expect(alert).to_contain_text("“Weld the joint”")
    expect(alert).to_contain_text("“Inspect the weld”")
    expect(page.get_by_label("A note for the assessor (optional)")).to_have_value(note)
    expect(page.get_by_label("I confirm this is my own work", exact=False)).to_be_checked()
    expect(page.locator("#submission-state")).to_have_text("Draft")
    auditor.check(page, "missing-evidence-phone")
    auditor.assert_clean()
    page.context.close()
    assert not errors, errors


def _write_reflection(page: Any, site: str) -> None:
    page.goto(site + "/portfolio/reflections/new")
    page.get_by_label("Title").fill("Root pass <b>lesson</b>")
    page.get_by_label("Your reflection").fill(REFLECTION)


def test_expired_form_token_keeps_the_reflection_and_sends_it_again(
    site: str, browser: Any, make: Any, auditor: Auditor
) -> None:
    org = make.org("Acme Welding")
    make.user((org, Role.LEARNER), email="wren@example.org")
    errors: list[str] = []
    page = worker_page(browser, site, "wren@example.org", errors)
    _write_reflection(page, site)
    # The token in the page has expired while the worker was typing.
    page.evaluate("document.querySelectorAll('[name=csrf_token]').forEach(e => e.value = 'old')")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.get_by_label("Title")).to_have_value("Root pass <b>lesson</b>")
    expect(page.get_by_label("Body")).to_have_value(REFLECTION)
    auditor.check(page, "form-expired-phone")
    auditor.assert_clean()
    with page.expect_navigation():
        page.get_by_role("button", name="Send again").click()
    expect(page.get_by_text("Your reflection was saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Root pass <b>lesson</b>")).to_be_visible()
    expect(page.locator(".prose strong")).to_have_text("root pass")
    page.context.close()
    assert not errors, errors


def test_session_ended_mid_form_still_shows_what_was_typed(
    site: str, browser: Any, make: Any, auditor: Auditor
) -> None:
    org = make.org("Acme Welding")
    make.user((org, Role.LEARNER), email="wren@example.org")
    errors: list[str] = []
    page = worker_page(browser, site, "wren@example.org", errors)
    _write_reflection(page, site)
    page.context.clear_cookies()  # signed out elsewhere, or the session cookie expired
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("copy it, sign in again")
    expect(page.get_by_label("Body")).to_have_value(REFLECTION)
    expect(page.get_by_role("button", name="Send again")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign in again")).to_be_visible()
    auditor.check(page, "session-ended-phone")
    auditor.assert_clean()
    page.context.close()
