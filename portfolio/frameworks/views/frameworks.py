"""Admin pages for frameworks and their competency trees."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portfolio.core.forms import EmptyForm
from portfolio.core.views import run_service
from portfolio.extensions import db
from portfolio.frameworks.forms import CompetencyForm, FrameworkForm
from portfolio.frameworks.models import Rubric
from portfolio.frameworks.services import competencies as competency_services
from portfolio.frameworks.services import frameworks as framework_services
from portfolio.frameworks.views import bp
from portfolio.frameworks.views.common import admin_org_for, tree_view


@bp.get("/o/<slug>/frameworks")
def list_frameworks(slug: str) -> str:
    """The organization's frameworks."""
    org = admin_org_for(slug)
    return render_template(
        "frameworks/list.html", org=org, frameworks=framework_services.list_frameworks(org)
    )


@bp.route("/o/<slug>/frameworks/new", methods=["GET", "POST"])
def create_framework(slug: str) -> Response | str:
    """Start an empty framework."""
    org = admin_org_for(slug)
    form = FrameworkForm()
    if form.validate_on_submit():
        done = run_service(
            lambda: framework_services.create_framework(
                current_user,
                org,
                title=form.title.data or "",
                version=form.version.data or "",
                description=form.description.data or "",
                source_url=form.source_url.data or "",
            ),
            "Framework created. Add its competencies.",
        )
        if done.value is not None:
            fid = done.value.public_id
            return redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))
    return render_template("frameworks/framework_form.html", org=org, form=form, framework=None)


@bp.get("/o/<slug>/frameworks/<fid>")
def show_framework(slug: str, fid: str) -> str:
    """A framework's competency tree a branch at a time (`?at=`, `?page=`), a search within it
    (`?q=`), and a form to add a competency (under the one chosen with `?under=`)."""
    org = admin_org_for(slug)
    fw = framework_services.get_framework(org, fid)
    form = CompetencyForm()
    under = None
    if request.args.get("under"):
        under = competency_services.get_competency(fw, request.args["under"])
        form.parent.data = under.public_id
    rubrics = db.session.scalars(select(Rubric).where(Rubric.framework_id == fw.id)).all()
    return render_template(
        "frameworks/show.html",
        org=org,
        framework=fw,
        form=form,
        under=under,
        tree=tree_view(org, fw),
        rubrics=rubrics,
        delete_form=EmptyForm(),
        source_form=EmptyForm(),
    )


@bp.get("/o/<slug>/frameworks/<fid>/tree")
def tree_fragment(slug: str, fid: str) -> str:
    """One branch of the tree as an HTML fragment, for the page's script to insert when a
    branch is opened (`?at=`, `?page=`); the page itself works without it."""
    org = admin_org_for(slug)
    fw = framework_services.get_framework(org, fid)
    return render_template(
        "frameworks/_tree_fragment.html", org=org, framework=fw, tree=tree_view(org, fw)
    )


@bp.route("/o/<slug>/frameworks/<fid>/edit", methods=["GET", "POST"])
def edit_framework(slug: str, fid: str) -> Response | str:
    """Change a framework's title, version, description and source."""
    org = admin_org_for(slug)
    fw = framework_services.get_framework(org, fid)
    form = FrameworkForm(obj=fw)
    if form.validate_on_submit() and run_service(
        lambda: framework_services.update_framework(
            current_user,
            fw,
            title=form.title.data or "",
            version=form.version.data or "",
            description=form.description.data or "",
            source_url=form.source_url.data or "",
        ),
        "Framework saved.",
    ):
        return redirect(url_for("frameworks.show_framework", slug=slug, fid=fw.public_id))
    return render_template("frameworks/framework_form.html", org=org, form=form, framework=fw)


@bp.post("/o/<slug>/frameworks/<fid>/delete")
def delete_framework(slug: str, fid: str) -> Response:
    """Delete a framework and its competencies."""
    org = admin_org_for(slug)
    fw = framework_services.get_framework(org, fid)
    if EmptyForm().validate_on_submit() and not run_service(
        lambda: framework_services.delete_framework(current_user, fw), "Framework deleted."
    ):
        return redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))
    return redirect(url_for("frameworks.list_frameworks", slug=slug))


@bp.post("/o/<slug>/frameworks/<fid>/competencies")
def add_competency(slug: str, fid: str) -> Response:
    """Add a competency to the tree."""
    org = admin_org_for(slug)
    fw = framework_services.get_framework(org, fid)
    form = CompetencyForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    else:
        parent = (
            competency_services.get_competency(fw, form.parent.data) if form.parent.data else None
        )
        done = run_service(
            lambda: competency_services.add_competency(
                current_user,
                fw,
                statement=form.statement.data or "",
                code=form.code.data or "",
                description=form.description.data or "",
                parent=parent,
            ),
            "Competency added.",
        )
        if done and parent is not None:  # to the branch it was added to
            return redirect(
                url_for("frameworks.show_framework", slug=slug, fid=fid, at=parent.public_id)
                + "#tree-h"
            )
    return redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))


@bp.route("/o/<slug>/frameworks/<fid>/competencies/<cid>/edit", methods=["GET", "POST"])
def edit_competency(slug: str, fid: str, cid: str) -> Response | str:
    """Change a competency."""
    org = admin_org_for(slug)
    fw = framework_services.get_framework(org, fid)
    comp = competency_services.get_competency(fw, cid)
    form = CompetencyForm(obj=comp)
    del form.parent
    if form.validate_on_submit() and run_service(
        lambda: competency_services.update_competency(
            current_user,
            comp,
            statement=form.statement.data or "",
            code=form.code.data or "",
            description=form.description.data or "",
        ),
        "Competency saved.",
    ):
        return redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))
    return render_template(
        "frameworks/competency_form.html",
        org=org,
        framework=fw,
        competency=comp,
        form=form,
        relations=competency_services.competency_relations(comp),
        delete_form=EmptyForm(),
    )


def _deleted_message(deleted: int) -> str:
    below = f" with {deleted - 1} listed only below it" if deleted > 1 else ""
    return f"Competency deleted{below}."


@bp.post("/o/<slug>/frameworks/<fid>/competencies/<cid>/delete")
def delete_competency(slug: str, fid: str, cid: str) -> Response:
    """Delete a competency and everything under it."""
    org = admin_org_for(slug)
    fw = framework_services.get_framework(org, fid)
    comp = competency_services.get_competency(fw, cid)
    if EmptyForm().validate_on_submit():
        run_service(
            lambda: competency_services.delete_competency(current_user, comp), _deleted_message
        )
    return redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))
