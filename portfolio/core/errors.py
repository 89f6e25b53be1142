"""Domain errors raised by services and the pages shown for HTTP errors."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule of the domain refused an action; the message is shown to the user as is."""

    status_code = 400

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


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.path.startswith("/api/") or best == "application/json"


def _error_response(status: int, title: str, message: str) -> tuple[Response | str, int]:
    if _wants_json():
        return jsonify(error=title, message=message), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    """Readable error pages (and JSON for API clients) for every HTTP error."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[Response | str, int]:
        return _error_response(
            400,
            "Form expired",
            "The form was missing its security token or it had expired. "
            "Go back, reload the page and send it again.",
        )

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> tuple[Response | str, int]:
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
        return _error_response(status, exc.name, exc.description or "")
