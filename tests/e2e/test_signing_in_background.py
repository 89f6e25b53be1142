"""A passing decision with a REAL job worker (a `flask jobs worker` process on the test Redis,
not the immediate mode of the rest of the suite): the assessor passes the submission in
Chromium, the employer's page says the badge is being signed, the worker signs it, and the
same page (refreshing by itself) shows it valid; "Verify this badge" checks the signature."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portfolio.core.jobs import get_queue
from tests.awards.conftest import PASSING, award_of, scenario  # noqa: F401
from tests.conftest import PASSWORD, Client, browser_storage_overrides
from tests.e2e.conftest import DESKTOP
from tests.jobworker import JobWorker, redis_overrides
from tests.submissions.conftest import Scenario, attach_all, start, submit


@pytest.fixture
def config_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {**browser_storage_overrides(request, "e2e"), **redis_overrides(request)}


@pytest.fixture
def worker(app: Flask, site: str, tmp_path: Path) -> Iterator[JobWorker]:
    """Not started yet: the test starts it once it has seen the badge being signed."""
    get_queue().huey.flush()
    w = JobWorker(app, tmp_path)  # after `site`: the worker writes the live server's URLs
    yield w
    w.stop()
    get_queue().huey.flush()


def test_a_passed_badge_is_signed_by_the_worker_and_appears_valid(
    app: Flask, site: str, worker: JobWorker, browser: Any, client: Client, scenario: Scenario
) -> None:
    from playwright.sync_api import expect

    s = scenario
    client.login("wren@example.org")
    pid = start(client, s)
    attach_all(client, s, pid)
    submit(client, pid)

    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(f"{site}/login")
    page.get_by_label("Email").fill("sam@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    page.goto(f"{site}/o/{s.org.slug}/queue")
    with page.expect_navigation():
        page.get_by_role("button", name="Claim").first.click()
    page.wait_for_url("**/review/*")
    for element, level in zip(s.elements, PASSING, strict=True):
        row = page.locator(
            "section.review-row", has=page.get_by_role("heading", name=element.title)
        )
        row.locator("label.level-option", has_text=level).first.click()
    with page.expect_navigation():
        page.get_by_role("button", name="Check the outcome").click()
    expect(page.locator("#outcome-preview")).to_contain_text("Passed")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm: Passed").click()
    expect(page.get_by_text("Review recorded.")).to_be_visible()

    # The decision committed the award at once; its signing waits on the broker.
    award = award_of(pid)
    assert award.is_being_signed and get_queue().huey.pending_count() >= 1
    employer = browser.new_context(**DESKTOP).new_page()
    employer.goto(f"{site}/badges/{award.public_id}")
    verdict = employer.locator(".verdict")
    expect(verdict).to_contain_text("This badge is being signed — it will appear in a moment.")
    document = employer.request.get(f"{site}/badges/{award.public_id}/credential.json")
    assert document.status == 404 and document.headers["retry-after"] == "2"

    worker.start()
    # The page refreshes by itself until the signed badge is there (a deadline only for a hang).
    expect(verdict).to_contain_text("This badge is valid", timeout=240_000)
    document = employer.request.get(f"{site}/badges/{award.public_id}/credential.json")
    assert document.status == 200 and document.json()["proof"][0]["proofValue"].startswith("z")
    with employer.expect_navigation():
        employer.get_by_role("link", name="Verify this badge").click()
    expect(employer.locator("section.verification")).to_have_attribute("data-result", "valid")
    context.close()
