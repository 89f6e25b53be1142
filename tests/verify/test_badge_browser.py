"""An employer with a real browser opens a badge link, sees that it is valid, follows an
evidence link to the assessed photo, and sees the badge as revoked after an admin revokes it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portfolio.awards import revocation
from portfolio.extensions import db
from tests.awards.conftest import award_of, pass_submission
from tests.conftest import Client
from tests.submissions.conftest import Scenario

pytestmark = pytest.mark.browser


def test_anonymous_visitor_checks_a_badge_and_its_evidence(
    app: Flask,
    live_server: Any,
    browser: Any,
    screenshot_dir: Path,
    client: Client,
    other_client: Client,
    scenario: Scenario,
) -> None:
    cfg = app.config["PORTFOLIO"]
    app.config["PORTFOLIO"] = dataclasses.replace(cfg, public_base_url=live_server.url)
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    award = award_of(pass_submission(client, other_client, scenario))
    url = f"{live_server.url}/badges/{award.public_id}"

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    verdict = page.locator(".verdict")
    assert verdict.get_attribute("data-status") == "valid"
    assert "This badge is valid" in verdict.inner_text()
    assert page.get_by_role("heading", name="Fillet Welding").is_visible()
    # Earner-only controls are not offered to a visitor (issue 15, finding 23).
    assert page.get_by_role("link", name="Add to LinkedIn profile").count() == 0
    page.screenshot(path=str(screenshot_dir / "badge-valid-phone.png"), full_page=True)

    page.get_by_role("link", name="Joint photo").click()
    page.wait_for_url("**/evidence/**")
    assert page.get_by_role("heading", name="Joint photo").is_visible()
    image = page.locator("img.evidence-image")
    image.wait_for()
    assert page.evaluate("img => img.complete && img.naturalWidth", image.element_handle()) == 64
    page.screenshot(path=str(screenshot_dir / "badge-evidence-phone.png"), full_page=True)

    page.goto(url)
    page.get_by_role("link", name="Verify this badge").click()
    assert page.locator(".verification").get_attribute("data-result") == "valid"

    revocation.revoke_award(scenario.admin, award, "Issued in error.")
    db.session.commit()
    page.goto(url)
    # The browser may reuse its copy for up to a minute (Cache-Control: public, max-age=60,
    # the documented delay of a revocation); reloading asks the server again.
    page.reload()
    verdict = page.locator(".verdict")
    assert verdict.get_attribute("data-status") == "revoked"
    assert "revoked" in verdict.inner_text() and "Issued in error." in verdict.inner_text()
    page.screenshot(path=str(screenshot_dir / "badge-revoked-phone.png"), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
