"""Blind double marking with 100 % internal verification in hold mode, in Chromium: a phone
worker maps evidence and names a workplace witness; the witness confirms on a phone without an
account; two desktop assessors disagree on one element; the moderator decides; the internal
verifier agrees (one valid badge whose credential lists the testimony) — or, in the second run,
sends the decision back. axe-core checks every page visited."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from portfolio.awards import verification
from portfolio.awards.models import Award
from portfolio.extensions import db
from tests.conftest import PASSWORD
from tests.e2e.axe import Auditor
from tests.e2e.conftest import DESKTOP, PHONE, watch
from tests.submissions.conftest import (  # noqa: F401 - the scenario fixture is reused here
    Scenario,
    scenario,
)
from tests.submissions.workflow import DOUBLE_BLIND_HOLD, add_people, configure

ITEMS = ["Joint photo", "Inspection report", "What I learned", "Site log"]
LINK_RE = re.compile(r"https?://\S+/witness/\S+")


class Journey:
    def __init__(self, base: str, auditor: Auditor, browser: Any) -> None:
        self.base, self.auditor, self.browser = base, auditor, browser
        self.errors: list[str] = []
        self.pages: list[Any] = []

    def open(self, device: dict[str, Any]) -> Any:
        page = self.browser.new_context(**device).new_page()
        page.set_default_timeout(15000)
        watch(page, self.errors)
        self.pages.append(page)
        return page

    def sign_in(self, device: dict[str, Any], email: str, name: str) -> Any:
        page = self.open(device)
        page.goto(self.base + "/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/dashboard")
        self.auditor.check(page, f"{name}-dashboard")
        return page


@contextmanager
def step(j: Journey, title: str) -> Iterator[None]:
    try:
        yield
        j.auditor.assert_clean()
        assert not j.errors, "errors in the browser console:\n" + "\n".join(j.errors)
    except Exception as exc:
        raise AssertionError(f"Step “{title}” failed: {exc}") from exc


def press(page: Any, button: str, *, exact: bool = False) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=exact).first.click()


def score(page: Any, s: Scenario, levels: list[str], text_label: str, text: str) -> None:
    for element, level in zip(s.elements, levels, strict=True):
        row = page.locator(
            "section.review-row", has=page.get_by_role("heading", name=element.title)
        )
        row.locator("label.level-option", has_text=level).click()
        row.get_by_label("Remark").fill(f"{element.title}: {level.lower()}")
    page.get_by_label(text_label).fill(text)


def decide(
    page: Any, s: Scenario, levels: list[str], text_label: str, text: str, label: str
) -> None:
    score(page, s, levels, text_label, text)
    press(page, "Check the outcome")
    expect(page.locator("#outcome-preview")).to_contain_text(label)
    press(page, f"Confirm: {label}")


@pytest.mark.parametrize("verdict", ["agree", "send_back"])
def test_blind_double_marking_moderation_and_verification(
    app: Flask,
    site: str,
    browser: Any,
    make: Any,
    scenario: Scenario,
    auditor: Auditor,
    verdict: str,
) -> None:
    s = scenario
    add_people(make, s)
    configure(app, s, **DOUBLE_BLIND_HOLD)
    slug = s.org.slug
    j = Journey(site, auditor, browser)
    outbox = app.extensions.setdefault("portfolio.outbox", [])
    try:
        with step(j, "1. phone worker maps evidence, names a witness and submits"):
            worker = j.sign_in(PHONE, "wren@example.org", "01-worker")
            worker.goto(f"{site}/o/{slug}/catalogue/{s.credential.public_id}")
            press(worker, "Start a submission")
            sub_url = worker.url
            pid = sub_url.rsplit("/", 1)[1].split("#")[0]
            for element, item in zip(s.elements, ITEMS, strict=True):
                section = worker.locator(
                    "section.element", has=worker.get_by_role("heading", name=element.title)
                )
                select_ = section.get_by_label("Add evidence from your portfolio")
                options = select_.locator("option").all_inner_texts()
                select_.select_option(label=next(o for o in options if o.startswith(item)))
                # Attached in place: the element says so and the page keeps its place.
                section.get_by_role("button", name="Attach").click()
                expect(section.get_by_text("Evidence attached and saved.")).to_be_visible()
            first = worker.locator(
                "section.element", has=worker.get_by_role("heading", name=s.elements[0].title)
            )
            first.locator("summary", has_text="Ask a workplace witness").click()
            first.get_by_label("Witness's name").fill("Pat Supervisor")
            first.get_by_label("Their role at work").fill("Site supervisor")
            first.get_by_label("Their email").fill("pat@site.example")
            sent = len(outbox)
            with worker.expect_navigation():
                first.get_by_role("button", name="Send the request").click()
            expect(worker.get_by_text("Waiting for the witness")).to_be_visible()
            j.auditor.check(worker, "01-worker-witness-asked")
            worker.get_by_label("I confirm this is my own work", exact=False).check()
            press(worker, "Submit", exact=True)
            expect(worker.locator("#submission-state")).to_have_text(
                "Submitted, waiting for an assessor"
            )
            j.auditor.check(worker, "01-worker-submitted")
            assert worker.evaluate("document.documentElement.scrollWidth") <= 390

        with step(j, "2. phone witness confirms through the link, without an account"):
            [mail] = [m for m in outbox[sent:] if m["to"] == "pat@site.example"]
            link = LINK_RE.search(mail["body"]).group(0)  # type: ignore[union-attr]
            witness = j.open(PHONE)
            witness.goto(link)
            expect(witness.get_by_text("Joint photo")).to_be_visible()
            expect(witness.get_by_text("Inspection report")).to_have_count(0)
            j.auditor.check(witness, "02-witness-page")
            witness.get_by_label("Yes, I confirm").check()
            witness.get_by_label("Your statement").fill("I watched Wren prepare the joint.")
            press(witness, "Send my answer")
            expect(witness.locator("#witness-message")).to_contain_text("recorded")
            j.auditor.check(witness, "02-witness-done")
            witness.goto(link)
            expect(witness.get_by_role("heading", name="This link no longer works")).to_be_visible()

        with step(j, "3. two desktop assessors mark blind and disagree on one element"):
            sam = j.sign_in(DESKTOP, "sam@example.org", "03-sam")
            sam.goto(f"{site}/o/{slug}/review/{pid}")
            expect(sam.get_by_text("Site supervisor")).to_be_visible()
            j.auditor.check(sam, "03-sam-review")
            decide(
                sam,
                s,
                ["Meets", "Exceeds", "Meets", "Not yet"],
                "Overall feedback to the worker",
                "Solid.",
                "Passed",
            )
            expect(sam.get_by_text("Marking recorded.")).to_be_visible()
            sue = j.sign_in(DESKTOP, "sue@example.org", "03-sue")
            sue.goto(f"{site}/o/{slug}/review/{pid}")
            expect(sue.get_by_text("First marking by")).to_have_count(0)  # blind
            j.auditor.check(sue, "03-sue-review-blind")
            decide(
                sue,
                s,
                ["Meets", "Meets", "Meets", "Not yet"],
                "Overall feedback to the worker",
                "Good.",
                "Passed",
            )
            expect(sue.get_by_text("Marking recorded.")).to_be_visible()

        with step(j, "4. the moderator sees both markings and decides"):
            mo = j.sign_in(DESKTOP, "mo@example.org", "04-moderator")
            mo.goto(f"{site}/o/{slug}/moderation")
            j.auditor.check(mo, "04-moderation-queue")
            with mo.expect_navigation():
                mo.get_by_role("link", name="Open Wren Worker's Fillet Welding").click()
            expect(mo.get_by_text("First marking by Sam Assessor").first).to_be_visible()
            expect(mo.get_by_text("Second marking by Sue Assessor").first).to_be_visible()
            j.auditor.check(mo, "04-moderate")
            decide(
                mo,
                s,
                ["Meets", "Exceeds", "Meets", "Not yet"],
                "Reason for the final levels",
                "The weld photo shows Exceeds.",
                "Passed",
            )
            expect(mo.get_by_text("Moderation recorded.")).to_be_visible()
            db.session.expire_all()
            assert db.session.scalar(select(Award)) is None  # held for the verifier

        with step(j, "5. the internal verifier gives the verdict"):
            vera = j.sign_in(DESKTOP, "vera@example.org", "05-verifier")
            vera.goto(f"{site}/o/{slug}/verification")
            j.auditor.check(vera, "05-verification-queue")
            with vera.expect_navigation():
                vera.get_by_role("link", name="Open Wren Worker's Fillet Welding").click()
            expect(vera.locator("#sample-status")).to_contain_text("held until you agree")
            j.auditor.check(vera, "05-verify")
            if verdict == "agree":
                press(vera, "Agree with the decision")
                expect(vera.get_by_text("You agreed with the decision.")).to_be_visible()
            else:
                vera.get_by_label("Remark").fill("Check the inspection evidence again.")
                press(vera, "Send back to the assessor")
                expect(vera.get_by_text("Sent back to the assessor.")).to_be_visible()

        with step(j, "6. the outcome, as the worker and an employer see it"):
            worker.goto(sub_url)
            db.session.expire_all()
            awards = list(db.session.scalars(select(Award)))
            if verdict == "agree":
                expect(worker.locator("#submission-state")).to_have_text("Passed")
                [award] = awards
                assert verification.verify_award(award).valid
                employer = j.open(PHONE)
                employer.goto(f"{site}/badges/{award.public_id}")
                expect(employer.locator(".verdict-valid")).to_be_visible()
                expect(
                    employer.get_by_text("confirmed by a workplace witness (Site supervisor,")
                ).to_be_visible()
                j.auditor.check(employer, "06-employer-badge")
                document = json.loads(award.ob3_credential)
                genres = [e.get("genre") for e in document["evidence"]]
                assert "Witness testimony" in genres
                assert "pat@site.example" not in award.ob3_credential
            else:
                assert awards == []
                expect(worker.locator("#submission-state")).to_have_text(
                    "Submitted, waiting for an assessor"
                )
                sam.goto(f"{site}/notifications")
                expect(sam.get_by_text("Check the inspection evidence again.")).to_be_visible()
                sam.goto(f"{site}/o/{slug}/queue")
                expect(sam.get_by_role("cell", name="Wren Worker", exact=True)).to_be_visible()
                j.auditor.check(sam, "06-sam-queue-sent-back")
            j.auditor.check(worker, "06-worker-outcome")
    finally:
        for page in j.pages:
            page.context.close()
    assert len(auditor.visited) >= 12, auditor.visited
