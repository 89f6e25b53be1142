"""Renderers and parsers whose cost could explode finish (issue 14, class 3).

Each pathological input runs at the largest size its field accepts, under a watchdog that only
catches hangs (10 s, far above the fractions of a second the benchmark records); speed itself is
measured in `bench/render_worst_case.py`.
"""

from __future__ import annotations

import contextvars
import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask import Flask

from portfolio.core.sanitize import MAX_MARKDOWN_CHARS, render_markdown
from portfolio.frameworks.case import importer as case_importer
from portfolio.frameworks.case import package as case_package
from portfolio.frameworks.case import parse as case_parse
from tests.conftest import Client

T = TypeVar("T")
WATCHDOG_SECONDS = 10

_spec = importlib.util.spec_from_file_location(
    "render_worst_case", Path(__file__).resolve().parents[2] / "bench" / "render_worst_case.py"
)
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def within_watchdog(work: Callable[[], T]) -> T:
    """Run `work` in a thread; fail the test if it has not finished after the watchdog."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = work()
        except BaseException as exc:  # handed to the test below
            result["error"] = exc

    # The thread sees the test's application context, as the code under test expects.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(run,), daemon=True)
    thread.start()
    thread.join(WATCHDOG_SECONDS)
    assert not thread.is_alive(), f"still running after {WATCHDOG_SECONDS} s: a hang"
    if "error" in result:
        raise result["error"]
    return result["value"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", list(bench.PATHOLOGICAL))
def test_pathological_markdown_at_the_largest_field_renders(name: str) -> None:
    text = bench.PATHOLOGICAL[name](MAX_MARKDOWN_CHARS)
    html = within_watchdog(lambda: render_markdown(text))
    # Something came out, and the allowlist still holds on what did.
    assert html.strip() or name == "nested lists"
    assert "<script" not in html and "<img" not in html


def test_text_beyond_the_largest_field_is_cut_not_rendered_whole() -> None:
    html = within_watchdog(lambda: render_markdown("a" * MAX_MARKDOWN_CHARS + "TAIL"))
    assert "TAIL" not in html


def test_nesting_beyond_the_cap_keeps_the_text() -> None:
    html = render_markdown(">" * 200 + " deep words")
    assert "deep words" in html
    assert html.count("<blockquote>") == html.count("</blockquote>") <= 24


def test_a_long_reflection_of_brackets_saves_through_the_page(app: Flask, make: Any) -> None:
    from portfolio.accounts.models import Role

    org = make.org("Acme")
    user = make.user((org, Role.LEARNER), email="wren@example.org")
    client = app.test_client()
    client.__class__ = Client
    client.login(user.email)  # type: ignore[attr-defined]
    body = "[" * 100_000
    resp = within_watchdog(
        lambda: client.submit(  # type: ignore[attr-defined]
            "/portfolio/reflections/new", {"title": "Brackets", "body": body}
        )
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


# -- CASE: a chain of competencies 1,200 deep ---------------------------------------------------
DEPTH = 1_200


def test_a_deep_chain_parses_and_a_long_cycle_is_found() -> None:
    pkg = within_watchdog(
        lambda: case_parse.parse_case_package(bench.case_chain(DEPTH), "deep.json")
    )
    assert len(pkg.items) == DEPTH
    # Close the chain into one loop of 5,000 items: found once, in linear time.
    import json

    raw = json.loads(bench.case_chain(5_000))
    first, last = raw["CFItems"][0]["identifier"], raw["CFItems"][-1]["identifier"]
    raw["CFAssociations"][0]["destinationNodeURI"]["identifier"] = last
    with pytest.raises(case_package.ImportFailed) as info:
        within_watchdog(
            lambda: case_parse.parse_case_package(json.dumps(raw).encode(), "loop.json")
        )
    cycles = [p for p in info.value.problems if "cycle" in str(p)]
    assert len(cycles) == 1 and first in str(cycles[0])


def test_a_deep_chain_imports_and_its_pages_answer(app: Flask, make: Any) -> None:
    from portfolio.accounts.models import Role

    org = make.org("Acme")
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    result = within_watchdog(
        lambda: case_importer.import_case_package(admin, org, bench.case_chain(DEPTH), "deep.json")
    )
    from portfolio.extensions import db

    db.session.commit()
    fid = result.framework.public_id
    client = app.test_client()
    client.__class__ = Client
    client.login(admin.email)  # type: ignore[attr-defined]
    for path in (
        f"/o/{org.slug}/frameworks/{fid}",
        f"/o/{org.slug}/credentials/new",
        f"/o/{org.slug}/frameworks/{fid}/case.json",
    ):
        resp = within_watchdog(lambda path=path: client.get(path))  # type: ignore[misc]
        assert resp.status_code == 200, (path, resp.status_code)
    page = client.get(f"/o/{org.slug}/frameworks/{fid}").get_data(as_text=True)
    assert "Step 0" in page and "Step 1199" not in page  # a branch at a time
    # The deepest branch opens on its own page, its path shortened, within the watchdog too.
    from sqlalchemy import select

    from portfolio.frameworks.models import Competency

    above = db.session.scalar(select(Competency).where(Competency.statement == "Step 1198"))
    assert above is not None
    branch = f"/o/{org.slug}/frameworks/{fid}?at={above.public_id}"
    resp = within_watchdog(lambda: client.get(branch))
    assert resp.status_code == 200
    assert "Step 1199" in resp.get_data(as_text=True)
