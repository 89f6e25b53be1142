"""Helpers for API tests: tokens made through the service, requests with a bearer header."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from portfolio.accounts import tokens
from portfolio.accounts.models import Organization, User
from portfolio.extensions import db
from tests.security.conftest import scenario, world  # noqa: F401 - shared fixtures

ALL_SCOPES = list(tokens.SCOPES)


def make_token(
    user: User, org: Organization | None = None, scopes: list[str] | None = None, days: int = 30
) -> str:
    """A committed token of `user` (an organization token when `org` is given); its secret."""
    _, raw = tokens.create_token(user, "test", scopes or ALL_SCOPES, days, org)
    db.session.commit()
    return raw


def call(client: FlaskClient, method: str, path: str, raw: str | None, **kwargs: Any) -> Any:
    headers = dict(kwargs.pop("headers", {}))
    if raw:
        headers["Authorization"] = f"Bearer {raw}"
    return client.open(path, method=method, headers=headers, **kwargs)
