"""Admin pages for frameworks, competencies and rubrics (editor, versions, imports, export)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portfolio.accounts.models import Organization
from portfolio.accounts.services import admin_org
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.forms import EmptyForm
from portfolio.core.security import public
from portfolio.core.transaction import commit, rollback
from portfolio.core.views import finish_failed
from portfolio.extensions import db
from portfolio.frameworks import case, case_fetch, csv_framework, csv_import, services
from portfolio.frameworks.forms import (
    CompetencyForm,
    EditorState,
    FrameworkForm,
    ImportCaseForm,
    ImportCaseUrlForm,
    ImportFrameworkCsvForm,
    ImportRubricCsvForm,
    RubricForm,
    UpdateFromSourceForm,
    apply_action,
    state_from_form,
    state_from_version,
    state_to_input,
)
from portfolio.frameworks.models import Competency, Framework, Rubric, RubricVersion

bp = Blueprint("frameworks", __name__)


def _admin_org(slug: str) -> Organization:
    return admin_org(current_user, slug)


def _fail(exc: DomainError) -> None:
    finish_failed(exc)
    flash(exc.message, "error")


# -- frameworks ---------------------------------------------------------------------------------
@bp.get("/o/<slug>/frameworks")
def list_frameworks(slug: str) -> str:
    """The organization's frameworks."""
    org = _admin_org(slug)
    return render_template(
        "frameworks/list.html", org=org, frameworks=services.list_frameworks(org)
    )


@bp.route("/o/<slug>/frameworks/new", methods=["GET", "POST"])
def create_framework(slug: str) -> Response | str:
    """Start an empty framework."""
    org = _admin_org(slug)
    form = FrameworkForm()
    if form.validate_on_submit():
        try:
            fw = services.create_framework(
                current_user,
                org,
                title=form.title.data or "",
                version=form.version.data or "",
                description=form.description.data or "",
                source_url=form.source_url.data or "",
            )
        except DomainError as exc:
            _fail(exc)
        else:
            commit()
            flash("Framework created. Add its competencies.", "success")
            return redirect(url_for("frameworks.show_framework", slug=slug, fid=fw.public_id))
    return render_template("frameworks/framework_form.html", org=org, form=form, framework=None)


@dataclass
class TreeView:
    """What a framework page shows of the tree: one branch, where it is, and a search."""

    branch: services.TreeBranch
    #: From the top level down to the branch's parent (None where a long path is shortened).
    path: list[Competency | None]
    #: How deep the branch's competencies are (0 = top level).
    depth: int
    query: str
    found: list[Competency] | None
    total: int
    #: Where the branch's links lead: the page, the fragment, a competency ("CID" in it).
    urls: dict[str, str]


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


def _tree_urls(fw: Framework, org: Organization | None) -> dict[str, str]:
    if org is None:
        return {
            "page": url_for("frameworks.public_framework", fid=fw.public_id),
            "fragment": url_for("frameworks.public_tree_fragment", fid=fw.public_id),
            "open": url_for("frameworks.public_competency", fid=fw.public_id, cid="CID"),
            "below": "",
        }
    slug, fid = org.slug, fw.public_id
    return {
        "page": url_for("frameworks.show_framework", slug=slug, fid=fid),
        "fragment": url_for("frameworks.tree_fragment", slug=slug, fid=fid),
        "open": url_for("frameworks.edit_competency", slug=slug, fid=fid, cid="CID"),
        "below": url_for("frameworks.show_framework", slug=slug, fid=fid, under="CID"),
    }


def _tree_view(org: Organization, fw: Framework, *, admin: bool = True) -> TreeView:
    """The branch asked for with `?at=` (a competency's public id; the top level without it),
    its page (`?page=`), and the matches of `?q=` within the framework."""
    parent = services.get_competency(fw, request.args["at"]) if request.args.get("at") else None
    path: list[Competency | None] = []
    depth = 0
    if parent is not None:
        path, depth = services.ancestors(fw, parent)
        depth += 1
    query = request.args.get("q", "").strip()[:200]
    found = services.search_competencies(org, query, framework=fw, limit=50) if query else None
    if found:
        # Their parents in one query (a match links to its place in the tree).
        services.competencies_by_ids(org, [c.parent_id for c in found if c.parent_id])
    return TreeView(
        branch=services.tree_branch(fw, parent, page=_page_arg()),
        path=path,
        depth=depth,
        query=query,
        found=found,
        total=services.count_competencies(fw),
        urls=_tree_urls(fw, org if admin else None),
    )


