"""Reuse the earned-badge fixtures of tests/awards; the live issuer the real verifiers fetch
from (over http, and over https with did:web)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.awards.conftest import earned, scenario  # noqa: F401
from tests.verify.live_issuer import LiveIssuer


@pytest.fixture(params=["http", "https"])
def live_issuer(request: pytest.FixtureRequest, app: Flask, tmp_path: Path) -> Iterator[LiveIssuer]:
    """The app served on loopback as the verifiers see it (see `LiveIssuer`)."""
    issuer = LiveIssuer(app, request.param, tmp_path)
    issuer.start()
    yield issuer
    issuer.stop()
