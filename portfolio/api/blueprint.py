"""The API blueprint and what every operation shares: problem details (RFC 9457) for every
error, bearer-token authentication and rate limits, the token's scopes and organizations, and
the one place an operation commits (`commit_use`). The operations themselves live in
`portfolio.api.views`, one module per resource group, all on this `bp`.

Authentication is the bearer token alone: the session cookie is never read here, so a page
visited in a browser cannot be made to call the API (no CSRF), and the login gate of the pages
does not apply (the views are marked public and every request is checked by `authenticate`).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from portfolio.accounts import organizations, tokens
from portfolio.accounts.models import Organization, Role, User
from portfolio.api.spec import PROBLEM_CONTENT_TYPE
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.transaction import commit, rollback
from portfolio.extensions import csrf, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Portfolio JSON API (version 1)")
# Bearer tokens only, never cookies: a cross-site page cannot make the browser send a token.
csrf.exempt(bp)

#: Operations anyone may read: the description of the API itself.
_OPEN_ENDPOINTS = {"api.openapi_json", "api.docs"}


# -- problems (RFC 9457) -------------------------------------------------------------------------
def problem(status: int, title: str, detail: str = "", **extra: Any) -> Response:
    """A problem details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_CONTENT_TYPE
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict"}


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError) -> Response:
    """A refused rule, with the service's own message."""
    rollback()
    return problem(exc.status_code, _TITLES.get(exc.status_code, "Cannot do that"), exc.message)


@bp.errorhandler(HTTPException)
@bp.errorhandler(413)  # the app's handlers by status code would otherwise win over this one
@bp.errorhandler(429)
def http_error(exc: HTTPException) -> Response:
    """Any HTTP error (validation: 422 with the field errors by location)."""
    rollback()
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    extra: dict[str, Any] = {}
    if "messages" in data:
        extra["errors"] = data["messages"]
    response = problem(status, exc.name, exc.description or "", **extra)
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


# -- authentication, scopes, organizations -------------------------------------------------------
def _bearer() -> str:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def rate_limit_key() -> str:
    """Requests are counted per token (its digest), else per address."""
    raw = _bearer()
    if raw:
        return "token:" + tokens.token_digest(raw)
    return "addr:" + (request.remote_addr or "")


def _rate_limit() -> str:
    return str(current_app.config["PORTFOLIO"].api_rate_limit)


limiter.limit(_rate_limit, key_func=rate_limit_key)(bp)


@bp.before_request
def authenticate() -> Response | None:
    """Find the token's user, or answer 401. Sets the user for this request only."""
    if request.endpoint in _OPEN_ENDPOINTS:
        return None
    raw = _bearer()
    token = tokens.authenticate_token(raw) if raw else None
    if token is None:
        return problem(
            401,
            "Unauthorized",
            "Send a valid API token as `Authorization: Bearer <token>`."
            if not raw
            else "The token is unknown, expired or revoked.",
        )
    commit()  # the last-use stamp
    g.api_token = token
    # Flask-Login's user for this request, so nothing falls back to the session cookie.
    g._login_user = token.user
    return None


def token() -> tokens.ApiToken:
    """The token of this request."""
    return g.api_token  # type: ignore[no-any-return]


def actor() -> User:
    """The user the token acts as: the actor of every service call."""
    return token().user


def need(scope: str) -> None:
    """Refuse (403) unless the token carries the scope."""
    if scope not in token().scopes:
        raise _Forbidden(f"This token lacks the scope “{scope}”.")


class _Forbidden(DomainError):
    status_code = 403


def organization(slug: str) -> Organization:
    """The organization named in the path, if the token reaches it: an organization token only
    its own, a personal token those where its user holds a role. Others are not found."""
    org = organizations.get_organization(slug) if len(slug) <= 64 else None
    if org is None or not actor().roles_in(org.id):
        raise NotFound("No such organization.")
    if token().organization_id is not None and token().organization_id != org.id:
        raise NotFound("No such organization.")
    return org


def staff(org: Organization) -> None:
    """Refuse (403) unless the user assesses or administers the organization."""
    organizations.require_role(actor(), org, Role.ASSESSOR, Role.ADMIN)


def admin(org: Organization) -> None:
    """Refuse (403) unless the user administers the organization."""
    organizations.require_role(actor(), org, Role.ADMIN)


def commit_use(action: str, kind: str, public_id: str) -> None:
    """Record the token's use (`action` on the object `kind` `public_id`) and commit the
    operation's work: the one place an API operation commits (queued effects then run)."""
    tokens.record_token_use(token(), action, kind, public_id)
    commit()