@bp.get("/o/<slug>/frameworks/<fid>")
def show_framework(slug: str, fid: str) -> str:
    """A framework's competency tree a branch at a time (`?at=`, `?page=`), a search within it
    (`?q=`), and a form to add a competency (under the one chosen with `?under=`)."""
    org = _admin_org(slug)
    fw = services.get_framework(org, fid)
    form = CompetencyForm()
    under = None
    if request.args.get("under"):
        under = services.get_competency(fw, request.args["under"])
        form.parent.data = under.public_id
    rubrics = db.session.scalars(select(Rubric).where(Rubric.framework_id == fw.id)).all()
    return render_template(
        "frameworks/show.html",
        org=org,
        framework=fw,
        form=form,
        under=under,
        tree=_tree_view(org, fw),
        rubrics=rubrics,
        delete_form=EmptyForm(),
        source_form=EmptyForm(),
    )


@bp.get("/o/<slug>/frameworks/<fid>/tree")
def tree_fragment(slug: str, fid: str) -> str:
    """One branch of the tree as an HTML fragment, for the page's script to insert when a
    branch is opened (`?at=`, `?page=`); the page itself works without it."""
    org = _admin_org(slug)
    fw = services.get_framework(org, fid)
    return render_template(
        "frameworks/_tree_fragment.html", org=org, framework=fw, tree=_tree_view(org, fw)
    )


@bp.route("/o/<slug>/frameworks/<fid>/edit", methods=["GET", "POST"])
def edit_framework(slug: str, fid: str) -> Response | str:
    """Change a framework's title, version, description and source."""
    org = _admin_org(slug)
    fw = services.get_framework(org, fid)
    form = FrameworkForm(obj=fw)
    if form.validate_on_submit():
        try:
            services.update_framework(
                current_user,
                fw,
                title=form.title.data or "",
                version=form.version.data or "",
                description=form.description.data or "",
                source_url=form.source_url.data or "",
            )
        except DomainError as exc:
            _fail(exc)
        else:
            commit()
            flash("Framework saved.", "success")
            return redirect(url_for("frameworks.show_framework", slug=slug, fid=fw.public_id))
    return render_template("frameworks/framework_form.html", org=org, form=form, framework=fw)


@bp.post("/o/<slug>/frameworks/<fid>/delete")
def delete_framework(slug: str, fid: str) -> Response:
    """Delete a framework and its competencies."""
    org = _admin_org(slug)
    fw = services.get_framework(org, fid)
    if EmptyForm().validate_on_submit():
        try:
            services.delete_framework(current_user, fw)
        except DomainError as exc:
            rollback()
            flash(exc.message, "error")
            return redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))
        commit()
        flash("Framework deleted.", "success")
    return redirect(url_for("frameworks.list_frameworks", slug=slug))


@bp.post("/o/<slug>/frameworks/<fid>/competencies")
def add_competency(slug: str, fid: str) -> Response:
    """Add a competency to the tree."""
    org = _admin_org(slug)
    fw = services.get_framework(org, fid)
    form = CompetencyForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    else:
        parent = services.get_competency(fw, form.parent.data) if form.parent.data else None
        try:
            services.add_competency(
                current_user,
                fw,
                statement=form.statement.data or "",
                code=form.code.data or "",
                description=form.description.data or "",
                parent=parent,
            )
        except DomainError as exc:
            _fail(exc)
        else:
            commit()
            flash("Competency added.", "success")
            if parent is not None:  # to the branch it was added to
                return redirect(
                    url_for("frameworks.show_framework", slug=slug, fid=fid, at=parent.public_id)
                    + "#tree-h"
                )
    return redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))


@bp.route("/o/<slug>/frameworks/<fid>/competencies/<cid>/edit", methods=["GET", "POST"])
def edit_competency(slug: str, fid: str, cid: str) -> Response | str:
    """Change a competency."""
    org = _admin_org(slug)
    fw = services.get_framework(org, fid)
    comp = services.get_competency(fw, cid)
    form = CompetencyForm(obj=comp)
    del form.parent
    if form.validate_on_submit():
        try:
            services.update_competency(
                current_user,
                comp,
                statement=form.statement.data or "",
                code=form.code.data or "",
                description=form.description.data or "",
            )
        except DomainError as exc:
            _fail(exc)
        else:
            commit()
            flash("Competency saved.", "success")
            return redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))
    return render_template(
        "frameworks/competency_form.html",
        org=org,
        framework=fw,
        competency=comp,
        form=form,
        relations=services.competency_relations(comp),
        delete_form=EmptyForm(),
    )


