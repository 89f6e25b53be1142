"""Test fixtures: a fresh database per test (on SQLite a copy of a schema template built once per
session; on the real PostgreSQL server started by `make test` the schema is created once per
session and truncated per test), the moto S3 server over HTTP, factories, a query counter and a
client that handles CSRF tokens."""

from __future__ import annotations

import contextvars
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, event, text
from werkzeug.serving import make_server

from portfolio import create_app
from portfolio.accounts import organizations, registration
from portfolio.accounts.models import Organization, Role, User
from portfolio.config import Config
from portfolio.extensions import db

#: Property tests are judged on what they find, never on how fast the machine generates inputs:
#: a loaded 2-core CI machine must not fail them for speed.
hypothesis_settings.register_profile(
    "portfolio", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("portfolio")

PASSWORD = "correct horse battery"
DB_KIND = os.environ.get("TEST_DATABASE", "sqlite")
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# -- services ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class MotoServer:
    """A `moto_server` process of our own, for tests that stop and start the S3 endpoint."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = str(Path(sys.executable).with_name("moto_server"))
        self.proc = subprocess.Popen(
            [exe, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_http(self.url + "/moto-api/")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The S3 endpoint `make test` started, or one started here when pytest runs alone."""
    url = os.environ.get("TEST_S3_ENDPOINT")
    if url:
        yield url
        return
    server = MotoServer()
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def pg_database(worker_id: str) -> Iterator[str]:
    """A PostgreSQL database of this test worker, schema created once per session."""
    base = os.environ.get("TEST_PG_URL")
    if not base:
        pytest.skip("TEST_PG_URL is not set: run the suite through `make test`")
    name = f"portfolio_test_{worker_id}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield base.rsplit("/", 1)[0] + "/" + name


def make_config(tmp_path: Path, database_url: str, **overrides: Any) -> Config:
    values: dict[str, Any] = {
        "env": "testing",
        "secret_key": "test-secret-key-that-is-long-enough-1234567890",
        "database_url": database_url,
        "instance_path": str(tmp_path / "instance"),
        "public_base_url": "http://localhost",
        "login_rate_limit": "1000 per minute",
        "jobs_backend": "immediate",
        # Preview images are made by tests/evidence/test_previews.py, which turns them on.
        "preview_mode": "off",
    }
    values.update(overrides)
    return Config(**values)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file holding the empty schema, built once per test session (and worker); each
    test gets its own copy of it, a real database file that live servers and other sessions
    commit to like any other."""
    folder = tmp_path_factory.mktemp("schema")
    path = folder / "template.db"
    application = create_app(make_config(folder, f"sqlite:///{path}"))
    with application.app_context():
        db.create_all()
        db.engine.dispose()
    return path


#: Database URLs that are fresh copies of the schema template, not used by any app yet.
_fresh_copies: set[str] = set()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if DB_KIND == "postgresql":
        return str(request.getfixturevalue("pg_database"))
    path = tmp_path / "test.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    url = f"sqlite:///{path}"
    _fresh_copies.add(url)
    return url


_schema_ready: set[str] = set()


def reset_database(app: Flask) -> None:
    """Empty schema for each test: a fresh copy of the schema template needs nothing; other
    SQLite files are dropped and created, PostgreSQL (schema created once per session) is
    truncated."""
    with app.app_context():
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        if url in _fresh_copies:
            _fresh_copies.discard(url)
        elif url.startswith("sqlite") or url not in _schema_ready:
            db.drop_all()
            db.create_all()
            _schema_ready.add(url)
        else:
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            db.session.commit()


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """Override in a test module to change settings."""
    return {}


@pytest.fixture
def app(tmp_path: Path, database_url: str, config_overrides: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(make_config(tmp_path, database_url, **config_overrides))
    reset_database(application)
    ctx = application.app_context()
    ctx.push()
    yield application
    db.session.remove()
    ctx.pop()
    with application.app_context():
        db.engine.dispose()


# -- counting SQL statements -----------------------------------------------------------------
class QueryCounter:
    """The SQL statements the application's engine sends while a `with` block runs:

    with query_counter as statements:
        client.get(page)
    assert len(statements) == ...
    """

    def __init__(self) -> None:
        self.statements: list[str] = []

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def _fast_path(self) -> Any:
        # The hosted-documents fast path answers on a DB-API connection of its own, past the
        # engine's events: it tells its listeners each statement it sends.
        fast = current_app.extensions.get("portfolio.hosted_documents")
        return fast if fast is not None and fast.enabled else None

    def __enter__(self) -> list[str]:
        self.statements = []
        event.listen(db.engine, "before_cursor_execute", self._record)
        if (fast := self._fast_path()) is not None:
            fast.statement_listeners.append(self.statements.append)
        return self.statements

    def __exit__(self, *exc: object) -> None:
        event.remove(db.engine, "before_cursor_execute", self._record)
        if (fast := self._fast_path()) is not None:
            fast.statement_listeners.remove(self.statements.append)

    def get(self, client: FlaskClient, path: str) -> tuple[int, str]:
        """GET `path` (expecting 200): the number of statements it took and the page."""
        with self as statements:
            resp = client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        return len(statements), resp.get_data(as_text=True)


@pytest.fixture
def query_counter(app: Flask) -> QueryCounter:
    return QueryCounter()


@pytest.fixture(autouse=True)
def case_exports_are_valid(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Every CASE package and CFItem the suite exports (through views, CSV export or directly)
    is checked against the CASE 1.0 schema as it is made."""
    from portfolio.frameworks.case import export as case_export
    from tests.case_schema import assert_valid

    made: list[dict[str, Any]] = []
    package, item = case_export.export_case_package, case_export.export_item

    def checked_package(*args: Any, **kwargs: Any) -> dict[str, Any]:
        result = package(*args, **kwargs)
        assert_valid(result)
        made.append(result)
        return result

    def checked_item(*args: Any, **kwargs: Any) -> dict[str, Any]:
        result = item(*args, **kwargs)
        assert_valid(result, kind="item")
        made.append(result)
        return result

    monkeypatch.setattr(case_export, "export_case_package", checked_package)
    monkeypatch.setattr(case_export, "export_item", checked_item)
    yield made


# -- a client that fills in CSRF tokens like a browser does ------------------------------------
class Client(FlaskClient):
    """Runs every request in a fresh context, like a separate browser talking to a server: the
    test's own application context (and its `g` and database session) is not shared."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)

    def csrf_token(self, page: str = "/login") -> str:
        html = self.get(page).get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def submit(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        page: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """POST a form with the CSRF token of `page` (defaults to the form's own URL)."""
        payload = dict(data or {})
        payload["csrf_token"] = self.csrf_token(page or url)
        return self.post(url, data=payload, **kwargs)

    def login(self, email: str, password: str = PASSWORD) -> Any:
        resp = self.submit("/login", {"email": email, "password": password}, page="/login")
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return resp


@pytest.fixture
def client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def other_client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


# -- factories -------------------------------------------------------------------------------
class Factory:
    def __init__(self) -> None:
        self.n = 0

    def _next(self) -> int:
        self.n += 1
        return self.n

    def org(self, name: str | None = None, **kwargs: Any) -> Organization:
        n = self._next()
        org = organizations.create_organization(
            name or f"Org {n}",
            kwargs.pop("slug", f"org-{n}"),
            email=kwargs.pop("email", f"org{n}@example.org"),
            url=kwargs.pop("url", f"https://org{n}.example.org"),
            **kwargs,
        )
        db.session.commit()
        return org

    def user(
        self,
        *roles: tuple[Organization, Role],
        email: str | None = None,
        name: str | None = None,
        password: str = PASSWORD,
    ) -> User:
        n = self._next()
        user = registration.create_user(
            email or f"user{n}@example.org", name or f"User {n}", password
        )
        for org, role in roles:
            organizations.add_membership(user, org, role)
        db.session.commit()
        return user


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory()


# -- a live server for browser tests -----------------------------------------------------------
class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        wait_for_http(self.url + "/healthz")

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(10)


#: Browser journeys run on both configurations the product ships: the embedded default that
#: `make run` serves (local storage) in the SQLite pass, S3 on the moto server in the PostgreSQL
#: pass.
BROWSER_STORAGE = "s3" if DB_KIND == "postgresql" else "local"


def browser_storage_overrides(request: pytest.FixtureRequest, prefix: str) -> dict[str, Any]:
    """Settings for a browser test: the storage backend of this run (see BROWSER_STORAGE)."""
    if BROWSER_STORAGE == "local":
        return {"storage_backend": "local"}
    import uuid

    return {
        "storage_backend": "s3",
        "s3_endpoint_url": request.getfixturevalue("s3_endpoint"),
        "s3_bucket": f"{prefix}-{uuid.uuid4().hex[:16]}",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
    }


def prepare_browser_storage(origin: str) -> None:
    """Create the bucket and allow the live server's origin to upload (S3 runs only)."""
    from portfolio.storage import get_storage
    from portfolio.storage.s3 import S3Storage

    storage = get_storage()
    if isinstance(storage, S3Storage):
        storage.ensure_bucket()
        storage.apply_cors([origin])


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = Path(os.environ.get("PORTFOLIO_SCREENSHOTS", "test-artifacts/screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- frameworks, rubrics and credentials -------------------------------------------------------
def make_published_rubric(admin: User, org: Organization, title: str = "Weld rubric") -> Any:
    """A rubric with two elements on the default four levels, version 1 published."""
    from portfolio.frameworks.services import rubrics as rubric_services

    rubric = rubric_services.create_rubric(admin, org, title=title)
    version = rubric.latest
    data = rubric_services.version_as_input(version)
    data.elements = [
        rubric_services.ElementInput(
            public_id=None,
            title=name,
            evidence_guidance=f"Show {name.lower()}",
            descriptors={i: f"{name} at level {i}" for i in range(4)},
        )
        for name in ("Joint preparation", "Weld quality")
    ]
    rubric_services.save_version(admin, version, data)
    rubric_services.publish_version(admin, version)
    db.session.commit()
    return rubric
