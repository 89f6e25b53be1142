"""Pathway pages: the worker's progress, the admins' list (with affected stacks) and form."""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portfolio.accounts.models import Organization, Role
from portfolio.accounts.organizations import get_organization, require_role
from portfolio.awards.models import Award
from portfolio.core.errors import DomainError
from portfolio.core.params import parse_int
from portfolio.core.transaction import commit
from portfolio.core.views import run_service
from portfolio.extensions import db
from portfolio.pathways import lapses, progress
from portfolio.pathways import services as pathways
from portfolio.pathways.models import Pathway

bp = Blueprint("pathways", __name__, cli_group="pathways")


def _int_or_none(value: str | None) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    number = parse_int(value)
    if number is None:
        raise DomainError(f"“{value[:20]}” is not a whole number.")
    return number


@bp.get("/pathways")
def my_pathways() -> str:
    """The worker's progress on every pathway of their organizations."""
    return render_template(
        "pathways/mine.html",
        progress=progress.my_pathways(current_user),
        Status=progress.ComponentStatus,
    )


@bp.get("/o/<slug>/pathways")
def list_pathways(slug: str) -> str:
    """The organization's pathways and the stacks affected by a lapsed component (admins)."""
    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    # Expired components are marked by the hourly sweep (`pathways.jobs`), not on this GET.
    return render_template(
        "pathways/list.html",
        org=org,
        pathways=pathways.organization_pathways(org),
        affected=lapses.affected_stacks(current_user, org),
    )


@bp.route("/o/<slug>/pathways/new", methods=["GET", "POST"])
def create_pathway(slug: str) -> Response | tuple[str, int]:
    """Define a stacked credential: components, rule, window, trusted issuers (admins)."""
    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    error = None
    form = request.form
    if request.method == "POST":

        def create() -> tuple[Pathway, list[Award]]:
            from portfolio.pathways.admin import issue_to_qualifying

            pathway = pathways.create_pathway(current_user, org, _input_from(form))
            # Workers who already hold every component receive the stack now.
            return pathway, issue_to_qualifying(pathway)

        done = run_service(
            create,
            lambda r: (
                f"The pathway to “{r[0].credential.name}” is live; "
                f"{len(r[1])} worker(s) who already qualified received it."
            ),
            flash_error=False,
        )
        if done:
            return redirect(url_for("pathways.list_pathways", slug=slug))
        error = done.message
    candidates = pathways.candidate_components(org)
    issuers = {
        o.id: (o.name, pathways.issuer_url(o))
        for o in (db.session.get(Organization, i) for i in {c.organization_id for c in candidates})
        if o is not None
    }
    return render_template(
        "pathways/form.html",
        org=org,
        candidates=candidates,
        own_issuer=pathways.issuer_url(org),
        issuers=issuers,
        form=form,
        error=error,
    ), (400 if error else 200)


def _input_from(form: object) -> pathways.PathwayInput:
    return pathways.PathwayInput(
        name=form.get("name", ""),  # type: ignore[attr-defined]
        description=form.get("description", ""),  # type: ignore[attr-defined]
        component_ids=form.getlist("component"),  # type: ignore[attr-defined]
        rule=form.get("rule", "all"),  # type: ignore[attr-defined]
        required_count=_int_or_none(form.get("required_count")),  # type: ignore[attr-defined]
        window_days=_int_or_none(form.get("window_days")),  # type: ignore[attr-defined]
        trusted_issuers=form.get("trusted_issuers", "").split(),  # type: ignore[attr-defined]
        expiry_months=_int_or_none(form.get("expiry_months")),  # type: ignore[attr-defined]
    )


@bp.route("/o/<slug>/pathways/<pid>/edit", methods=["GET", "POST"])
def edit_pathway(slug: str, pid: str) -> Response | tuple[str, int]:
    """Change a pathway; stacks already issued keep their version (admins)."""
    from werkzeug.datastructures import MultiDict

    from portfolio.pathways import admin as pathway_admin

    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    pathway = pathways.get_pathway(org, pid)
    error = None
    if request.method == "POST":
        form: Any = request.form

        def update() -> list[Award]:
            pathway_admin.update_pathway(current_user, pathway, _input_from(form))
            return pathway_admin.issue_to_qualifying(pathway)

        done = run_service(
            update,
            lambda issued: (
                f"“{pathway.credential.name}” saved; {len(issued)} worker(s) who now qualify "
                "received it. Stacks issued before keep what they were issued with."
            ),
            flash_error=False,
        )
        if done:
            return redirect(url_for("pathways.list_pathways", slug=slug))
        error = done.message
    else:
        cred = pathway.credential
        form = MultiDict(
            [
                ("name", cred.name),
                ("description", cred.description or ""),
                ("rule", str(pathway.rule)),
                ("required_count", str(pathway.required_count or "")),
                ("window_days", str(pathway.window_days or "")),
                ("expiry_months", str(cred.expiry_months or "")),
                ("trusted_issuers", "\n".join(t.issuer_url for t in pathway.trusted_issuers)),
                *[("component", c.credential.public_id) for c in pathway.components],
            ]
        )
    candidates = pathways.candidate_components(org)
    candidates = [c for c in candidates if c.id != pathway.credential_id]
    issuers = {
        o.id: (o.name, pathways.issuer_url(o))
        for o in (db.session.get(Organization, i) for i in {c.organization_id for c in candidates})
        if o is not None
    }
    return render_template(
        "pathways/form.html",
        org=org,
        pathway=pathway,
        candidates=candidates,
        own_issuer=pathways.issuer_url(org),
        issuers=issuers,
        form=form,
        error=error,
    ), (400 if error else 200)


@bp.post("/o/<slug>/pathways/<pid>/archive")
def archive_pathway(slug: str, pid: str) -> Response:
    """Archive a pathway: it issues nothing more (admins)."""
    from portfolio.pathways import admin as pathway_admin

    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    pathway = pathways.get_pathway(org, pid)
    run_service(
        lambda: pathway_admin.archive_pathway(current_user, pathway),
        f"The pathway to “{pathway.credential.name}” is archived.",
    )
    return redirect(url_for("pathways.list_pathways", slug=slug))


@bp.cli.command("check-expiry")
def check_expiry() -> None:
    """Mark stacked awards whose component badges have expired, and tell their admins."""
    marked = lapses.mark_expired_components()
    commit()
    click.echo(f"{marked} stacked award(s) newly marked as affected.")