@bp.post("/o/<slug>/frameworks/<fid>/competencies/<cid>/delete")
def delete_competency(slug: str, fid: str, cid: str) -> Response:
    """Delete a competency and everything under it."""
    org = _admin_org(slug)
    fw = services.get_framework(org, fid)
    comp = services.get_competency(fw, cid)
    if EmptyForm().validate_on_submit():
        try:
            deleted = services.delete_competency(current_user, comp)
        except DomainError as exc:
            rollback()
            flash(exc.message, "error")
            return redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))
        commit()
        below = f" with {deleted - 1} listed only below it" if deleted > 1 else ""
        flash(f"Competency deleted{below}.", "success")
    return redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))


@bp.route("/o/<slug>/frameworks/import", methods=["GET", "POST"])
def import_case(slug: str) -> Response | str:
    """Import a CASE package (framework and rubric drafts); all or nothing."""
    org = _admin_org(slug)
    form = ImportCaseForm()
    problems: list[case.ImportProblem] = []
    duplicate = None
    if form.validate_on_submit():
        upload = form.package.data
        filename = (upload.filename or "package.json").rsplit("/", 1)[-1][:200]
        try:
            result = case.import_case_package(
                current_user,
                org,
                upload.read(),
                filename,
                update_existing=bool(form.update_existing.data),
            )
        except case.CsvGiven as exc:
            rollback()
            flash(exc.message, "info")
            return redirect(url_for("frameworks.import_framework_csv", slug=slug))
        except case.ImportFailed as exc:
            rollback()
            problems = exc.problems
        except case.DuplicateImport as exc:
            rollback()
            duplicate = exc
        except DomainError as exc:
            _fail(exc)
        else:
            return _imported(slug, result)
    return render_template(
        "frameworks/import_case.html",
        org=org,
        form=form,
        url_form=ImportCaseUrlForm(),
        problems=problems,
        duplicate=duplicate,
    )


def _imported(slug: str, result: case.ImportResult) -> Response:
    commit()
    verb = "updated" if result.updated else "imported"
    flash(
        f"“{result.framework.title}” {verb}: {len(result.framework.competencies)} "
        f"competencies, {len(result.framework.associations)} associations, "
        f"{len(result.rubrics)} rubric draft(s).",
        "success",
    )
    for note in result.notes:
        flash(note, "warning")
    return redirect(url_for("frameworks.show_framework", slug=slug, fid=result.framework.public_id))


def _allow_private() -> bool:
    cfg = current_app.config["PORTFOLIO"]
    return bool(cfg.case_fetch_allow_private) and not cfg.is_production


@bp.route("/o/<slug>/frameworks/import-url", methods=["GET", "POST"])
def import_case_url(slug: str) -> Response | str:
    """Fetch a CASE package from a provider's URL and import it; all or nothing. (GET, so the
    address is not taken for a framework's page, leads to the import page.)"""
    org = _admin_org(slug)
    if request.method == "GET":
        return redirect(url_for("frameworks.import_case", slug=slug) + "#url-h")
    form = ImportCaseUrlForm()
    problems: list[case.ImportProblem] = []
    duplicate = None
    if form.validate_on_submit():
        url = (form.url.data or "").strip()
        try:
            fetched = case_fetch.fetch_package(url, allow_private=_allow_private())
            result = case.import_case_package(
                current_user,
                org,
                fetched.body,
                url.rsplit("/", 1)[-1][:200] or url,
                package_url=url,
            )
        except case.ImportFailed as exc:
            rollback()
            problems = exc.problems
        except case.DuplicateImport as exc:
            rollback()
            duplicate = exc
        except DomainError as exc:
            _fail(exc)
        else:
            return _imported(slug, result)
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    return render_template(
        "frameworks/import_case.html",
        org=org,
        form=ImportCaseForm(),
        url_form=form,
        problems=problems,
        duplicate=duplicate,
    )


