"""The flask-smorest `Api` that documents the blueprint: problem details (RFC 9457) as every
error response, bearer tokens as the security scheme, no docs blueprint of its own (the spec
and the docs page are ordinary views of the API blueprint, so the login gate and CSP apply)."""

from __future__ import annotations

import http
from typing import Any

import marshmallow as ma
from flask import Flask
from flask_smorest import Api as _Api
from flask_smorest.utils import prepare_response

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem details object."""

    type = ma.fields.String(metadata={"description": "URI naming the kind of problem"})
    title = ma.fields.String(required=True, metadata={"description": "Short summary"})
    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status"})
    detail = ma.fields.String(metadata={"description": "What went wrong, for people"})
    instance = ma.fields.String(metadata={"description": "The request path"})
    errors = ma.fields.Dict(metadata={"description": "Field errors of the request, by location"})


class Api(_Api):  # type: ignore[misc]
    """flask-smorest's Api without its app-wide error handler (the pages keep theirs; the API
    blueprint answers with problem details) and with problem details documented."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        return None

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def make_api(app: Flask) -> Api:
    """The app's Api: its OpenAPI document, with the bearer scheme declared."""
    app.config.setdefault("API_TITLE", "Portfolio API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    api = Api(app, spec_kwargs=SPEC_KWARGS)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API token"}
    )
    return api


SPEC_KWARGS: dict[str, Any] = {
    "info": {
        "description": "Organizations, frameworks, credentials, submissions, awards, members, "
        "evidence and reports. Authenticate with `Authorization: Bearer <token>`; make "
        "tokens under Account → API tokens or an organization's API tokens page."
    },
    "security": [{"bearerAuth": []}],
    "servers": [{"url": "/"}],
}
