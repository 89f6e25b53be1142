"""Two files uploaded through the Uppy widget in Chromium, straight to the store of the run: the
embedded default's local store in the SQLite run, the moto S3 server in the PostgreSQL run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portfolio.accounts.models import Role
from portfolio.evidence.models import EvidenceItem, EvidenceState
from portfolio.extensions import db
from tests.conftest import PASSWORD, browser_storage_overrides, prepare_browser_storage
from tests.evidence import samples

pytestmark = pytest.mark.browser


def wait_until(page: Any, expression: str, timeout: float = 15.0) -> None:
    """Poll with page.evaluate (wait_for_function evaluates strings, which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(100)


@pytest.fixture
def config_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return browser_storage_overrides(request, "br")


def test_upload_two_files_with_progress_and_thumbnails(
    app: Flask, live_server, browser, make, screenshot_dir: Path
) -> None:
    prepare_browser_storage(live_server.url)
    org = make.org("Acme Welding")
    make.user((org, Role.LEARNER), email="wren@example.org", name="Wren")

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("wren@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    page.get_by_role("link", name="My portfolio").first.click()
    page.wait_for_url("**/portfolio/")
    page.get_by_role("link", name="Upload files").click()
    page.wait_for_selector(".uppy-Dashboard")
    # The plain form is hidden once the widget runs.
    assert not page.locator("#plain-upload").is_visible()

    page.locator("input.uppy-Dashboard-input").first.set_input_files(
        [
            {
                "name": "weld-bead.jpg",
                "mimeType": "image/jpeg",
                "buffer": samples.jpeg((1600, 1200)),
            },
            {"name": "setup.png", "mimeType": "image/png", "buffer": samples.png((800, 600))},
        ]
    )
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    page.wait_for_selector("#upload-results li.ok >> nth=1", timeout=20000)
    # Every file's progress reached the end and the status bar says it is done, with no
    # failure text anywhere in the widget.
    page.wait_for_selector(".uppy-StatusBar.is-complete", timeout=10000)
    widget = page.locator("#uploader").inner_text()
    assert "failed" not in widget.lower() and "Retry" not in widget, widget
    assert page.locator(".uppy-Dashboard-Item.is-error").count() == 0
    assert page.locator("#upload-results li.bad").count() == 0
    assert page.locator(".uppy-Dashboard-Item.is-complete").count() == 2
    assert page.locator("#upload-results li.ok img").count() == 2
    page.screenshot(path=str(screenshot_dir / "evidence-upload-phone.png"), full_page=True)

    page.goto(live_server.url + "/portfolio/")
    cards = page.locator(".evidence-card")
    assert cards.count() == 2
    wait_until(
        page,
        "Array.from(document.querySelectorAll('img.thumb'))"
        ".filter(i => i.complete && i.naturalWidth > 0).length === 2",
    )
    page.screenshot(path=str(screenshot_dir / "evidence-library-phone.png"), full_page=True)
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/portfolio/?view=list")
    page.screenshot(path=str(screenshot_dir / "evidence-library-list-desktop.png"), full_page=True)
    page.locator(".evidence-row a").first.click()
    page.wait_for_selector("img.preview-image")
    wait_until(page, "document.querySelector('img.preview-image').naturalWidth > 0")
    page.screenshot(path=str(screenshot_dir / "evidence-item-desktop.png"), full_page=True)
    context.close()

    db.session.expire_all()
    items = db.session.query(EvidenceItem).all()
    assert sorted(i.original_filename for i in items) == ["setup.png", "weld-bead.jpg"]
    assert all(i.state == EvidenceState.READY and i.thumbnail_key for i in items)
    assert not [e for e in errors if "Content Security Policy" in e], errors
