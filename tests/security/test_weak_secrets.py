"""Production refuses to start with guessable or shared secrets (issue 14, class 10)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from portfolio import create_app
from portfolio.config import Config, ConfigError

WEAK = {
    "one letter repeated": "a" * 32,
    "a short phrase repeated": "password" * 5,
    "a run of characters": "abcdefghijklmnopqrstuvwxyz0123456789",
    "a word and padding": "bench-secret-key-" + "x" * 40,
    "two characters": "ab" * 24,
    "too short": "Zx8-k2Lq9vR4tYpW",
}


def _production(tmp_path: Path, **env: str) -> Config:
    return Config.from_env(
        {
            "APP_ENV": "production",
            "INSTANCE_PATH": str(tmp_path),
            "PUBLIC_BASE_URL": "https://badges.example.org",
            **env,
        }
    )


@pytest.mark.parametrize("value", WEAK.values(), ids=WEAK.keys())
def test_production_refuses_a_weak_secret_key(tmp_path: Path, value: str) -> None:
    cfg = _production(tmp_path, SECRET_KEY=value, SIGNING_KEY_SECRET=secrets.token_urlsafe(48))
    with pytest.raises(ConfigError, match="SECRET_KEY must be set") as info:
        create_app(cfg)
    # The message says why and how to make a good one.
    assert "token_urlsafe" in str(info.value)


@pytest.mark.parametrize("value", WEAK.values(), ids=WEAK.keys())
def test_production_refuses_a_weak_signing_key_secret(tmp_path: Path, value: str) -> None:
    cfg = _production(tmp_path, SECRET_KEY=secrets.token_urlsafe(48), SIGNING_KEY_SECRET=value)
    with pytest.raises(ConfigError, match="SIGNING_KEY_SECRET must be set"):
        create_app(cfg)


def test_production_refuses_the_same_value_for_both_secrets(tmp_path: Path) -> None:
    shared = secrets.token_urlsafe(48)
    cfg = _production(tmp_path, SECRET_KEY=shared, SIGNING_KEY_SECRET=shared)
    with pytest.raises(ConfigError, match="SIGNING_KEY_SECRET must differ from SECRET_KEY"):
        create_app(cfg)
    cfg = _production(tmp_path, SECRET_KEY=shared, SIGNING_KEY_SECRET=f" {shared} ")
    with pytest.raises(ConfigError, match="must differ"):
        create_app(cfg)


@pytest.mark.parametrize(
    "make", [lambda: secrets.token_urlsafe(48), lambda: secrets.token_hex(16)], ids=["url", "hex"]
)
def test_production_starts_with_generated_secrets(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    for _ in range(20):
        cfg = _production(tmp_path, SECRET_KEY=make(), SIGNING_KEY_SECRET=make())
        assert cfg.resolved().is_production


def test_development_keeps_its_placeholder(tmp_path: Path) -> None:
    cfg = Config.from_env({"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path)}).resolved()
    assert cfg.secret_key and cfg.signing_key_secret != cfg.secret_key
