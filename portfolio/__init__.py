"""Portfolio: competency-based assessment and evidence portfolios issuing verifiable badges."""

from __future__ import annotations

import logging

from flask import Flask

from portfolio.config import RESOURCE_ROOT, Config
from portfolio.extensions import csrf, db, limiter, login_manager, migrate


def create_app(config: Config | None = None) -> Flask:
    """Build the application from a settings object (read from the environment if omitted)."""
    cfg = (config or Config.from_env()).resolved()
    app = Flask(
        __name__,
        instance_path=cfg.instance_path,
        template_folder=str(RESOURCE_ROOT / "templates"),
        static_folder=str(RESOURCE_ROOT / "static"),
    )
    app.config.update(
        PORTFOLIO=cfg,
        SECRET_KEY=cfg.secret_key,
        TESTING=cfg.env == "testing",
        SQLALCHEMY_DATABASE_URI=cfg.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(cfg.database_url),
        MAX_CONTENT_LENGTH=cfg.max_upload_bytes + 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=cfg.max_form_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=cfg.session_cookie_secure,
        WTF_CSRF_TIME_LIMIT=None if cfg.env == "testing" else 8 * 3600,
        RATELIMIT_STORAGE_URI=cfg.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=True,
        PREFERRED_URL_SCHEME=cfg.public_base_url.split("://", 1)[0],
    )
    logging.basicConfig(level=cfg.log_level)
    app.logger.setLevel(cfg.log_level)
    if cfg.database_url.startswith("sqlite:///"):
        from pathlib import Path

        Path(cfg.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    if cfg.database_url.startswith("sqlite"):
        _enforce_sqlite_foreign_keys(app)
    migrate.init_app(app, db, directory=str(RESOURCE_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to open that page."
    login_manager.login_message_category = "info"
    # Basic protection marks a session non-fresh when its browser fingerprint changes; "strong"
    # would sign phone users out whenever they switch networks.
    login_manager.session_protection = "basic"

    from portfolio.storage import create_storage

    app.extensions["portfolio.storage"] = create_storage(app)

    _register_models()
    _register_blueprints(app)

    from portfolio.core.jobs import init_jobs

    _register_jobs()
    init_jobs(app)

    from portfolio.core.errors import register_error_handlers
    from portfolio.core.security import init_security
    from portfolio.core.templating import init_templating

    register_error_handlers(app)
    init_security(app)
    init_templating(app)

    from portfolio.cli import register_cli

    register_cli(app)
    return app


def _enforce_sqlite_foreign_keys(app: Flask) -> None:
    """SQLite ignores foreign keys unless asked on each connection: without this, ON DELETE
    rules never fire and a deleted row's id can be reused by a row that old references then
    point at."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _engine_options(url: str) -> dict[str, object]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}


def _register_models() -> None:
    """Import every model module so metadata (and migrations) see all tables."""
    import portfolio.accounts.models
    import portfolio.accounts.tokens
    import portfolio.api.webhooks
    import portfolio.badges.awards
    import portfolio.badges.models
    import portfolio.badges.pathways
    import portfolio.core.audit
    import portfolio.core.jobs
    import portfolio.evidence.models
    import portfolio.frameworks.models
    import portfolio.submissions.models  # noqa: F401


def _register_jobs() -> None:
    """Import every module that declares background jobs, before the queue is built."""
    import portfolio.api.webhooks
    import portfolio.evidence.jobs  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from portfolio.accounts.views import bp as accounts_bp

    app.register_blueprint(accounts_bp)
    from portfolio.badges.views import bp as badges_bp
    from portfolio.frameworks.views import bp as frameworks_bp

    app.register_blueprint(frameworks_bp)
    app.register_blueprint(badges_bp)
    from portfolio.evidence.views import bp as evidence_bp

    app.register_blueprint(evidence_bp)
    from portfolio.submissions.views import bp as submissions_bp

    app.register_blueprint(submissions_bp)
    # Importing the blueprints also connects badge issuance to `submission_passed`.
    from portfolio.badges.award_views import bp as awards_bp
    from portfolio.verify.views import bp as verify_bp

    app.register_blueprint(awards_bp)
    app.register_blueprint(verify_bp)
    from portfolio.badges.pathway_views import bp as pathways_bp

    app.register_blueprint(pathways_bp)
    from portfolio.badges.portability_views import bp as portability_bp

    app.register_blueprint(portability_bp)
    from portfolio.accounts.jobs_views import bp as jobs_bp

    app.register_blueprint(jobs_bp)
    from portfolio.reports.views import bp as reports_bp

    app.register_blueprint(reports_bp)
    from portfolio.accounts.token_views import bp as tokens_bp

    app.register_blueprint(tokens_bp)
    from portfolio.api import init_api
    from portfolio.api.webhook_views import bp as webhooks_bp

    app.register_blueprint(webhooks_bp)
    init_api(app)
    if app.config["PORTFOLIO"].storage_backend == "local":
        from portfolio.storage.views import bp as storage_bp

        app.register_blueprint(storage_bp)
