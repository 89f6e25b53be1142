"""Admin pages for rubrics: list, create, import from CSV, the editor, versions, publishing."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portfolio.accounts.models import Organization
from portfolio.core.forms import EmptyForm
from portfolio.core.transaction import commit
from portfolio.core.views import run_service
from portfolio.frameworks import csv_import
from portfolio.frameworks.case import package as case_package
from portfolio.frameworks.forms import (
    EditorState,
    ImportRubricCsvForm,
    RubricForm,
    apply_action,
    state_from_form,
    state_from_version,
    state_to_input,
)
from portfolio.frameworks.models import Competency, Rubric, RubricVersion
from portfolio.frameworks.services import frameworks as framework_services
from portfolio.frameworks.services import rubrics as rubric_services
from portfolio.frameworks.services import tree as tree_services
from portfolio.frameworks.views import bp
from portfolio.frameworks.views.common import admin_org_for


@bp.get("/o/<slug>/rubrics")
def list_rubrics(slug: str) -> str:
    """The organization's rubrics and their versions."""
    org = admin_org_for(slug)
    return render_template(
        "frameworks/rubrics.html", org=org, rubrics=rubric_services.list_rubrics(org)
    )


def _framework_choices(org: Organization) -> list[tuple[str, str]]:
    return [("", "None")] + [
        (f.public_id, f.title) for f in framework_services.list_frameworks(org)
    ]


def _to_editor(slug: str, rubric: Rubric) -> Response:
    return redirect(
        url_for(
            "frameworks.edit_version",
            slug=slug,
            rid=rubric.public_id,
            vid=rubric.latest.public_id,
        )
    )


@bp.route("/o/<slug>/rubrics/new", methods=["GET", "POST"])
def create_rubric(slug: str) -> Response | str:
    """Start a rubric (a first draft version with the default levels)."""
    org = admin_org_for(slug)
    form = RubricForm()
    form.framework.choices = _framework_choices(org)
    if form.validate_on_submit():
        fw = (
            framework_services.get_framework(org, form.framework.data)
            if form.framework.data
            else None
        )
        done = run_service(
            lambda: rubric_services.create_rubric(
                current_user,
                org,
                title=form.title.data or "",
                description=form.description.data or "",
                framework=fw,
            )
        )
        if done.value is not None:
            return _to_editor(slug, done.value)
    return render_template("frameworks/rubric_form.html", org=org, form=form)


@bp.route("/o/<slug>/rubrics/import-csv", methods=["GET", "POST"])
def import_rubric_csv(slug: str) -> Response | str:
    """Create a rubric from a spreadsheet saved as CSV; all or nothing."""
    org = admin_org_for(slug)
    form = ImportRubricCsvForm()
    form.framework.choices = _framework_choices(org)
    problems: list[case_package.ImportProblem] = []
    if form.validate_on_submit():
        fw = (
            framework_services.get_framework(org, form.framework.data)
            if form.framework.data
            else None
        )
        upload = form.csv_file.data
        filename = (upload.filename or "rubric.csv").rsplit("/", 1)[-1][:200]
        done = run_service(
            lambda: csv_import.import_rubric_csv(
                current_user,
                org,
                upload.read(),
                filename,
                title=form.title.data or "",
                pass_level_name=(form.pass_level.data or "").strip(),
                framework=fw,
            ),
            "Rubric imported as a draft. Check it and publish it.",
            flash_error=False,
        )
        if done.value is not None:
            return _to_editor(slug, done.value)
        if isinstance(done.error, case_package.ImportFailed):
            problems = done.error.problems
        elif done.error is not None:
            flash(done.error.message, "error")
    return render_template("frameworks/import_csv.html", org=org, form=form, problems=problems)


@bp.get("/o/<slug>/rubrics/<rid>")
def show_rubric(slug: str, rid: str) -> str:
    """A rubric's versions, with the newest one shown."""
    org = admin_org_for(slug)
    rubric = rubric_services.get_rubric(org, rid)
    return render_template(
        "frameworks/rubric.html",
        org=org,
        rubric=rubric,
        version=rubric.latest,
        form=EmptyForm(),
        is_locked=rubric_services.is_version_locked,
        pass_rule=rubric_services.describe_pass_rule,
    )


@bp.get("/o/<slug>/rubrics/<rid>/versions/<vid>")
def show_version(slug: str, rid: str, vid: str) -> str:
    """One version of a rubric, as a worker will see it."""
    org = admin_org_for(slug)
    rubric = rubric_services.get_rubric(org, rid)
    version = rubric_services.get_version(rubric, vid)
    return render_template(
        "frameworks/preview.html",
        org=org,
        rubric=rubric,
        version=version,
        pass_rule=rubric_services.describe_pass_rule(version),
        problems=rubric_services.publication_problems(version),
        is_locked=rubric_services.is_version_locked(version),
        form=EmptyForm(),
    )


