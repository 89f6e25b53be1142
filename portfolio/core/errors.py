"""Domain errors raised by services and the pages shown for HTTP errors."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule of the domain refused an action; the message is shown to the user as is."""

    status_code = 400
    #: True for refusals that keep what was done before them (a counted failed sign-in, a
    #: refused upload's removal): the request then commits instead of rolling back.
    keeps_changes = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The object does not exist, or the actor may not know that it exists."""

    status_code = 404


class Forbidden(DomainError):
    """The actor is known but may not do this."""

    status_code = 403


class Conflict(DomainError):
    """The action clashes with the current state (already exists, already claimed...)."""

    status_code = 409


#: Titles and messages in plain words for the errors people meet; werkzeug's own texts
#: ("The requested URL was not found on the server...") are written for developers.
_PLAIN: dict[int, tuple[str, str]] = {
    400: ("Something was wrong with that request", "The page could not understand what was sent."),
    403: ("Not allowed", "You do not have access to this page."),
    404: ("Page not found", "There is nothing at this address. It may have been mistyped."),
    405: ("Not possible here", "That action is not possible on this page."),
    410: ("No longer here", "What was at this address has been removed."),
    429: ("Too many attempts", "Too many attempts from your address. Wait a minute and try again."),
    500: ("Something went wrong on our side", "The page could not be shown because of an error."),
    503: (
        "Temporarily unavailable",
        "The service is down for a short while, for maintenance or because it is busy.",
    ),
}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.path.startswith("/api/") or best == "application/json"


def _error_response(status: int, title: str, message: str) -> tuple[Response | str, int]:
    if _wants_json():
        return jsonify(error=title, message=message), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


#: Posted fields never shown back: the token itself and anything that looks like a secret.
_NOT_ECHOED = ("csrf_token", "password", "secret", "token")


def _is_same_origin() -> bool:
    """The post came from one of our own pages (Origin, else Referer, names this host)."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    parts = urlsplit(source)
    return bool(parts.netloc) and parts.netloc == request.host


def _typed_fields() -> list[tuple[str, str]]:
    """What the user typed into the expired form, in order, without tokens or passwords."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return []
    return [
        (name, value)
        for name, values in request.form.lists()
        if not any(word in name.lower() for word in _NOT_ECHOED)
        for value in values
    ]


def _form_expired() -> tuple[str, int]:
    """The form's token expired or the session ended while the user was typing: say so, keep
    what they typed on screen and, while they are still signed in, offer to send it again with
    a fresh token. Only for posts from our own pages: a cross-site post gets the message alone,
    so no other site can put its text on our page or have it sent with a valid token."""
    fields = _typed_fields() if _is_same_origin() else []
    return render_template(
        "errors/form_expired.html",
        fields=fields,
        can_resend=bool(fields) and current_user.is_authenticated,
        action=request.full_path.rstrip("?"),
    ), 400


def register_error_handlers(app: Flask) -> None:
    """Readable error pages (and JSON for API clients) for every HTTP error."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[Response | str, int]:
        if request.method == "POST" and not _wants_json():
            return _form_expired()
        return _error_response(
            400,
            "Form expired",
            "The form was missing its security token or it had expired. "
            "Go back, reload the page and send it again.",
        )

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> tuple[Response | str, int]:
        from portfolio.core.views import finish_failed

        finish_failed(exc)
        titles = {403: "Not allowed", 404: "Not found", 409: "Conflict"}
        return _error_response(
            exc.status_code, titles.get(exc.status_code, "Cannot do that"), exc.message
        )

    @app.errorhandler(413)
    def too_large(exc: HTTPException) -> tuple[Response | str, int]:
        limit_mb = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return _error_response(
            413,
            "File too large",
            f"What you sent is larger than the {limit_mb} MB this server accepts. "
            "Nothing was saved.",
        )

    @app.errorhandler(429)
    def too_many(exc: HTTPException) -> tuple[Response | str, int]:
        return _error_response(
            429,
            "Too many attempts",
            "Too many attempts from your address. Wait a minute and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response | str, int]:
        status = exc.code or 500
        title, default = _PLAIN.get(status, (exc.name, exc.description or ""))
        # A message given to abort() says more than the generic one; werkzeug's own does not.
        generic = type(exc).description
        message = exc.description if exc.description and exc.description != generic else default
        return _error_response(status, title, message)
