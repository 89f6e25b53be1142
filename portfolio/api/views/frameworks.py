"""Competency frameworks of an organization, and CASE package imports."""

from __future__ import annotations

from typing import Any

from flask import request

from portfolio.api import schemas as s
from portfolio.api.blueprint import (
    actor,
    admin,
    bp,
    commit_use,
    need,
    organization,
)
from portfolio.api.schemas import With
from portfolio.core.security import public


@bp.get("/organizations/<slug>/frameworks")
@bp.response(200, s.FrameworkOut(many=True))
@public
def list_frameworks(slug: str) -> list[Any]:
    """Competency frameworks of the organization (admins)."""
    from portfolio.frameworks.services import frameworks as framework_services

    need("read")
    org = organization(slug)
    admin(org)
    return framework_services.list_frameworks(org)


@bp.get("/organizations/<slug>/frameworks/<framework_id>")
@bp.response(200, s.FrameworkDetailOut)
@public
def get_framework(slug: str, framework_id: str) -> Any:
    """One framework with its competencies in tree order (admins)."""
    from portfolio.frameworks.services import frameworks as framework_services
    from portfolio.frameworks.services import tree as tree_services

    need("read")
    org = organization(slug)
    admin(org)
    framework = framework_services.get_framework(org, framework_id)
    return With(framework, competencies=[c for c, _ in tree_services.competency_tree(framework)])


@bp.post("/organizations/<slug>/case-imports")
@bp.arguments(s.CaseImportArgs, location="query")
@bp.response(201, s.CaseImportOut)
@bp.doc(
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
        "description": "A CASE 1.1 package (CFPackage JSON)",
    }
)
@public
def import_case(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """Import a CASE package: all or nothing (admins)."""
    from portfolio.frameworks.case import importer as case_importer

    need("frameworks:write")
    org = organization(slug)
    admin(org)
    raw = request.get_data(cache=False)
    result = case_importer.import_case_package(
        actor(), org, raw, "package.json", update_existing=args["update_existing"]
    )
    commit_use("framework.import", "framework", result.framework.public_id)
    return {
        "framework": result.framework,
        "updated": result.updated,
        "rubrics": [r.public_id for r in result.rubrics],
    }
