"""Issue 15 in Chromium, on phone (390 x 844) and desktop (1366 x 900): every new or changed page is
screenshotted and checked by axe-core, and what a person would notice is asserted: the visible
desktop navigation and the phone menu (finding 9), the rubric readable on a phone without
sideways scrolling (10), the dashboard cards (2), the confirmation step (5), the share controls
with visible copy feedback (16), the capture buttons (18), the revoked state on evidence
pages (11) and the error page in the app's layout (12)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from portfolio.awards import revocation
from portfolio.extensions import db
from tests.awards.conftest import award_of, pass_submission
from tests.conftest import PASSWORD, Client
from tests.e2e.axe import Auditor
from tests.e2e.conftest import watch
from tests.submissions.conftest import Scenario, build_credential, scenario, start  # noqa: F401

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
DEVICES = {"phone": PHONE, "desktop": DESKTOP}


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def test_issue15_pages_on_phone_and_desktop(
    app: Flask, site: str, browser: Any, auditor: Auditor, scenario: Scenario
) -> None:
    s = scenario
    app.test_client_class = Client
    worker_c: Client = app.test_client()  # type: ignore[assignment]
    assessor_c: Client = app.test_client()  # type: ignore[assignment]
    worker_c.login("wren@example.org")
    assessor_c.login("sam@example.org")
    award = award_of(pass_submission(worker_c, assessor_c, s))
    # A second credential with a draft attempt, for the coverage line and the upload return.
    second = build_credential(s.org, s.version, name="Tack Welding")
    db.session.commit()
    s.credential = second
    draft = start(worker_c, s)
    errors: list[str] = []

    for n, (device, options) in enumerate(DEVICES.items()):
        # Each pass attaches evidence to the next element of the same draft.
        element = s.elements[n].public_id
        ctx = browser.new_context(**options)
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
        anon = ctx.new_page()
        watch(anon, errors)
        anon.goto(site + "/")
        expect(anon.get_by_role("link", name="Check a badge").first).to_be_visible()
        expect(anon.get_by_role("link", name="Acme Welding", exact=True)).to_be_visible()
        auditor.check(anon, f"home-{device}")
        anon.goto(site + "/badges/AAAAAAAAAAAAAAAAAAAAAA")
        expect(anon.get_by_role("heading", name="Page not found")).to_be_visible()
        auditor.check(anon, f"error-404-{device}")
        anon.goto(f"{site}/o/{s.org.slug}/catalogue/{s.credential.public_id}")
        auditor.check(anon, f"catalogue-rubric-{device}")
        if device == "phone":
            # The rubric is stacked: nothing sits off-screen to the right.
            width = anon.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the catalogue page is {width}px wide on a 390px phone"
            meets = anon.locator("td[data-level^='Meets']").first
            box = meets.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 390
        ctx.close()

        ctx = browser.new_context(**options)
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
        page = ctx.new_page()
        watch(page, errors)
        _sign_in(page, site, "wren@example.org")
        expect(page.get_by_role("heading", name="What happened lately")).to_be_visible()
        expect(page.get_by_role("heading", name="Passed: Fillet Welding")).to_be_visible()
        if device == "desktop":
            nav = page.get_by_role("navigation", name="Main", exact=True)
            expect(nav.get_by_role("link", name="My badges")).to_be_visible()
            expect(page.get_by_text("Menu", exact=True)).to_be_hidden()
        else:
            expect(page.get_by_text("Menu", exact=True)).to_be_visible()
        auditor.check(page, f"worker-dashboard-{device}")
        page.goto(site + "/badges")
        card = page.locator("section.my-badge").first
        expect(card.locator("img.badge-image")).to_be_visible()
        expect(card.get_by_role("link", name="Download the badge image")).to_be_visible()
        card.get_by_role("button", name="Copy link").click()
        expect(card.get_by_role("status")).to_contain_text("Link copied")
        auditor.check(page, f"my-badges-{device}")
        page.goto(f"{site}/submissions/{draft}")
        expect(page.get_by_text(f"{n} of 4 elements covered")).to_be_visible()
        auditor.check(page, f"submission-draft-{device}")
        # Attach in place: the element's own status says so, the count goes up.
        section = page.locator(f"#element-{element}")
        section.get_by_label("Add evidence from your portfolio").select_option(
            label="Joint photo (PNG image)"
        )
        section.get_by_role("button", name="Attach").click()
        expect(page.get_by_text(f"{n + 1} of 4 elements covered")).to_be_visible()
        expect(page.locator(f"#element-{element} .element-status")).to_contain_text("attached")
        auditor.check(page, f"submission-attached-{device}")
        page.goto(f"{site}/portfolio/upload?next=/submissions/{draft}&element={element}")
        expect(page.get_by_text("Take a photo")).to_be_visible()
        expect(page.get_by_text("Record a video")).to_be_visible()
        expect(page.get_by_text("Record audio")).to_be_visible()
        auditor.check(page, f"upload-capture-{device}")
        page.goto(f"{site}/confirm/badges/{award.public_id}/hide")
        auditor.check(page, f"confirm-hide-{device}")
        page.goto(f"{site}/o/{s.org.slug}/catalogue/{s.credential.public_id}")
        auditor.check(page, f"catalogue-worker-{device}")
        ctx.close()

        ctx = browser.new_context(**options)
        page = ctx.new_page()
        watch(page, errors)
        _sign_in(page, site, "admin@example.org")
        if device == "desktop":
            nav = page.locator(".desktop-nav")
            nav.get_by_text("Organization", exact=True).click()
            expect(nav.get_by_role("link", name="Competency frameworks")).to_be_visible()
            expect(nav.get_by_role("link", name="Badges issued and revocations")).to_be_visible()
        else:
            page.get_by_text("Menu", exact=True).click()
            expect(page.get_by_role("link", name="Review queue").first).to_be_visible()
        auditor.check(page, f"admin-menu-{device}")
        page.goto(f"{site}/o/{s.org.slug}/awards")
        auditor.check(page, f"admin-awards-{device}")
        with page.expect_navigation():
            page.get_by_role("link", name="Revoke").first.click()
        expect(page.get_by_text("This cannot be undone.")).to_be_visible()
        auditor.check(page, f"confirm-revoke-{device}")
        page.goto(f"{site}/o/{s.org.slug}/members")
        auditor.check(page, f"admin-members-{device}")
        ctx.close()

    revocation.revoke_award(s.admin, award, "Issued in error.")
    db.session.commit()
    for device, options in DEVICES.items():
        ctx = browser.new_context(**options)
        page = ctx.new_page()
        watch(page, errors)
        eid = award.evidence[0].public_id
        page.goto(f"{site}/badges/{award.public_id}/evidence/{eid}")
        expect(page.locator(".verdict")).to_have_attribute("data-status", "revoked")
        auditor.check(page, f"evidence-revoked-{device}")
        ctx.close()

    auditor.assert_clean()
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)
