"""Pathway pages: the worker's progress, the admins' list (with affected stacks) and form."""

from __future__ import annotations

import click
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portfolio.accounts.models import Organization, Role
from portfolio.accounts.services import get_organization, require_role
from portfolio.core.errors import DomainError
from portfolio.core.params import parse_int
from portfolio.core.transaction import commit, rollback
from portfolio.extensions import db
from portfolio.pathways import services as pathways

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
        progress=pathways.my_pathways(current_user),
        Status=pathways.ComponentStatus,
    )


@bp.get("/o/<slug>/pathways")
def list_pathways(slug: str) -> str:
    """The organization's pathways and the stacks affected by a lapsed component (admins)."""
    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    if pathways.mark_expired_components():
        commit()
    return render_template(
        "pathways/list.html",
        org=org,
        pathways=pathways.organization_pathways(org),
        affected=pathways.affected_stacks(current_user, org),
    )


@bp.route("/o/<slug>/pathways/new", methods=["GET", "POST"])
def create_pathway(slug: str) -> Response | tuple[str, int]:
    """Define a stacked credential: components, rule, window, trusted issuers (admins)."""
    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    error = None
    form = request.form
    if request.method == "POST":
        try:
            data = pathways.PathwayInput(
                name=form.get("name", ""),
                description=form.get("description", ""),
                component_ids=form.getlist("component"),
                rule=form.get("rule", "all"),
                required_count=_int_or_none(form.get("required_count")),
                window_days=_int_or_none(form.get("window_days")),
                trusted_issuers=form.get("trusted_issuers", "").split(),
                expiry_months=_int_or_none(form.get("expiry_months")),
            )
            pathway = pathways.create_pathway(current_user, org, data)
        except DomainError as exc:
            rollback()
            error = exc.message
        else:
            commit()
            flash(f"The pathway to “{pathway.credential.name}” is live.", "success")
            return redirect(url_for("pathways.list_pathways", slug=slug))
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


@bp.cli.command("check-expiry")
def check_expiry() -> None:
    """Mark stacked awards whose component badges have expired, and tell their admins."""
    marked = pathways.mark_expired_components()
    commit()
    click.echo(f"{marked} stacked award(s) newly marked as affected.")
