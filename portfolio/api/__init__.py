"""The JSON API under `/api/v1`: bearer-token authentication, RFC 9457 problem details, keyset
pages and an OpenAPI 3.1 description generated from the code (flask-smorest). The API owns no
rules and no tables: every operation calls the services the pages call."""

from __future__ import annotations

from flask import Flask


def init_api(app: Flask) -> None:
    """Register the API blueprint and its OpenAPI document on the application."""
    import portfolio.api.views  # noqa: F401 - its modules register the operations on `bp`
    from portfolio.api.blueprint import bp
    from portfolio.api.spec import make_api

    api = make_api(app)
    app.extensions["portfolio.api"] = api
    api.register_blueprint(bp)
