"""The whole story in Chromium, from a CASE import to a revoked badge.

1. An admin imports a CASE framework, builds its rubric, publishes a credential (desktop).
2. A worker registers on a phone, uploads a photo and a PDF, writes a reflection, maps evidence
   to every element and submits.
3. An assessor on a desktop claims, scores every element and asks for a revision.
4. The worker revises and resubmits; the assessor passes it.
5. The worker sees the badge, hides one evidence item and shares the link.
6. An anonymous employer opens the link: valid, the shown evidence opens, the hidden one does
   not, the baked badge downloads.
7. The admin revokes; the employer's page says "revoked" with the reason.

The steps share one browser session per person, so they run as one test; each step is named in
the failure message, and axe-core checks every page visited (see tests/e2e/axe.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import current_app
from playwright.sync_api import expect

from portfolio.accounts.models import Role
from tests.conftest import PASSWORD
from tests.e2e.axe import Auditor
from tests.e2e.conftest import DESKTOP, PHONE, watch
from tests.evidence import samples

pytestmark = pytest.mark.browser

CASE_PACKAGE = Path(__file__).resolve().parents[1] / "frameworks" / "data" / "welding_case.json"
RUBRIC = "Vertical fillet weld assessment"
CREDENTIAL = "Vertical Fillet Welder"
ELEMENTS = ["Joint preparation", "Weld quality", "Safe work practice", "Visual inspection"]
REVOKE_REASON = "Issued in error: the weld test was not witnessed."


@dataclass
class Story:
    """What the steps hand to each other."""

    base: str
    slug: str
    auditor: Auditor
    errors: list[str] = field(default_factory=list)
    pages: dict[str, Any] = field(default_factory=dict)
    submission_url: str = ""
    badge_url: str = ""
    hidden_evidence_id: str = ""

    def open(self, browser: Any, who: str, device: dict[str, Any]) -> Any:
        context = browser.new_context(**device)
        page = context.new_page()
        page.set_default_timeout(15000)
        watch(page, self.errors)
        self.pages[who] = page
        return page

    def check(self, page: Any, name: str) -> None:
        self.auditor.check(page, name)


@contextmanager
def step(story: Story, title: str) -> Iterator[None]:
    """Name the step in any failure, and demand clean axe results at its end."""
    try:
        yield
        story.auditor.assert_clean()
        assert not story.errors, "errors in the browser console:\n" + "\n".join(story.errors)
    except Exception as exc:
        raise AssertionError(f"Step “{title}” failed: {exc}") from exc


def sign_in(story: Story, page: Any, email: str, name: str) -> None:
    page.goto(story.base + "/login")
    story.check(page, f"{name}-login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    story.check(page, f"{name}-dashboard")


def navigate(page: Any, link: str, *, exact: bool = False) -> None:
    with page.expect_navigation():
        page.get_by_role("link", name=link, exact=exact).first.click()


def press(page: Any, button: str, *, exact: bool = False) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=exact).first.click()


# -- 1 ------------------------------------------------------------------------------------------
def admin_prepares_the_credential(story: Story, browser: Any) -> None:
    s = story
    page = s.open(browser, "admin", DESKTOP)
    sign_in(s, page, "ada@example.org", "01-admin")
    navigate(page, "Competency frameworks")
    s.check(page, "01-admin-frameworks")
    navigate(page, "Import a CASE package")
    s.check(page, "01-admin-import")
    page.get_by_label("CASE package (JSON)").set_input_files(str(CASE_PACKAGE))
    press(page, "Import", exact=True)
    expect(page.get_by_role("status").first).to_contain_text("“Welding Competencies” imported")
    s.check(page, "01-admin-framework")

    page.goto(f"{s.base}/o/{s.slug}/rubrics")
    s.check(page, "01-admin-rubrics")
    navigate(page, RUBRIC)
    s.check(page, "01-admin-rubric")
    navigate(page, "Edit", exact=True)
    s.check(page, "01-admin-editor")
    for title in ELEMENTS:
        row = page.locator("tr[data-element]", has=page.locator(f"input[value='{title}']"))
        row.get_by_label("Evidence guidance for the worker").fill(f"Photos or notes: {title}.")
    press(page, "Save and preview")
    expect(page.get_by_text("Preview: this is how workers see the rubric.")).to_be_visible()
    s.check(page, "01-admin-preview")
    navigate(page, "Publish version 1")
    expect(page.get_by_text("The version is frozen: it can never be edited again.")).to_be_visible()
    s.check(page, "01-admin-publish-confirm")
    press(page, "Publish version 1")
    expect(page.get_by_text("Version 1 published.")).to_be_visible()
    s.check(page, "01-admin-rubric-published")

    page.goto(f"{s.base}/o/{s.slug}/credentials")
    s.check(page, "01-admin-credentials")
    navigate(page, "New credential")
    page.get_by_label("Name", exact=True).fill(CREDENTIAL)
    page.get_by_label("Description").fill("Welds 3G plate safely on the job.")
    page.get_by_label("Criteria").fill("Evidence from **two** real jobs.")
    page.get_by_label("Rubric").select_option(label=f"{RUBRIC} (version 1)")
    s.check(page, "01-admin-credential-form")
    press(page, "Save", exact=True)
    s.check(page, "01-admin-credential")
    press(page, "Publish", exact=True)
    expect(page.get_by_text("now in the public catalogue")).to_be_visible()
    s.check(page, "01-admin-credential-published")


# -- 2 ------------------------------------------------------------------------------------------
def worker_collects_and_submits(story: Story, browser: Any) -> None:
    s = story
    page = s.open(browser, "worker", PHONE)
    page.goto(f"{s.base}/o/{s.slug}/register")
    s.check(page, "02-worker-register")
    page.get_by_label("Your name").fill("Wren Worker")
    page.get_by_label("Email").fill("wren@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    press(page, "Create my account")
    page.wait_for_url("**/dashboard")
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    s.check(page, "02-worker-dashboard-unconfirmed")
    # The worker opens the link from the confirmation mail.
    [mail] = [
        m for m in current_app.extensions["portfolio.outbox"] if m["to"] == "wren@example.org"
    ]
    link = next(w for w in mail["body"].split() if "/confirm-email/" in w)
    assert link.startswith(s.base)
    page.goto(link)
    page.wait_for_url("**/dashboard")
    expect(page.get_by_text("wren@example.org is confirmed")).to_be_visible()
    expect(page.get_by_role("heading", name="Confirm your email address")).to_have_count(0)
    s.check(page, "02-worker-dashboard")

    navigate(page, "My portfolio")
    s.check(page, "02-worker-portfolio-empty")
    navigate(page, "Upload files")
    page.wait_for_selector(".uppy-Dashboard")
    s.check(page, "02-worker-upload")
    page.locator("input.uppy-Dashboard-input").first.set_input_files(
        [
            {"name": "fillet-weld.jpg", "mimeType": "image/jpeg", "buffer": samples.jpeg()},
            {"name": "inspection.pdf", "mimeType": "application/pdf", "buffer": samples.pdf()},
        ]
    )
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    # Progress: Uppy's status bar and each file's progress reach "complete", then the app has
    # checked both files.
    page.wait_for_selector(".uppy-StatusBar.is-complete", timeout=20000)
    expect(page.locator(".uppy-Dashboard-Item.is-complete")).to_have_count(2)
    expect(page.locator("#upload-results li.ok")).to_have_count(2)
    s.check(page, "02-worker-uploaded")

    page.goto(f"{s.base}/portfolio/")
    navigate(page, "Write a reflection")
    s.check(page, "02-worker-reflection-form")
    page.get_by_label("Title").fill("What I learned on the 3G test")
    page.get_by_label("Your reflection").fill("I kept the **arc** short and watched the puddle.")
    press(page, "Save", exact=True)
    expect(page.get_by_text("Your reflection was saved.")).to_be_visible()
    s.check(page, "02-worker-reflection")

    page.goto(f"{s.base}/portfolio/")
    expect(page.locator(".evidence-card")).to_have_count(3)
    s.check(page, "02-worker-portfolio")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "sideways scrolling"

    page.goto(s.base + "/dashboard")
    navigate(page, "Credentials on offer")
    s.check(page, "02-worker-catalogue")
    navigate(page, CREDENTIAL)
    s.check(page, "02-worker-credential")
    press(page, "Start a submission")
    s.submission_url = page.url
    s.check(page, "02-worker-draft")
    items = ["fillet-weld (JPEG photo)", "inspection (PDF document)", "What I learned"]
    items.append(items[0])
    for element, item in zip(ELEMENTS, items, strict=True):
        section = page.locator("section.element", has=page.get_by_role("heading", name=element))
        select = section.get_by_label("Add evidence from your portfolio")
        options = select.locator("option").all_inner_texts()
        label = next((o for o in options if item in o), f"{item!r} is not in {options}")
        select.select_option(label=label)
        section.get_by_label(f"How it shows “{element}”").fill(f"{item} shows {element.lower()}")
        # Attached in place: the element says so and the page keeps its place.
        section.get_by_role("button", name="Attach").click()
        expect(section.get_by_text("Evidence attached and saved.")).to_be_visible()
    expect(page.get_by_text("Still needed")).to_have_count(0)
    s.check(page, "02-worker-draft-mapped")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "sideways scrolling"
    page.get_by_label("A note for the assessor (optional)").fill("Both welds were on site.")
    page.get_by_label("I confirm this is my own work", exact=False).check()
    press(page, "Submit", exact=True)
    expect(page.locator("#submission-state")).to_have_text("Submitted, waiting for an assessor")
    s.check(page, "02-worker-submitted")


# -- 3 ------------------------------------------------------------------------------------------
def score(page: Any, levels: list[str], feedback: str) -> None:
    for element, level in zip(ELEMENTS, levels, strict=True):
        row = page.locator("section.review-row", has=page.get_by_role("heading", name=element))
        row.locator("label.level-option", has_text=level).click()
        row.get_by_label("Remark").fill(f"{element}: {level.lower()}")
    page.get_by_label("Overall feedback to the worker").fill(feedback)


def assessor_asks_for_revision(story: Story, browser: Any) -> None:
    s = story
    page = s.open(browser, "assessor", DESKTOP)
    sign_in(s, page, "sam@example.org", "03-assessor")
    navigate(page, "Open the review queue")
    s.check(page, "03-assessor-queue")
    press(page, f"Claim Wren Worker's {CREDENTIAL}")
    page.wait_for_url("**/review/*")
    expect(page.locator("img.evidence-image").first).to_be_visible()
    s.check(page, "03-assessor-review")
    score(page, ["Meets", "Developing", "Meets", "Meets"], "Weld quality: watch the undercut.")
    press(page, "Check the outcome")
    expect(page.locator("#outcome-preview")).to_contain_text("Needs revision")
    s.check(page, "03-assessor-outcome")
    press(page, "Confirm: Needs revision")
    expect(page.get_by_text("Review recorded.")).to_be_visible()
    s.check(page, "03-assessor-recorded")


# -- 4 ------------------------------------------------------------------------------------------
def worker_revises_and_assessor_passes(story: Story) -> None:
    s = story
    worker = s.pages["worker"]
    worker.goto(s.submission_url)
    expect(worker.locator("#submission-state")).to_have_text("Needs revision")
    expect(worker.locator(".feedback")).to_contain_text("watch the undercut")
    s.check(worker, "04-worker-feedback")
    press(worker, "Start attempt 2")
    expect(worker.get_by_text("Attempt 2 started")).to_be_visible()
    s.check(worker, "04-worker-attempt-2")
    note = worker.get_by_label("How it shows this element").nth(1)
    note.fill("Second pass: no undercut, see the PDF report.")
    # Saved in place: the element says so and the page keeps its place.
    note.locator("xpath=ancestor::form[1]").get_by_role("button", name="Save note").click()
    expect(worker.get_by_text("Note saved.")).to_be_visible()
    worker.get_by_label("I confirm this is my own work", exact=False).check()
    press(worker, "Submit", exact=True)
    expect(worker.locator("#submission-state")).to_have_text("Submitted, waiting for an assessor")
    s.check(worker, "04-worker-resubmitted")

    assessor = s.pages["assessor"]
    assessor.goto(f"{s.base}/o/{s.slug}/queue")
    s.check(assessor, "04-assessor-queue")
    press(assessor, f"Claim Wren Worker's {CREDENTIAL}")
    score(assessor, ["Meets", "Meets", "Exceeds", "Meets"], "Clean welds. Well done.")
    press(assessor, "Check the outcome")
    expect(assessor.locator("#outcome-preview")).to_contain_text("Passed")
    s.check(assessor, "04-assessor-outcome")
    press(assessor, "Confirm: Passed")
    expect(assessor.get_by_text("Review recorded.")).to_be_visible()


# -- 5 ------------------------------------------------------------------------------------------
def worker_shares_the_badge(story: Story) -> None:
    s = story
    page = s.pages["worker"]
    page.reload()
    expect(page.locator("#submission-state")).to_have_text("Passed")
    s.check(page, "05-worker-passed")
    page.goto(s.base + "/dashboard")
    navigate(page, "My badges")
    card = page.locator("section.card", has=page.get_by_role("heading", name=CREDENTIAL))
    expect(card).to_be_visible()
    s.check(page, "05-worker-badges")
    pdf_entry = card.locator("li", has_text="inspection (for")
    hide_url = pdf_entry.get_by_role("link", name="Hide").get_attribute("href") or ""
    s.hidden_evidence_id = hide_url.rsplit("evidence=", 1)[-1]
    with page.expect_navigation():
        pdf_entry.get_by_role("link", name="Hide").click()
    expect(page.get_by_text("Employers opening your badge link no longer see")).to_be_visible()
    s.check(page, "05-worker-hide-confirm")
    press(page, "Hide it")
    expect(page.get_by_text("That evidence is now hidden from the public.")).to_be_visible()
    card = page.locator("section.card", has=page.get_by_role("heading", name=CREDENTIAL))
    expect(card.locator("li", has_text="inspection (for")).to_contain_text("hidden")
    s.check(page, "05-worker-evidence-hidden")
    s.badge_url = card.locator("input.share-input").input_value()
    assert s.badge_url.startswith(s.base + "/badges/"), s.badge_url
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "sideways scrolling"


# -- 6 ------------------------------------------------------------------------------------------
def employer_checks_the_badge(story: Story, browser: Any, tmp_path: Path) -> None:
    s = story
    page = s.open(browser, "employer", PHONE)
    page.goto(s.badge_url)
    verdict = page.locator(".verdict")
    expect(verdict).to_have_attribute("data-status", "valid")
    expect(verdict).to_contain_text("This badge is valid")
    expect(page.get_by_role("heading", name=CREDENTIAL)).to_be_visible()
    s.check(page, "06-employer-badge")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "sideways scrolling"

    navigate(page, "fillet-weld")
    image = page.locator("img.evidence-image")
    expect(image).to_be_visible()
    assert page.evaluate("i => i.complete && i.naturalWidth > 0", image.element_handle())
    s.check(page, "06-employer-evidence")

    page.goto(s.badge_url)
    expect(page.get_by_text("Withheld by the earner")).to_be_visible()
    expect(page.get_by_role("link", name="inspection", exact=True)).to_have_count(0)
    response = page.goto(f"{s.badge_url}/evidence/{s.hidden_evidence_id}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Evidence withheld")).to_be_visible()
    s.check(page, "06-employer-evidence-withheld")
    file_status = page.request.get(f"{s.badge_url}/evidence/{s.hidden_evidence_id}/file").status
    assert file_status == 404, f"the hidden file answered {file_status}"

    page.goto(s.badge_url)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="PNG").first.click()
    target = tmp_path / "badge.png"
    download_info.value.save_as(target)
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG"), "the download is not a PNG"
    assert b"openbadges" in data, "no Open Badges data baked into the PNG"


# -- 7 ------------------------------------------------------------------------------------------
def admin_revokes(story: Story) -> None:
    s = story
    admin = s.pages["admin"]
    admin.goto(s.base + "/dashboard")
    navigate(admin, "Badges issued and revocations")
    s.check(admin, "07-admin-awards")
    row = admin.locator("tr", has_text="Wren Worker")
    with admin.expect_navigation():
        row.get_by_role("link", name="Revoke").click()
    expect(admin.get_by_text("The badge stops verifying at once")).to_be_visible()
    s.check(admin, "07-admin-revoke-confirm")
    admin.get_by_label("Reason").fill(REVOKE_REASON)
    press(admin, "Revoke the badge")
    expect(admin.get_by_text("has been revoked")).to_be_visible()
    s.check(admin, "07-admin-revoked")

    employer = s.pages["employer"]
    employer.goto(s.badge_url)
    # A browser may reuse the page it saw for up to a minute (Cache-Control: public,
    # max-age=60, the documented delay of a revocation); reloading asks the server again.
    employer.reload()
    verdict = employer.locator(".verdict")
    expect(verdict).to_have_attribute("data-status", "revoked")
    expect(verdict).to_contain_text("revoked")
    expect(verdict).to_contain_text(REVOKE_REASON)
    s.check(employer, "07-employer-revoked")


def test_from_case_import_to_revoked_badge(
    site: str, browser: Any, make: Any, auditor: Auditor, tmp_path: Path
) -> None:
    org = make.org("Northwind Trades", slug="northwind", allows_self_registration=True)
    make.user((org, Role.ADMIN), email="ada@example.org", name="Ada Admin")
    make.user((org, Role.ASSESSOR), email="sam@example.org", name="Sam Assessor")
    story = Story(base=site, slug=org.slug, auditor=auditor)
    try:
        with step(story, "1. admin imports CASE, builds the rubric, publishes a credential"):
            admin_prepares_the_credential(story, browser)
        with step(story, "2. worker registers on a phone, uploads, maps evidence, submits"):
            worker_collects_and_submits(story, browser)
        with step(story, "3. assessor claims, scores, asks for revision"):
            assessor_asks_for_revision(story, browser)
        with step(story, "4. worker revises and resubmits, assessor passes"):
            worker_revises_and_assessor_passes(story)
        with step(story, "5. worker hides one evidence item and shares the badge"):
            worker_shares_the_badge(story)
        with step(story, "6. anonymous employer checks the badge and its evidence"):
            employer_checks_the_badge(story, browser, tmp_path)
        with step(story, "7. admin revokes; the employer sees it"):
            admin_revokes(story)
    finally:
        for page in story.pages.values():
            page.context.close()
    # Every page of the story was seen by axe.
    assert len(auditor.visited) >= 30, auditor.visited
