"""The description of the API (its OpenAPI document and a readable page), the token's own
user, and the organizations the token reaches."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, render_template

from portfolio.accounts.models import Organization
from portfolio.api import schemas as s
from portfolio.api.blueprint import (
    actor,
    bp,
    need,
    organization,
    token,
)
from portfolio.core.security import public


def spec_dict() -> dict[str, Any]:
    """The OpenAPI document of the app's Api, as a dict."""
    return current_app.extensions["portfolio.api"].spec.to_dict()  # type: ignore[no-any-return]


# -- the description -----------------------------------------------------------------------------
@bp.route("/openapi.json")
@bp.doc(
    security=[],
    summary="This OpenAPI document",
    responses={
        "200": {
            "description": "The OpenAPI 3.1 document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
@public
def openapi_json() -> Response:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(spec_dict())


@bp.route("/docs")
@bp.doc(
    security=[],
    summary="Documentation page",
    responses={
        "200": {
            "description": "Every operation, readable",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
)
@public
def docs() -> str:
    """A readable list of every operation, from the OpenAPI document."""
    return render_template("api/docs.html", spec=spec_dict())


# -- me and organizations ------------------------------------------------------------------------
@bp.get("/me")
@bp.response(200, s.MeOut)
@public
def me() -> dict[str, Any]:
    """The user the token acts as, and the token itself."""
    t, user = token(), actor()
    return {
        "public_id": user.public_id,
        "display_name": user.display_name,
        "email": user.email,
        "token": {
            "id": t.public_id,
            "kind": str(t.kind),
            "scopes": t.scopes,
            "expires_at": t.expires_at.isoformat(),
            "organization": t.organization.slug if t.organization else None,
        },
    }


@bp.get("/organizations")
@bp.response(200, s.OrganizationOut(many=True))
@public
def list_organizations() -> list[Organization]:
    """Organizations the token reaches."""
    need("read")
    orgs = {m.organization.id: m.organization for m in actor().memberships}
    if token().organization_id is not None:
        orgs = {k: v for k, v in orgs.items() if k == token().organization_id}
    return sorted(orgs.values(), key=lambda o: o.slug)


@bp.get("/organizations/<slug>")
@bp.response(200, s.OrganizationOut)
@public
def get_organization(slug: str) -> Organization:
    """One organization."""
    need("read")
    return organization(slug)
