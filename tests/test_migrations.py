"""The migration history builds the same schema as the models, on an empty database."""

from __future__ import annotations

import os
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from portfolio import create_app
from portfolio.extensions import db
from tests.conftest import DB_KIND, make_config


def _empty_database_url(tmp_path: Path) -> str:
    if DB_KIND != "postgresql":
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    base = os.environ["TEST_PG_URL"]
    name = f"portfolio_migrations_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def test_upgrade_from_empty_matches_models_and_downgrades(tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path, _empty_database_url(tmp_path)))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
        db.engine.dispose()


def test_history_is_linear() -> None:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    migrations = Path(__file__).resolve().parent.parent / "migrations"
    cfg = AlembicConfig(str(migrations / "alembic.ini"))
    cfg.set_main_option("script_location", str(migrations))
    script = ScriptDirectory.from_config(cfg)
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1