@bp.route("/o/<slug>/frameworks/<fid>/update-from-source", methods=["GET", "POST"])
def update_from_source(slug: str, fid: str) -> Response | str:
    """Fetch the framework's CASE package again, show what would change, apply on request.

    The form carries the SHA-256 of the package shown; if the source changed in between, the
    new differences are shown instead of applying something the admin has not seen.
    """
    org = _admin_org(slug)
    fw = services.get_framework(org, fid)
    back = redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))
    # Only a package URL the framework was fetched from: officialSourceURL is a web page.
    url = fw.case_package_url
    if not url:
        flash(
            "This framework was not fetched from a URL, so there is no source to update from.",
            "error",
        )
        return back
    try:
        fetched = case_fetch.fetch_package(url, allow_private=_allow_private())
        pkg = case.parse_case_package(fetched.body, url.rsplit("/", 1)[-1][:200] or url)
    except case.ImportFailed as exc:
        return render_template(
            "frameworks/update_diff.html",
            org=org,
            framework=fw,
            url=url,
            problems=exc.problems,
            diff=None,
            form=UpdateFromSourceForm(),
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return back
    digest = hashlib.sha256(fetched.body).hexdigest()
    form = UpdateFromSourceForm()
    if pkg.identifier != fw.case_identifier:
        flash(
            "The package at the source is another framework (CASE identifier "
            f"{pkg.identifier}); nothing was changed.",
            "error",
        )
        return back
    if request.method == "POST" and form.validate_on_submit():
        if form.sha256.data == digest:
            try:
                result = case.write_package(
                    current_user, org, pkg, url, update_existing=True, package_url=url
                )
            except DomainError as exc:
                _fail(exc)
                return back
            return _imported(slug, result)
        flash(
            "The package at the source changed since you looked; check the changes again.",
            "warning",
        )
    form.sha256.data = digest
    return render_template(
        "frameworks/update_diff.html",
        org=org,
        framework=fw,
        url=url,
        problems=[],
        diff=case.diff_package(fw, pkg),
        form=form,
    )


@bp.route("/o/<slug>/frameworks/import-csv", methods=["GET", "POST"])
def import_framework_csv(slug: str) -> Response | str:
    """Create a framework from a spreadsheet saved as CSV, or update one (`?into=` chooses
    it): an update first shows what would change and applies only when the same file is sent
    again with the digest of what was shown. All or nothing."""
    org = _admin_org(slug)
    form = ImportFrameworkCsvForm()
    form.framework.choices = [("", "A new framework")] + [
        (f.public_id, f"Update “{f.title}”") for f in services.list_frameworks(org)
    ]
    if request.method == "GET" and request.args.get("into"):
        form.framework.data = services.get_framework(org, request.args["into"]).public_id
    problems: list[case.ImportProblem] = []
    diff = None
    target = None
    if form.validate_on_submit():
        upload = form.csv_file.data
        filename = (upload.filename or "framework.csv").rsplit("/", 1)[-1][:200]
        raw = upload.read()
        title = (form.title.data or "").strip()
        try:
            if form.framework.data:
                target = services.get_framework(org, form.framework.data)
                pkg, diff = csv_framework.preview_framework_csv_update(
                    current_user, target, raw, filename, title=title
                )
                digest = hashlib.sha256(raw).hexdigest()
                if form.sha256.data == digest and not diff.is_empty:
                    return _imported(
                        slug,
                        csv_framework.update_framework_csv(current_user, target, pkg, filename),
                    )
                if form.sha256.data and form.sha256.data != digest:
                    flash(
                        "This is not the file whose changes were shown; check these changes.",
                        "warning",
                    )
                form.sha256.data = digest
            elif not title:
                flash("A new framework needs a title.", "error")
            else:
                result = csv_framework.import_framework_csv(
                    current_user, org, raw, filename, title=title
                )
                return _imported(slug, result)
        except case.ImportFailed as exc:
            rollback()
            problems = exc.problems
            diff = None
        except DomainError as exc:
            _fail(exc)
            diff = None
    return render_template(
        "frameworks/import_framework_csv.html",
        org=org,
        form=form,
        problems=problems,
        columns=csv_framework.COLUMNS,
        diff=diff,
        target=target,
    )


@bp.get("/o/<slug>/frameworks/<fid>/framework.csv")
def export_framework_csv(slug: str, fid: str) -> Response:
    """The framework as a CSV spreadsheet (a download)."""
    org = _admin_org(slug)
    fw = services.get_framework(org, fid)
    response = Response(csv_framework.export_framework_csv(fw), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="framework-{fw.public_id}.csv"'
    return response


@bp.get("/o/<slug>/frameworks/<fid>/case.json")
def export_case(slug: str, fid: str) -> Response:
    """The framework and its rubrics as a CASE package (a download)."""
    org = _admin_org(slug)
    fw = services.get_framework(org, fid)
    body = json.dumps(case.export_case_package(fw), indent=2, ensure_ascii=False)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="framework-{fw.public_id}-case.json"'
    )
    return response


# -- public competency pages ---------------------------------------------------------------------
def _wants_json() -> bool:
    if request.args.get("format") == "json":
        return True
    best = request.accept_mimetypes.best_match(
        ["text/html", "application/json", "application/ld+json"]
    )
    return best in {"application/json", "application/ld+json"}


@bp.get("/frameworks/<fid>")
@public
def public_framework(fid: str) -> str:
    """A framework's competencies for anyone (credentials align to them)."""
    fw = services.get_public_framework(fid)
    return render_template(
        "frameworks/public_framework.html",
        org=None,
        framework=fw,
        tree=_tree_view(_org_of(fw), fw, admin=False),
    )


@bp.get("/frameworks/<fid>/tree")
@public
def public_tree_fragment(fid: str) -> str:
    """One branch of a public framework's tree as an HTML fragment (see `tree_fragment`)."""
    fw = services.get_public_framework(fid)
    return render_template(
        "frameworks/_tree_fragment.html",
        org=None,
        framework=fw,
        tree=_tree_view(_org_of(fw), fw, admin=False),
    )


def _org_of(fw: Framework) -> Organization:
    org = db.session.get(Organization, fw.organization_id)
    if org is None:
        raise NotFound("No such framework.")
    return org


@bp.get("/frameworks/<fid>/competencies/<cid>")
@public
def public_competency(fid: str, cid: str) -> Response | str:
    """One competency for anyone: HTML, or its CASE CFItem as JSON (Accept: application/json
    or ?format=json)."""
    fw = services.get_public_framework(fid)
    comp = services.get_competency(fw, cid)
    if _wants_json():
        response = Response(
            json.dumps(case.export_item(comp), indent=2, ensure_ascii=False),
            mimetype="application/json",
        )
    else:
        response = Response(
            render_template(
                "frameworks/public_competency.html",
                framework=fw,
                competency=comp,
                relations=services.competency_relations(comp),
                fields=services.item_fields(comp),
            )
        )
    response.headers["Vary"] = "Accept"
    return response


# -- rubrics -------------------------------------------------------------------------------------
@bp.get("/o/<slug>/rubrics")
def list_rubrics(slug: str) -> str:
    """The organization's rubrics and their versions."""
    org = _admin_org(slug)
    return render_template("frameworks/rubrics.html", org=org, rubrics=services.list_rubrics(org))


def _framework_choices(org: Organization) -> list[tuple[str, str]]:
    return [("", "None")] + [(f.public_id, f.title) for f in services.list_frameworks(org)]


@bp.route("/o/<slug>/rubrics/new", methods=["GET", "POST"])
def create_rubric(slug: str) -> Response | str:
    """Start a rubric (a first draft version with the default levels)."""
    org = _admin_org(slug)
    form = RubricForm()
    form.framework.choices = _framework_choices(org)
    if form.validate_on_submit():
        fw = services.get_framework(org, form.framework.data) if form.framework.data else None
        try:
            rubric = services.create_rubric(
                current_user,
                org,
                title=form.title.data or "",
                description=form.description.data or "",
                framework=fw,
            )
        except DomainError as exc:
            _fail(exc)
        else:
            commit()
            return redirect(
                url_for(
                    "frameworks.edit_version",
                    slug=slug,
                    rid=rubric.public_id,
                    vid=rubric.latest.public_id,
                )
            )
    return render_template("frameworks/rubric_form.html", org=org, form=form)


@bp.route("/o/<slug>/rubrics/import-csv", methods=["GET", "POST"])
def import_rubric_csv(slug: str) -> Response | str:
    """Create a rubric from a spreadsheet saved as CSV; all or nothing."""
    org = _admin_org(slug)
    form = ImportRubricCsvForm()
    form.framework.choices = _framework_choices(org)
    problems: list[case.ImportProblem] = []
    if form.validate_on_submit():
        fw = services.get_framework(org, form.framework.data) if form.framework.data else None
        upload = form.csv_file.data
        filename = (upload.filename or "rubric.csv").rsplit("/", 1)[-1][:200]
        try:
            rubric = csv_import.import_rubric_csv(
                current_user,
                org,
                upload.read(),
                filename,
                title=form.title.data or "",
                pass_level_name=(form.pass_level.data or "").strip(),
                framework=fw,
            )
        except case.ImportFailed as exc:
            rollback()
            problems = exc.problems
        except DomainError as exc:
            _fail(exc)
        else:
            commit()
            flash("Rubric imported as a draft. Check it and publish it.", "success")
            return redirect(
                url_for(
                    "frameworks.edit_version",
                    slug=slug,
                    rid=rubric.public_id,
                    vid=rubric.latest.public_id,
                )
            )
    return render_template("frameworks/import_csv.html", org=org, form=form, problems=problems)


@bp.get("/o/<slug>/rubrics/<rid>")
def show_rubric(slug: str, rid: str) -> str:
    """A rubric's versions, with the newest one shown."""
    org = _admin_org(slug)
    rubric = services.get_rubric(org, rid)
    return render_template(
        "frameworks/rubric.html",
        org=org,
        rubric=rubric,
        version=rubric.latest,
        form=EmptyForm(),
        is_locked=services.is_version_locked,
        pass_rule=services.describe_pass_rule,
    )


@bp.get("/o/<slug>/rubrics/<rid>/versions/<vid>")
def show_version(slug: str, rid: str, vid: str) -> str:
    """One version of a rubric, as a worker will see it."""
    org = _admin_org(slug)
    rubric = services.get_rubric(org, rid)
    version = services.get_version(rubric, vid)
    return render_template(
        "frameworks/preview.html",
        org=org,
        rubric=rubric,
        version=version,
        pass_rule=services.describe_pass_rule(version),
        problems=services.publication_problems(version),
        is_locked=services.is_version_locked(version),
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
        chosen=services.competencies_by_ids(org, _chosen_ids(state)),
        found=found or {},
        queries=queries or {},
        form=EmptyForm(),
        problems=services.publication_problems(version),
    ), status


@bp.route("/o/<slug>/rubrics/<rid>/versions/<vid>/edit", methods=["GET", "POST"])
def edit_version(slug: str, rid: str, vid: str) -> Response | str | tuple[str, int]:
    """The rubric editor: a grid of elements by levels, descriptors, pass rule.

    Every button posts the whole grid, so nothing typed is lost when adding, removing or
    moving a row or column. A locked version is never changed here.
    """
    org = _admin_org(slug)
    rubric = services.get_rubric(org, rid)
    version = services.get_version(rubric, vid)
    if services.is_version_locked(version):
        if request.method == "POST":
            services.require_unlocked(version)  # raises Conflict (409)
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
            found={key: services.search_competencies(org, query, framework=rubric.framework)},
            queries={key: query},
        )
    apply_action(state, action)
    competency_ids = set(services.competencies_by_ids(org, _chosen_ids(state)))
    try:
        services.save_version(current_user, version, state_to_input(state, competency_ids))
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
        version = services.get_version(services.get_rubric(org, rid), vid)
        return _render_editor(org, rubric, version, state, 422)
    commit()
    if action == "preview":
        return redirect(url_for("frameworks.show_version", slug=slug, rid=rid, vid=vid))
    if action == "save":
        flash("Rubric saved.", "success")
    return redirect(url_for("frameworks.edit_version", slug=slug, rid=rid, vid=vid) + "#grid")


