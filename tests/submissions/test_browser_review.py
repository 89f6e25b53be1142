"""A worker submits on a phone; an assessor claims and scores with keyboard and mouse on a
desktop; the worker reads the feedback."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.submissions.conftest import Scenario

pytestmark = pytest.mark.browser


def _login(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")


def test_submit_claim_score_and_read_feedback(
    live_server, browser, scenario: Scenario, screenshot_dir: Path
) -> None:
    base = live_server.url
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    worker = phone.new_page()
    _login(worker, base, "wren@example.org")
    worker.goto(f"{base}/o/{scenario.org.slug}/catalogue/{scenario.credential.public_id}")
    worker.get_by_role("button", name="Start a submission").click()
    worker.wait_for_url("**/submissions/*")
    items = [
        "Joint photo (PNG image)",
        "Inspection report (PDF document)",
        "What I learned (Written reflection)",
        "Site log (Link)",
    ]
    for element, item in zip(scenario.elements, items, strict=True):
        section = worker.locator(f"#element-{element.public_id}")
        section.get_by_label("Add evidence from your portfolio").select_option(label=item)
        section.get_by_label(f"How it shows “{element.title}”").fill(f"{item} shows it")
        section.get_by_role("button", name="Attach").click()
        section.get_by_text("Evidence attached and saved.").wait_for()
    worker.screenshot(path=str(screenshot_dir / "submission-draft-phone.png"), full_page=True)
    worker.get_by_role("button", name="Submit", exact=True).click()
    # The refusal comes back at the form, the error beside the tick (issue 15, finding 25).
    assert "Tick the box to confirm" in worker.locator("#confirm-error").inner_text()
    worker.get_by_label("I confirm this is my own work", exact=False).check()
    worker.get_by_role("button", name="Submit", exact=True).click()
    worker.get_by_text("Submitted. An assessor will review").wait_for()
    assert worker.locator("#submission-state").inner_text() == "Submitted, waiting for an assessor"

    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    assessor = desktop.new_page()
    _login(assessor, base, "sam@example.org")
    assessor.goto(f"{base}/o/{scenario.org.slug}/queue")
    assessor.get_by_role("button", name="Claim Wren Worker's Fillet Welding").click()
    assessor.wait_for_url("**/review/*")
    assert assessor.locator("img.evidence-image").count() == 1
    # Keyboard: into the first element's levels, arrow to "Meets".
    first = scenario.elements[0]
    radios = assessor.locator(f"input[name='level-{first.public_id}']")
    radios.first.focus()
    expect(radios.first).to_be_focused()
    assessor.keyboard.press("Space")
    expect(radios.nth(0)).to_be_checked()
    assessor.keyboard.press("ArrowDown")
    assessor.keyboard.press("ArrowDown")
    expect(radios.nth(2)).to_be_checked()
    assessor.keyboard.press("Tab")
    remark = assessor.locator(f"#remark-{first.public_id}")
    expect(remark).to_be_focused()
    assessor.keyboard.type("Clean bevel, keyboard scored", delay=10)
    expect(remark).to_have_value("Clean bevel, keyboard scored")
    # Mouse for the rest.
    for element, level in zip(
        scenario.elements[1:], ["Developing", "Meets", "Not yet"], strict=True
    ):
        row = assessor.locator(
            "section.review-row", has=assessor.locator(f"input[name='level-{element.public_id}']")
        )
        row.locator("label.level-option", has_text=level).click()
        row.get_by_label("Remark").fill(f"{element.title}: {level}")
    assessor.get_by_label("Overall feedback to the worker").fill("Work on penetration.")
    assessor.get_by_role("button", name="Check the outcome").click()
    outcome = assessor.locator("#outcome-preview")
    assert "The pass rule gives: Needs revision" in outcome.inner_text()
    assert "“Weld the joint” is below Meets." in outcome.inner_text()
    assessor.screenshot(path=str(screenshot_dir / "review-desktop.png"), full_page=True)
    assessor.get_by_role("button", name="Confirm: Needs revision").click()
    assessor.get_by_text("Review recorded.").wait_for()

    worker.reload()
    expect(worker.locator("#submission-state")).to_have_text("Needs revision")
    expect(worker.locator(f"#element-{first.public_id} .score")).to_have_text(
        "Level achieved: Meets — Clean bevel, keyboard scored"
    )
    expect(worker.locator(f"#element-{scenario.elements[1].public_id} .score")).to_have_text(
        "Level achieved: Developing — Weld the joint: Developing"
    )
    expect(worker.locator(".feedback")).to_contain_text("Work on penetration.")
    worker.screenshot(path=str(screenshot_dir / "feedback-phone.png"), full_page=True)
    phone.close()
    desktop.close()
