"""Public framework pages: a framework's tree and its competencies, for anyone (credentials
align to them); a competency also as its CASE CFItem in JSON."""

from __future__ import annotations

import json

from flask import render_template, request
from werkzeug.wrappers import Response

from portfolio.accounts.models import Organization
from portfolio.core.errors import NotFound
from portfolio.core.security import public
from portfolio.extensions import db
from portfolio.frameworks.case import export as case_export
from portfolio.frameworks.models import Framework
from portfolio.frameworks.services import competencies as competency_services
from portfolio.frameworks.views import bp
from portfolio.frameworks.views.common import tree_view


def _wants_json() -> bool:
    if request.args.get("format") == "json":
        return True
    best = request.accept_mimetypes.best_match(
        ["text/html", "application/json", "application/ld+json"]
    )
    return best in {"application/json", "application/ld+json"}


def _org_of(fw: Framework) -> Organization:
    org = db.session.get(Organization, fw.organization_id)
    if org is None:
        raise NotFound("No such framework.")
    return org


@bp.get("/frameworks/<fid>")
@public
def public_framework(fid: str) -> str:
    """A framework's competencies for anyone (credentials align to them)."""
    fw = competency_services.get_public_framework(fid)
    return render_template(
        "frameworks/public_framework.html",
        org=None,
        framework=fw,
        tree=tree_view(_org_of(fw), fw, admin=False),
    )


@bp.get("/frameworks/<fid>/tree")
@public
def public_tree_fragment(fid: str) -> str:
    """One branch of a public framework's tree as an HTML fragment (see `tree_fragment`)."""
    fw = competency_services.get_public_framework(fid)
    return render_template(
        "frameworks/_tree_fragment.html",
        org=None,
        framework=fw,
        tree=tree_view(_org_of(fw), fw, admin=False),
    )


@bp.get("/frameworks/<fid>/competencies/<cid>")
@public
def public_competency(fid: str, cid: str) -> Response | str:
    """One competency for anyone: HTML, or its CASE CFItem as JSON (Accept: application/json
    or ?format=json)."""
    fw = competency_services.get_public_framework(fid)
    comp = competency_services.get_competency(fw, cid)
    if _wants_json():
        response = Response(
            json.dumps(case_export.export_item(comp), indent=2, ensure_ascii=False),
            mimetype="application/json",
        )
    else:
        response = Response(
            render_template(
                "frameworks/public_competency.html",
                framework=fw,
                competency=comp,
                relations=competency_services.competency_relations(comp),
                fields=competency_services.item_fields(comp),
            )
        )
    response.headers["Vary"] = "Accept"
    return response
