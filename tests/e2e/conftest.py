"""Whole journeys in Chromium against the live app, on both shipped configurations: the embedded
default (local storage) in the SQLite run and S3 on the moto server in the PostgreSQL run;
screenshots under PORTFOLIO_SCREENSHOTS/e2e."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import browser_storage_overrides, prepare_browser_storage
from tests.e2e.axe import Auditor

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def config_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return browser_storage_overrides(request, "e2e")


@pytest.fixture
def site(app: Flask, live_server: Any) -> str:
    """The live app's address, also used as its public base URL (badge links, documents)."""
    app.config["PORTFOLIO"] = dataclasses.replace(
        app.config["PORTFOLIO"], public_base_url=live_server.url
    )
    prepare_browser_storage(live_server.url)
    return str(live_server.url)


@pytest.fixture
def auditor(request: pytest.FixtureRequest, screenshot_dir: Path) -> Iterator[Auditor]:
    folder = screenshot_dir / "e2e" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nScreenshots of {request.node.name}: {folder.resolve()}")
    yield Auditor(folder)


def watch(page: Any, errors: list[str]) -> None:
    """Collect script errors and CSP violations reported in the console."""
    page.on(
        "console",
        lambda m: (
            errors.append(f"{page.url}: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
