"""Admin pages that bring frameworks in (a CASE package by upload or URL, an update from the
source, a CSV spreadsheet) and take them out (CASE JSON, CSV)."""

from __future__ import annotations

import hashlib
import json

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portfolio.core.errors import DomainError
from portfolio.core.views import run_service
from portfolio.frameworks import case_fetch, csv_framework, csv_framework_export
from portfolio.frameworks.case import diff as case_diff
from portfolio.frameworks.case import export as case_export
from portfolio.frameworks.case import importer as case_importer
from portfolio.frameworks.case import package as case_package
from portfolio.frameworks.case import parse as case_parse
from portfolio.frameworks.forms import (
    ImportCaseForm,
    ImportCaseUrlForm,
    ImportFrameworkCsvForm,
    UpdateFromSourceForm,
)
from portfolio.frameworks.services import frameworks as framework_services
from portfolio.frameworks.views import bp
from portfolio.frameworks.views.common import admin_org_for


def _imported_message(result: case_importer.ImportResult) -> str:
    verb = "updated" if result.updated else "imported"
    return (
        f"“{result.framework.title}” {verb}: {len(result.framework.competencies)} "
        f"competencies, {len(result.framework.associations)} associations, "
        f"{len(result.rubrics)} rubric draft(s)."
    )


def _imported(slug: str, result: case_importer.ImportResult) -> Response:
    """After a committed import: its notes, and the framework's page."""
    for note in result.notes:
        flash(note, "warning")
    return redirect(url_for("frameworks.show_framework", slug=slug, fid=result.framework.public_id))


def _refusal(
    error: DomainError | None,
) -> tuple[list[case_package.ImportProblem], case_package.DuplicateImport | None]:
    """What the page shows of a refused import: its problems, the duplicate it found, or (for
    any other refusal) a flashed message."""
    if isinstance(error, case_package.ImportFailed):
        return error.problems, None
    if isinstance(error, case_package.DuplicateImport):
        return [], error
    if error is not None:
        flash(error.message, "error")
    return [], None


def _allow_private() -> bool:
    cfg = current_app.config["PORTFOLIO"]
    return bool(cfg.case_fetch_allow_private) and not cfg.is_production


@bp.route("/o/<slug>/frameworks/import", methods=["GET", "POST"])
def import_case(slug: str) -> Response | str:
    """Import a CASE package (framework and rubric drafts); all or nothing."""
    org = admin_org_for(slug)
    form = ImportCaseForm()
    problems: list[case_package.ImportProblem] = []
    duplicate = None
    if form.validate_on_submit():
        upload = form.package.data
        filename = (upload.filename or "package.json").rsplit("/", 1)[-1][:200]
        done = run_service(
            lambda: case_importer.import_case_package(
                current_user,
                org,
                upload.read(),
                filename,
                update_existing=bool(form.update_existing.data),
            ),
            _imported_message,
            flash_error=False,
        )
        if done.value is not None:
            return _imported(slug, done.value)
        if isinstance(done.error, case_parse.CsvGiven):
            flash(done.error.message, "info")
            return redirect(url_for("frameworks.import_framework_csv", slug=slug))
        problems, duplicate = _refusal(done.error)
    return render_template(
        "frameworks/import_case.html",
        org=org,
        form=form,
        url_form=ImportCaseUrlForm(),
        problems=problems,
        duplicate=duplicate,
    )


