"""A phone worker asks a workplace witness to confirm one evidence item from the item page, before
any submission; the witness confirms on a phone without an account, seeing that item alone.
axe-core checks every page visited."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from playwright.sync_api import expect

from tests.e2e.axe import Auditor
from tests.e2e.conftest import PHONE
from tests.e2e.test_marking_journey import Journey, press, step
from tests.submissions.conftest import (  # noqa: F401 - the scenario fixture is reused here
    Scenario,
    scenario,
)

LINK_RE = re.compile(r"https?://\S+/witness/\S+")


def test_phone_worker_asks_a_witness_for_one_item(
    app: Flask, site: str, browser: Any, scenario: Scenario, auditor: Auditor
) -> None:
    s = scenario
    j = Journey(site, auditor, browser)
    outbox = app.extensions.setdefault("portfolio.outbox", [])
    try:
        with step(j, "1. phone worker names a witness on the item page"):
            worker = j.sign_in(PHONE, "wren@example.org", "01-worker")
            worker.goto(f"{site}/portfolio/items/{s.items['photo'].public_id}")
            section = worker.locator("#witnesses")
            expect(section.get_by_role("heading", name="Workplace witness")).to_be_visible()
            section.get_by_label("Witness's name").fill("Pat Supervisor")
            section.get_by_label("Their role at work").fill("Site supervisor")
            section.get_by_label("Their email").fill("pat@site.example")
            sent = len(outbox)
            press(worker, "Send the request")
            expect(
                worker.get_by_text("The witness has been sent a link to confirm.")
            ).to_be_visible()
            expect(section.get_by_text("Waiting for the witness")).to_be_visible()
            j.auditor.check(worker, "01-item-witness-asked")
            assert worker.evaluate("document.documentElement.scrollWidth") <= 390

        with step(j, "2. phone witness sees that item alone and confirms"):
            [mail] = [m for m in outbox[sent:] if m["to"] == "pat@site.example"]
            link = LINK_RE.search(mail["body"]).group(0)  # type: ignore[union-attr]
            witness = j.open(PHONE)
            witness.goto(link)
            expect(
                witness.get_by_role("heading", name="Confirm Wren Worker's work")
            ).to_be_visible()
            expect(witness.get_by_text("Joint photo").first).to_be_visible()
            expect(witness.get_by_text("Inspection report")).to_have_count(0)
            j.auditor.check(witness, "02-item-witness-page")
            assert witness.evaluate("document.documentElement.scrollWidth") <= 390
            witness.get_by_label("Yes, I confirm").check()
            witness.get_by_label("Your statement").fill("I saw Wren prepare this joint.")
            press(witness, "Send my answer")
            expect(witness.locator("#witness-message")).to_contain_text("recorded")

        with step(j, "3. the worker's item page shows the answer"):
            worker.reload()
            expect(worker.locator("#witnesses")).to_contain_text("Confirmed by the witness")
            expect(worker.locator("#witnesses")).to_contain_text("I saw Wren prepare this joint.")
            j.auditor.check(worker, "03-item-witness-confirmed")
    finally:
        for page in j.pages:
            page.context.close()
