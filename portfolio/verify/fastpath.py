"""The hottest public answers served before Flask: hosted badge documents and the stored page.

An employer's click, a validator's fetch and a wallet's refresh all read one row that was
written when the badge last changed: the OB 2.0 assertion, the signed OB 3.0 credential, or the
page rendered for anonymous visitors (`portfolio.verify.pages`). Through Flask such a request
costs several times the lookup itself (request context, session, login, limiter, after-request
hooks); this WSGI middleware answers it with one query on a connection of its own (autocommit,
so no BEGIN or ROLLBACK round trips) and the same bytes and headers the views send. The query is
compiled once by SQLAlchemy and run on a plain DB-API cursor of a connection each thread keeps
(the Core execution path, the pool checkout and the result object cost more CPU than the lookup).

It only ever answers the simple, common case, and hands everything else to the app unchanged:
another method or a query string, a host the app does not answer for, an id that is not a
public id, a badge being signed or revoked (the 404 with `Retry-After` and the 410 with the
reason are built by the views), a page that is not stored or is stale (an expiry passed, a
deploy changed the templates), a visitor with a session or remember cookie (they may be the
earner, who sees their own controls), or any database error. `tests/verify/test_fastpath.py`
checks that both paths give the same status, body and headers.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import namedtuple
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, create_engine, select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, parse_etags, quote_etag

from portfolio.awards.models import Award
from portfolio.credentials.models import Credential
from portfolio.storage.s3 import content_disposition

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

_PATH = re.compile(
    r"/badges/(?P<aid>[A-Za-z0-9_-]{22})(?P<doc>/assertion\.json|/credential\.json)?"
)
_JSONLD = "application/ld+json"
_VC = ("application/vc+ld+json", "application/vc")
_ACCEPT_ALL = ["text/html", _JSONLD, "application/json", *_VC]
_ACCEPT_JSON = ["text/html", _JSONLD, "application/json"]

_BY_ID = Award.public_id == bindparam("aid")
#: Each answer's one indexed lookup, reading only the columns that answer needs (a badge page's
#: stored HTML is many times the size of a document: an assertion request does not fetch it).
_LOOKUPS = {
    "page": select(
        Award.revoked_at, Award.expires_at, Award.page_html, Award.page_key, Award.page_etag
    ).where(_BY_ID),
    "/assertion.json": select(Award.revoked_at, Award.ob2_assertion, Award.ob2_sha256).where(
        _BY_ID
    ),
    "vc": select(Award.ob3_credential, Award.ob3_sha256).where(_BY_ID),
    "/credential.json": select(Award.ob3_credential, Award.ob3_sha256, Credential.name)
    .join(Credential, Credential.id == Award.credential_id)
    .where(_BY_ID),
}


class _Statement:
    """A lookup compiled for one dialect: its SQL, how to pass the id, and the column types'
    result conversions (SQLite hands back timestamps as text), giving rows by column name."""

    def __init__(self, query: Select, dialect: Dialect) -> None:  # type: ignore[type-arg]
        compiled = query.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = bool(compiled.positional)
        self.width = len(compiled.positiontup or ())
        columns = list(query.selected_columns)
        self.row = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
        self.convert: list[Callable[[Any], Any] | None] = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        ]

    def params(self, aid: str) -> Any:
        return (aid,) * self.width if self.positional else {"aid": aid}

    def result(self, raw: Any) -> Any:
        return self.row(*(f(v) if f else v for f, v in zip(self.convert, raw, strict=True)))


class HostedDocuments:
    """WSGI middleware in front of the Flask app (see the module docstring)."""

    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.app = app
        #: The app this middleware hands every other request to.
        self.inner = inner
        cfg = app.config["PORTFOLIO"]
        self.trusted = {h.lower() for h in cfg.trusted_hosts}
        self.cookies = (
            app.config.get("SESSION_COOKIE_NAME", "session") + "=",
            app.config.get("REMEMBER_COOKIE_NAME", "remember_token") + "=",
        )
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        # An in-memory SQLite database is private to its connection: nothing to share.
        self.enabled = not (url in ("sqlite://", "sqlite:///:memory:") or ":memory:" in url)
        self._engine: Engine | None = None
        self._statements: dict[str, _Statement] = {}
        self._local = threading.local()
        #: Called with each statement the fast path sends (they bypass the engine's events):
        #: for whoever counts the queries a request costs.
        self.statement_listeners: list[Callable[[str], None]] = []
        #: The driver's base exception (known once the engine is made).
        self._db_error: type[Exception] = Exception
        self._common: list[tuple[str, str]] | None = None
        self._page_key_suffix: str | None = None

    # -- setup, once per process ---------------------------------------------------------------
    def _setup(self) -> Engine:
        from portfolio.core.security import security_headers_of
        from portfolio.verify.pages import MAX_AGE, render_digest

        url = self.app.config["SQLALCHEMY_DATABASE_URI"]
        # Each thread keeps a connection: with more threads than the pool holds, a request
        # waits a second at most for one, then goes to the app.
        options: dict[str, Any] = {
            "isolation_level": "AUTOCOMMIT",
            "pool_reset_on_return": None,
            "pool_timeout": 1,
        }
        if url.startswith("sqlite"):
            options["connect_args"] = {"timeout": 30}
        else:
            # A dead pooled connection makes the query fail: that request goes to the app
            # (whose pool pings first) and the connection is replaced.
            options.update(pool_size=5, max_overflow=5)
        self._common = [
            *security_headers_of(self.app),
            ("Cache-Control", f"public, max-age={MAX_AGE}"),
            # As the app sends them: a signed-in earner gets another page at the same URL.
            ("Vary", "Accept, Cookie"),
        ]
        with self.app.app_context():
            self._page_key_suffix = ":" + render_digest(self.app)
        engine = create_engine(url, **options)
        self._statements = {k: _Statement(q, engine.dialect) for k, q in _LOOKUPS.items()}
        self._db_error = engine.dialect.loaded_dbapi.Error
        self._engine = engine
        return engine

    # -- WSGI ----------------------------------------------------------------------------------
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self._answer(environ) if self.enabled else None
        if answer is None:
            return self.inner(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _answer(self, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes] | None:
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD") or environ.get("QUERY_STRING"):
            return None
        match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return None
        host = environ.get("HTTP_HOST", "").lower()
        if not host or (self.trusted and host not in self.trusted):
            return None  # the app answers 400 for a host it does not serve
        kind = match["doc"]
        if kind is None:
            accept = parse_accept_header(environ.get("HTTP_ACCEPT"), MIMEAccept)
            best = accept.best_match(_ACCEPT_ALL)
            if best in _VC:
                kind = "vc"
            elif accept.best_match(_ACCEPT_JSON) in (_JSONLD, "application/json"):
                kind = "/assertion.json"
            else:
                kind = "page"
        if kind == "page":
            cookie = environ.get("HTTP_COOKIE", "")
            if any(name in cookie for name in self.cookies):
                return None
        row = self._lookup(kind, match["aid"])
        if row is None:
            return None  # the app's 404 page
        if kind == "page":
            return self._page(environ, row)
        if kind == "/assertion.json":
            if row.revoked_at is not None or row.ob2_assertion is None:
                return None
            return self._document(environ, row.ob2_assertion, row.ob2_sha256, _JSONLD)
        if row.ob3_credential is None:
            return None
        if kind == "vc":
            return self._document(environ, row.ob3_credential, row.ob3_sha256, _VC[0])
        attachment = content_disposition(f"{row.name[:60]}-ob3.json", inline=False)
        return self._document(
            environ, row.ob3_credential, row.ob3_sha256, "application/json", attachment
        )

    @property
    def engine(self) -> Engine:
        """The fast path's own engine (made on first use)."""
        return self._engine or self._setup()

    def _lookup(self, kind: str, aid: str) -> Any:
        engine = self.engine
        statement = self._statements[kind]
        conn = getattr(self._local, "conn", None)
        try:
            if conn is None:
                # A pooled DB-API connection this thread keeps (autocommit: set on connect).
                conn = self._local.conn = engine.raw_connection()
            for listener in self.statement_listeners:
                listener(statement.sql)
            cursor = conn.cursor()
            try:
                cursor.execute(statement.sql, statement.params(aid))
                raw = cursor.fetchone()
            finally:
                cursor.close()  # SQLite: ends the read at once
        except (self._db_error, SQLAlchemyError):  # e.g. the pool is exhausted: the app answers
            self._discard()
            return None
        return None if raw is None else statement.result(raw)

    def _discard(self) -> None:
        """Drop this thread's connection (a dead or broken one): the next request opens one."""
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            with contextlib.suppress(self._db_error):  # it is being thrown away
                conn.invalidate()

    def _page(self, environ: WSGIEnvironment, row: Any) -> Any:
        from portfolio.verify.pages import verdict

        key = verdict(row.revoked_at, row.expires_at) + (self._page_key_suffix or "")
        if row.page_html is None or row.page_key != key or not row.page_etag:
            return None  # the app renders it again and stores it
        return self._respond(
            environ, row.page_html, row.page_etag, "text/html; charset=utf-8", cors=False
        )

    def _document(
        self,
        environ: WSGIEnvironment,
        text: str,
        etag: str | None,
        mimetype: str,
        attachment: str | None = None,
    ) -> Any:
        if not etag:
            return None
        extra = [("Content-Disposition", attachment)] if attachment else []
        return self._respond(environ, text, etag, mimetype, cors=True, extra=extra)

    def _respond(
        self,
        environ: WSGIEnvironment,
        text: str,
        etag: str,
        content_type: str,
        *,
        cors: bool,
        extra: list[tuple[str, str]] | None = None,
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        headers = list(self._common or ())
        # Hosted documents are meant to be read by validators and wallets on other sites.
        if cors:
            headers.append(("Access-Control-Allow-Origin", "*"))
        headers.extend(extra or ())
        headers.append(("ETag", quote_etag(etag)))
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains(etag):
            return "304 NOT MODIFIED", headers, b""
        body = text.encode("utf-8")
        headers.append(("Content-Type", content_type))
        headers.append(("Content-Length", str(len(body))))
        return "200 OK", headers, body


def install(app: Flask) -> None:
    """Put the fast path in front of the app (inside any proxy fix-up)."""
    fast = HostedDocuments(app, app.wsgi_app)
    app.extensions["portfolio.hosted_documents"] = fast
    app.wsgi_app = fast  # type: ignore[method-assign]