def _chosen_ids(state: EditorState) -> list[int]:
    return [int(el.competency) for el in state.elements if el.competency.isdigit()]


def _render_editor(
    org: Organization,
    rubric: Rubric,
    version: RubricVersion,
    state: EditorState,
    status: int = 200,
    *,
    found: dict[str, list[Competency]] | None = None,
    queries: dict[str, str] | None = None,
) -> tuple[str, int]:
    """The editor page. Competencies are picked by searching (never a list of them all): each
    element shows its chosen one, and the results of its last search."""
    return render_template(
        "frameworks/editor.html",
        org=org,
        rubric=rubric,
        version=version,
        state=state,
        chosen=tree_services.competencies_by_ids(org, _chosen_ids(state)),
        found=found or {},
        queries=queries or {},
        form=EmptyForm(),
        problems=rubric_services.publication_problems(version),
    ), status


@bp.route("/o/<slug>/rubrics/<rid>/versions/<vid>/edit", methods=["GET", "POST"])
def edit_version(slug: str, rid: str, vid: str) -> Response | str | tuple[str, int]:
    """The rubric editor: a grid of elements by levels, descriptors, pass rule.

    Every button posts the whole grid, so nothing typed is lost when adding, removing or
    moving a row or column. A locked version is never changed here.
    """
    org = admin_org_for(slug)
    rubric = rubric_services.get_rubric(org, rid)
    version = rubric_services.get_version(rubric, vid)
    if rubric_services.is_version_locked(version):
        if request.method == "POST":
            rubric_services.require_unlocked(version)  # raises Conflict (409)
        flash(
            f"Version {version.number} is published and cannot change. Start a new version "
            "to edit it.",
            "info",
        )
        return redirect(url_for("frameworks.show_rubric", slug=slug, rid=rid))
    if request.method == "GET":
        return _render_editor(org, rubric, version, state_from_version(version))
    if not EmptyForm().validate_on_submit():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(url_for("frameworks.edit_version", slug=slug, rid=rid, vid=vid))
    state = state_from_form(request.form, version)
    action = request.form.get("action", "save")
    if action.startswith("find_competency:"):
        # A search, not a save: the grid comes back as typed, with the matches to choose from.
        key = action.partition(":")[2]
        query = request.form.get(f"element-{key}-find", "").strip()[:200]
        return _render_editor(
            org,
            rubric,
            version,
            state,
            # Within the rubric's framework when it has one: what its elements assess.
            found={key: tree_services.search_competencies(org, query, framework=rubric.framework)},
            queries={key: query},
        )
    apply_action(state, action)
    competency_ids = set(tree_services.competencies_by_ids(org, _chosen_ids(state)))
    if not run_service(
        lambda: rubric_services.save_version(
            current_user, version, state_to_input(state, competency_ids)
        ),
        "Rubric saved." if action == "save" else None,
    ):
        version = rubric_services.get_version(rubric_services.get_rubric(org, rid), vid)
        return _render_editor(org, rubric, version, state, 422)
    if action == "preview":
        return redirect(url_for("frameworks.show_version", slug=slug, rid=rid, vid=vid))
    return redirect(url_for("frameworks.edit_version", slug=slug, rid=rid, vid=vid) + "#grid")


@bp.post("/o/<slug>/rubrics/<rid>/versions/<vid>/publish")
def publish_version(slug: str, rid: str, vid: str) -> Response:
    """Freeze a draft version."""
    org = admin_org_for(slug)
    rubric = rubric_services.get_rubric(org, rid)
    version = rubric_services.get_version(rubric, vid)
    if not EmptyForm().validate_on_submit():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(url_for("frameworks.show_rubric", slug=slug, rid=rid))
    rubric_services.require_unlocked(version)
    if not run_service(
        lambda: rubric_services.publish_version(current_user, version),
        lambda _: f"Version {version.number} published. It can no longer change.",
    ):
        return redirect(url_for("frameworks.show_version", slug=slug, rid=rid, vid=vid))
    return redirect(url_for("frameworks.show_rubric", slug=slug, rid=rid))


@bp.post("/o/<slug>/rubrics/<rid>/new-version")
def new_version(slug: str, rid: str) -> Response:
    """Start editing a published rubric: a new draft version copied from the latest."""
    org = admin_org_for(slug)
    rubric = rubric_services.get_rubric(org, rid)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("frameworks.show_rubric", slug=slug, rid=rid))
    version = rubric_services.start_new_version(current_user, rubric)
    # A refusal here is an error page (the handlers roll back); nothing to flash on success.
    commit()
    return redirect(url_for("frameworks.edit_version", slug=slug, rid=rid, vid=version.public_id))
