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
    from portfolio.core.params import DatabaseIntConverter

    # Every `<int:...>` route refuses ids the database cannot hold (404, not a driver error).
    app.url_map.converters["int"] = DatabaseIntConverter
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

    if cfg.trusted_proxies:
        # Behind N proxies, the client is the Nth address from the right of X-Forwarded-For;
        # anything further left was written by the client and is ignored. With 0 the headers
        # are not read at all, so a direct client cannot claim another address. The Host
        # header is not taken from the proxy (it must pass the original one, see TRUSTED_HOSTS).
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=cfg.trusted_proxies, x_proto=cfg.trusted_proxies
        )

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

    from portfolio.core import mail, transaction

    transaction.init_app(app)
    mail.init_app(app)

    _register_models()
    _register_blueprints(app)
    _connect_receivers(app)

    from portfolio.core.jobs import init_jobs

    _register_jobs()
    init_jobs(app)
    _guard_upload_links(app)

    from portfolio.core.errors import register_error_handlers
    from portfolio.core.security import init_security
    from portfolio.core.templating import init_templating

    register_error_handlers(app)
    init_security(app)
    init_templating(app)

    from portfolio.cli import register_cli
    from portfolio.verify.fastpath import install as install_fast_path

    register_cli(app)
    # Last: it answers the hottest public reads before Flask, with the headers set up above.
    install_fast_path(app)
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


def _guard_upload_links(app: Flask) -> None:
    """The local store asks the evidence rules whether an upload link's bytes are still
    expected (S3 cannot be asked: its late uploads land on staging keys that are never served
    and that `flask evidence cleanup-uploads` removes)."""
    from portfolio.evidence.housekeeping import expects_upload
    from portfolio.storage.local import LocalStorage

    storage = app.extensions["portfolio.storage"]
    if isinstance(storage, LocalStorage):
        storage.upload_guard = expects_upload


def _engine_options(url: str) -> dict[str, object]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}


def _register_models() -> None:
    """Import every model module so metadata (and migrations) see all tables."""
    import portfolio.accounts.models
    import portfolio.accounts.tokens
    import portfolio.api.webhooks
    import portfolio.awards.models
    import portfolio.awards.notices
    import portfolio.awards.status_lists
    import portfolio.awards.versions
    import portfolio.core.audit
    import portfolio.core.jobs
    import portfolio.core.mail
    import portfolio.credentials.models
    import portfolio.evidence.models
    import portfolio.frameworks.models
    import portfolio.pathways.models
    import portfolio.reports.models
    import portfolio.submissions.models  # noqa: F401
    from portfolio.reports import rollups

    rollups.listen()


def _register_jobs() -> None:
    """Import every module that declares background jobs, before the queue is built."""
    import portfolio.api.webhooks
    import portfolio.awards.bulk
    import portfolio.awards.jobs
    import portfolio.core.mail
    import portfolio.evidence.jobs
    import portfolio.pathways.jobs
    import portfolio.reports.jobs  # noqa: F401


def _connect_receivers(app: Flask) -> None:
    """Every signal receiver is connected here, never as a side effect of an import: a pass
    issues its award, an award completes stacks, a deleted account's data goes domain by
    domain (in this order: awards, submissions, evidence; accounts last, in the service), the
    visitor home page asks the site for the issuers on offer."""
    from portfolio import visitors
    from portfolio.awards import receivers as awards
    from portfolio.evidence import receivers as evidence
    from portfolio.pathways import receivers as pathways
    from portfolio.submissions import receivers as submissions

    awards.init_app(app)
    pathways.init_app(app)
    submissions.init_app(app)
    evidence.init_app(app)
    visitors.init_app(app)


def _register_blueprints(app: Flask) -> None:
    import portfolio.accounts.organization_views
    from portfolio.accounts.views import bp as accounts_bp

    app.register_blueprint(accounts_bp)
    from portfolio.credentials.views import bp as credentials_bp
    from portfolio.frameworks.views import bp as frameworks_bp

    app.register_blueprint(frameworks_bp)
    app.register_blueprint(credentials_bp)
    import portfolio.evidence.upload_views  # noqa: F401  (its routes are on the evidence blueprint)
    from portfolio.evidence.views import bp as evidence_bp

    app.register_blueprint(evidence_bp)
    from portfolio.submissions.views import bp as submissions_bp

    app.register_blueprint(submissions_bp)
    from portfolio.awards.views import bp as awards_bp
    from portfolio.verify.views import bp as verify_bp

    app.register_blueprint(awards_bp)
    app.register_blueprint(verify_bp)
    from portfolio.pathways.views import bp as pathways_bp

    app.register_blueprint(pathways_bp)
    from portfolio.awards.portability_views import bp as portability_bp

    app.register_blueprint(portability_bp)
    from portfolio.awards.bulk_views import bp as bulk_bp

    app.register_blueprint(bulk_bp)
    from portfolio.accounts.jobs_views import bp as jobs_bp

    app.register_blueprint(jobs_bp)
    from portfolio.reports.views import bp as reports_bp

    app.register_blueprint(reports_bp)
    from portfolio.confirmations import bp as confirm_bp

    app.register_blueprint(confirm_bp)
    from portfolio.visitors import bp as site_bp

    app.register_blueprint(site_bp)
    from portfolio.accounts.token_views import bp as tokens_bp

    app.register_blueprint(tokens_bp)
    from portfolio.accounts.sso_views import bp as sso_bp

    app.register_blueprint(sso_bp)
    from portfolio.api import init_api
    from portfolio.api.webhook_views import bp as webhooks_bp

    app.register_blueprint(webhooks_bp)
    init_api(app)
    if app.config["PORTFOLIO"].storage_backend == "local":
        from portfolio.storage.views import bp as storage_bp

        app.register_blueprint(storage_bp)
