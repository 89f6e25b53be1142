"""Reuse the earned-badge fixtures of tests/awards."""

from tests.awards.conftest import earned, scenario  # noqa: F401
