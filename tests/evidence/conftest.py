"""Helpers for evidence tests."""

from __future__ import annotations

import io
from typing import Any

import pytest

from portfolio.accounts.models import Role, User
from tests.conftest import Client


def upload(client: Client, name: str, data: bytes, **fields: str) -> Any:
    """Send a file through the streaming form upload, like a browser without JavaScript."""
    token = client.csrf_token("/portfolio/upload")
    form: dict[str, Any] = {"csrf_token": token, **fields, "file": (io.BytesIO(data), name)}
    return client.post("/portfolio/upload", data=form, content_type="multipart/form-data")


@pytest.fixture
def worker(make: Any) -> User:
    org = make.org("Acme Welding")
    return make.user((org, Role.LEARNER), email="wren@example.org", name="Wren")  # type: ignore[no-any-return]


@pytest.fixture
def worker_client(client: Client, worker: User) -> Client:
    client.login(worker.email)
    return client
