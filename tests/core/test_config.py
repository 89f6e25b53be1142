"""Settings come from the environment, and production refuses unsafe ones."""

from __future__ import annotations

import pytest

from portfolio import create_app
from portfolio.config import Config, ConfigError


def test_production_refuses_to_start_without_a_real_secret_key(tmp_path) -> None:
    for env in ({}, {"SECRET_KEY": "dev-only-insecure-secret-key"}, {"SECRET_KEY": "short"}):
        cfg = Config.from_env({"APP_ENV": "production", "INSTANCE_PATH": str(tmp_path), **env})
        with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
            create_app(cfg)


def test_production_refuses_to_start_without_a_signing_key_secret(tmp_path) -> None:
    cfg = Config.from_env(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "Kq7-vN2xR9pL4tW8mB3cZ6fH1jD5sG0yAe",
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    with pytest.raises(ConfigError, match="SIGNING_KEY_SECRET"):
        create_app(cfg)


def test_environment_without_app_env_is_treated_as_production(tmp_path) -> None:
    cfg = Config.from_env({"INSTANCE_PATH": str(tmp_path)})
    assert cfg.is_production
    with pytest.raises(ConfigError):
        cfg.resolved()


def test_production_settings_force_secure_cookies(tmp_path) -> None:
    cfg = Config.from_env(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "Kq7-vN2xR9pL4tW8mB3cZ6fH1jD5sG0yAe",
            "SIGNING_KEY_SECRET": "Tg5-hU8kE2wQ6rY1oI4pS9aF3dJ7lM0nCx",
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "postgres://u:p@db.internal/portfolio",
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT_URL": "http://127.0.0.1:9",
            "S3_BUCKET": "evidence",
            "SESSION_COOKIE_SECURE": "false",
        }
    )
    app = create_app(cfg)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.internal/portfolio"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_development_defaults_are_embedded(tmp_path) -> None:
    cfg = Config.from_env({"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path)}).resolved()
    assert cfg.database_url == f"sqlite:///{tmp_path / 'portfolio.db'}"
    assert cfg.storage_backend == "local"
    assert cfg.local_storage_path == str(tmp_path / "storage")


def test_bad_values_are_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match="MAX_UPLOAD_BYTES"):
        Config.from_env({"MAX_UPLOAD_BYTES": "lots"})
    with pytest.raises(ConfigError, match="STORAGE_BACKEND"):
        Config.from_env(
            {"APP_ENV": "development", "STORAGE_BACKEND": "ftp", "INSTANCE_PATH": str(tmp_path)}
        ).resolved()
