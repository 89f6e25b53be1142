"""The public badge page served as stored bytes: rendered once per change, one query per view.

An employer's click on a shared badge link is the app's hottest page. For a visitor who is not
signed in the page is the same for everyone, so it is rendered once and kept on the award
(`portfolio.awards.page_store`, which also clears it on every change). A view then reads one
row: the verdict's inputs (revocation and expiry times) and the stored page with the key it was
rendered for. The verdict is computed from those times on every request; when it no longer
matches the key (an expiry has passed), or the templates changed in a deploy, the page is
rendered again once and stored. No session is opened and no user is loaded on this path.

Anonymous pages carry `Cache-Control: public, max-age=MAX_AGE`, an ETag and answer 304 to
`If-None-Match`, so a cache in front (nginx, a CDN; see the README) absorbs repeat views; a
revocation reaches every such cache within `MAX_AGE` seconds. A signed-in visitor (the earner
sees controls of their own) gets a page rendered for them, never stored and marked private.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, Response, abort, current_app, request, session
from sqlalchemy.exc import SQLAlchemyError

from portfolio.awards import page_store
from portfolio.core.db import utcnow
from portfolio.core.ids import is_public_id
from portfolio.core.transaction import rollback

#: Seconds a browser or shared cache may reuse a public page or document without asking again:
#: a revocation or a hidden badge shows everywhere within this time.
MAX_AGE = 60
_DIGEST = "portfolio.badge_page_digest"


def verdict(revoked_at: datetime | None, expires_at: datetime | None) -> str:
    """valid | expired | revoked (revocation wins), as `Award.status` says it."""
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= utcnow():
        return "expired"
    return "valid"


def render_digest(app: Flask | None = None) -> str:
    """A digest of every template and of the public base URL: a deploy that changes what the
    page would look like makes every stored page stale."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    digest: str | None = app.extensions.get(_DIGEST)
    if digest is None:
        env = app.jinja_env
        loader = env.loader
        assert loader is not None
        h = hashlib.sha256()
        for name in sorted(env.list_templates()):
            source = loader.get_source(env, name)[0]
            h.update(name.encode() + b"\0" + source.encode() + b"\0")
        h.update(str(app.config["PORTFOLIO"].public_base_url).encode())
        digest = h.hexdigest()[:32]
        app.extensions[_DIGEST] = digest
    return digest


def page_key(status: str) -> str:
    return f"{status}:{render_digest()}"


def is_anonymous_visit() -> bool:
    """Whether the page is the one everybody gets: no signed-in user and nothing flashed.
    Without a session cookie that is known without reading the session; with one, its signed
    contents say so (no user is loaded either way). The response varies on the cookie (Flask
    adds `Vary: Cookie`), which is right: a signed-in earner gets another page."""
    cfg = current_app.config
    if cfg.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        return False
    if cfg.get("SESSION_COOKIE_NAME", "session") not in request.cookies:
        return True
    return "_user_id" not in session and "_flashes" not in session


def public_response(body: str, etag: str, mimetype: str = "text/html") -> Response:
    """A page anyone may cache for `MAX_AGE` seconds, revalidated by its ETag."""
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.vary.add("Accept")
    response.set_etag(etag)
    return response.make_conditional(request)  # type: ignore[return-value]


def anonymous_badge_page(aid: str, render: Callable[[], str]) -> tuple[Response, bool]:
    """The badge page for a visitor who is not signed in: the stored bytes when they are
    current (one query), else `render()` once and keep the result. Also says whether a page was
    kept in this transaction: the view commits it (this module never commits)."""
    row: Any = page_store.stored_page(aid) if is_public_id(aid) else None
    if row is None:
        abort(404)
    key = page_key(verdict(row.revoked_at, row.expires_at))
    if row.page_html is not None and row.page_key == key and row.page_etag:
        return public_response(row.page_html, row.page_etag), False
    html = render()
    if row.signed_at is None:
        # "Being signed" lasts a moment: neither stored nor kept by any cache.
        response = Response(html, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response, False
    etag = hashlib.sha256(html.encode("utf-8")).hexdigest()
    # A stacked credential's page lists its components' live status: rendered on every view.
    kept = False
    if row.pathway_id is None:
        try:
            page_store.store_page(row.id, html, key, etag)
            kept = True
        except SQLAlchemyError:  # a busy database: serve the page, store it another time
            current_app.logger.warning("could not store the badge page of %s", aid, exc_info=True)
            rollback()
    return public_response(html, etag), kept


def personal_response(body: str) -> Response:
    """A page rendered for this visitor (their own controls, a flashed message): never kept by
    a shared cache."""
    response = Response(body, mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-store"
    response.vary.update(("Accept", "Cookie"))
    return response