@bp.route("/o/<slug>/frameworks/import-url", methods=["GET", "POST"])
def import_case_url(slug: str) -> Response | str:
    """Fetch a CASE package from a provider's URL and import it; all or nothing. (GET, so the
    address is not taken for a framework's page, leads to the import page.)"""
    org = admin_org_for(slug)
    if request.method == "GET":
        return redirect(url_for("frameworks.import_case", slug=slug) + "#url-h")
    form = ImportCaseUrlForm()
    problems: list[case_package.ImportProblem] = []
    duplicate = None
    if form.validate_on_submit():
        url = (form.url.data or "").strip()

        def fetch_and_import() -> case_importer.ImportResult:
            fetched = case_fetch.fetch_package(url, allow_private=_allow_private())
            return case_importer.import_case_package(
                current_user,
                org,
                fetched.body,
                url.rsplit("/", 1)[-1][:200] or url,
                package_url=url,
            )

        done = run_service(fetch_and_import, _imported_message, flash_error=False)
        if done.value is not None:
            return _imported(slug, done.value)
        problems, duplicate = _refusal(done.error)
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
    org = admin_org_for(slug)
    fw = framework_services.get_framework(org, fid)
    back = redirect(url_for("frameworks.show_framework", slug=slug, fid=fid))
    # Only a package URL the framework was fetched from: officialSourceURL is a web page.
    url = fw.case_package_url
    if not url:
        flash(
            "This framework was not fetched from a URL, so there is no source to update from.",
            "error",
        )
        return back
    source = url

    def fetch_and_parse() -> tuple[bytes, case_package.CasePackage]:
        fetched = case_fetch.fetch_package(source, allow_private=_allow_private())
        name = source.rsplit("/", 1)[-1][:200] or source
        return fetched.body, case_parse.parse_case_package(fetched.body, name)

    read = run_service(fetch_and_parse, flash_error=False)
    if read.value is None:
        if isinstance(read.error, case_package.ImportFailed):
            return render_template(
                "frameworks/update_diff.html",
                org=org,
                framework=fw,
                url=url,
                problems=read.error.problems,
                diff=None,
                form=UpdateFromSourceForm(),
            )
        flash(read.message, "error")
        return back
    body, pkg = read.value
    digest = hashlib.sha256(body).hexdigest()
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
            done = run_service(
                lambda: case_importer.write_package(
                    current_user, org, pkg, source, update_existing=True, package_url=source
                ),
                _imported_message,
            )
            if done.value is None:
                return back
            return _imported(slug, done.value)
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
        diff=case_diff.diff_package(fw, pkg),
        form=form,
    )


@bp.route("/o/<slug>/frameworks/import-csv", methods=["GET", "POST"])
def import_framework_csv(slug: str) -> Response | str:
    """Create a framework from a spreadsheet saved as CSV, or update one (`?into=` chooses
    it): an update first shows what would change and applies only when the same file is sent
    again with the digest of what was shown. All or nothing."""
    org = admin_org_for(slug)
    form = ImportFrameworkCsvForm()
    form.framework.choices = [("", "A new framework")] + [
        (f.public_id, f"Update “{f.title}”") for f in framework_services.list_frameworks(org)
    ]
    if request.method == "GET" and request.args.get("into"):
        form.framework.data = framework_services.get_framework(org, request.args["into"]).public_id
    problems: list[case_package.ImportProblem] = []
    diff = None
    target = None
    if form.validate_on_submit():
        upload = form.csv_file.data
        filename = (upload.filename or "framework.csv").rsplit("/", 1)[-1][:200]
        raw = upload.read()
        title = (form.title.data or "").strip()
        if form.framework.data:
            fw = target = framework_services.get_framework(org, form.framework.data)
            preview = run_service(
                lambda: csv_framework.preview_framework_csv_update(
                    current_user, fw, raw, filename, title=title
                ),
                flash_error=False,
            )
            if preview.value is None:
                problems, _ = _refusal(preview.error)
            else:
                pkg, diff = preview.value
                digest = hashlib.sha256(raw).hexdigest()
                if form.sha256.data == digest and not diff.is_empty:
                    done = run_service(
                        lambda: csv_framework.update_framework_csv(current_user, fw, pkg, filename),
                        _imported_message,
                        flash_error=False,
                    )
                    if done.value is not None:
                        return _imported(slug, done.value)
                    problems, _ = _refusal(done.error)
                    diff = None
                else:
                    if form.sha256.data and form.sha256.data != digest:
                        flash(
                            "This is not the file whose changes were shown; check these changes.",
                            "warning",
                        )
                    form.sha256.data = digest
        elif not title:
            flash("A new framework needs a title.", "error")
        else:
            done = run_service(
                lambda: csv_framework.import_framework_csv(
                    current_user, org, raw, filename, title=title
                ),
                _imported_message,
                flash_error=False,
            )
            if done.value is not None:
                return _imported(slug, done.value)
            problems, _ = _refusal(done.error)
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
    org = admin_org_for(slug)
    fw = framework_services.get_framework(org, fid)
    response = Response(csv_framework_export.export_framework_csv(fw), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="framework-{fw.public_id}.csv"'
    return response


@bp.get("/o/<slug>/frameworks/<fid>/case.json")
def export_case(slug: str, fid: str) -> Response:
    """The framework and its rubrics as a CASE package (a download)."""
    org = admin_org_for(slug)
    fw = framework_services.get_framework(org, fid)
    body = json.dumps(case_export.export_case_package(fw), indent=2, ensure_ascii=False)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="framework-{fw.public_id}-case.json"'
    )
    return response