@bp.post("/o/<slug>/rubrics/<rid>/versions/<vid>/publish")
def publish_version(slug: str, rid: str, vid: str) -> Response:
    """Freeze a draft version."""
    org = _admin_org(slug)
    rubric = services.get_rubric(org, rid)
    version = services.get_version(rubric, vid)
    if not EmptyForm().validate_on_submit():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(url_for("frameworks.show_rubric", slug=slug, rid=rid))
    services.require_unlocked(version)
    try:
        services.publish_version(current_user, version)
    except DomainError as exc:
        _fail(exc)
        return redirect(url_for("frameworks.show_version", slug=slug, rid=rid, vid=vid))
    commit()
    flash(f"Version {version.number} published. It can no longer change.", "success")
    return redirect(url_for("frameworks.show_rubric", slug=slug, rid=rid))


@bp.post("/o/<slug>/rubrics/<rid>/new-version")
def new_version(slug: str, rid: str) -> Response:
    """Start editing a published rubric: a new draft version copied from the latest."""
    org = _admin_org(slug)
    rubric = services.get_rubric(org, rid)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("frameworks.show_rubric", slug=slug, rid=rid))
    version = services.start_new_version(current_user, rubric)
    commit()
    return redirect(url_for("frameworks.edit_version", slug=slug, rid=rid, vid=version.public_id))
