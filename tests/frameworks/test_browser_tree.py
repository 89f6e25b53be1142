"""A visitor opens branches of a framework's tree in the browser: fetched in place, nested,
with "Show more" appending the next page; the same links work without the script."""

from __future__ import annotations

import json

import pytest

from portfolio.accounts.models import Role
from portfolio.extensions import db
from portfolio.frameworks.case import importer as case_importer
from tests.frameworks.test_browser_editor import watch
from tests.frameworks.test_tree import SHARED, package

pytestmark = pytest.mark.browser


def item(page, code: str):  # type: ignore[no-untyped-def]
    """A competency's link in the public tree."""
    return page.get_by_role("link", name=f"{code} Statement of {code}", exact=True)


def test_branches_open_in_place_and_more_is_appended(app, make, live_server, browser) -> None:  # type: ignore[no-untyped-def]
    org = make.org("Northwind", slug="northwind")
    admin = make.user((org, Role.ADMIN), email="ada@example.org")
    spec = [*SHARED, *[(f"W{n:03d}", ["D"]) for n in range(130)]]
    fw = case_importer.import_case_package(
        admin, org, json.dumps(package("Shared", spec)).encode(), "p.json"
    ).framework
    db.session.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    watch(page, errors)
    page.goto(f"{live_server.url}/frameworks/{fw.public_id}")
    assert item(page, "S").count() == 0
    page.get_by_text("2 below").first.click()  # under B: S and D
    item(page, "S").wait_for()
    # S's own branch, nested inside B's.
    page.locator("details.branch[open] li details.branch summary").first.click()
    item(page, "S.1").wait_for()
    # D has 130 below it: the first 100, then the rest appended in place.
    page.locator("summary", has_text="130 below").last.click()
    item(page, "W099").wait_for()
    assert item(page, "W100").count() == 0
    url = page.url
    page.get_by_role("link", name="Show more (100 of 130 shown)").click()
    item(page, "W129").wait_for()
    assert page.url == url  # in place, not a new page
    context.close()

    # Without the script the same controls lead to the branch's own page.
    plain = browser.new_context(java_script_enabled=False)
    page = plain.new_page()
    page.goto(f"{live_server.url}/frameworks/{fw.public_id}")
    page.locator("summary", has_text="130 below").first.click()
    page.get_by_role("link", name="Show the 130 below D").click()
    page.wait_for_url("**?at=*")
    assert item(page, "W000").is_visible()
    page.get_by_role("link", name="Show more (100 of 130 shown)").click()
    assert item(page, "W129").is_visible()
    plain.close()
    assert errors == []
