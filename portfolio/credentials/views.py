"""Credential administration and the public catalogue."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from portfolio.accounts.models import Organization, Role
from portfolio.accounts.organizations import admin_org, get_organization
from portfolio.core.forms import EmptyForm
from portfolio.core.security import public
from portfolio.core.views import run_service
from portfolio.credentials import services
from portfolio.credentials.forms import CredentialForm, parse_external_alignments
from portfolio.credentials.images import SVG_CSP
from portfolio.credentials.models import Credential, CredentialState
from portfolio.credentials.signals import credential_changing, credential_edit_context
from portfolio.frameworks.services import rubrics as rubric_services
from portfolio.frameworks.services import tree as tree_services
from portfolio.storage import get_storage

bp = Blueprint("credentials", __name__)


def _app() -> Flask:
    """The application object itself (the sender of this domain's signals)."""
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _prepare(form: CredentialForm, org: Organization, cred: Credential | None = None) -> None:
    form.rubric_version.choices = [("", "None yet")] + [
        (str(v.id), f"{v.rubric.title} (version {v.number})")
        for v in rubric_services.published_versions(org)
    ]
    # The competency picker offers what is chosen and what the search found, not everything.
    if form.is_submitted():
        ids = [int(c) for c in form.competencies.data or [] if str(c).isdigit()]
    else:
        ids = [a.competency_id for a in cred.alignments if a.competency_id] if cred else []
    chosen = tree_services.competencies_by_ids(org, ids)
    found = tree_services.search_competencies(org, form.competency_query.data or "")
    choices = [chosen[i] for i in ids if i in chosen]
    choices += [c for c in found if c.id not in chosen]
    form.competencies.choices = [
        (str(c.id), f"{c.framework.title}: {c.label[:90]}") for c in choices
    ]


@bp.app_template_global("credits_label")
def credits_label_global(value: float | None, unit: str | None) -> str | None:
    """A credit with its unit for templates, e.g. "1.5 credit hours"."""
    from portfolio.credentials.models import credits_label

    return credits_label(value, unit)


def _is_search() -> bool:
    return request.form.get("action") == "find_competencies"


def _input(form: CredentialForm) -> services.CredentialInput:
    return services.CredentialInput(
        name=form.name.data or "",
        description=form.description.data or "",
        criteria_md=form.criteria_md.data or "",
        tags=[t for t in (form.tags.data or "").split(",") if t.strip()],
        rubric_version_id=int(form.rubric_version.data) if form.rubric_version.data else None,
        expiry_months=form.expiry_months.data,
        max_attempts=form.max_attempts.data,
        credits_available=(
            float(form.credits_available.data) if form.credits_available.data is not None else None
        ),
        credits_unit=form.credits_unit.data or "",
        competency_ids=[int(c) for c in form.competencies.data or []],
        external=parse_external_alignments(form.external_alignments.data or ""),
    )


def _save(form: CredentialForm, org: Organization, cred: Credential | None) -> Credential | None:
    def save() -> Credential:
        saved = cred
        if saved is None:
            saved = services.create_credential(current_user, org, _input(form))
        else:
            # Badges already issued keep what they were issued with.
            credential_changing.send(_app(), credential=saved)
            services.update_credential(current_user, saved, _input(form))
        if form.image.data:
            services.set_credential_image(current_user, saved, form.image.data.read())
        return saved

    return run_service(save).value


@bp.get("/o/<slug>/credentials")
def list_credentials(slug: str) -> str:
    """The organization's credentials in every state."""
    org = admin_org(current_user, slug)
    return render_template(
        "credentials/list.html", org=org, credentials=services.list_credentials(org)
    )


@bp.route("/o/<slug>/credentials/new", methods=["GET", "POST"])
def create_credential(slug: str) -> Response | str:
    """Create a draft credential."""
    org = admin_org(current_user, slug)
    form = CredentialForm()
    _prepare(form, org)
    if _is_search():
        form.validate_on_submit()
    elif form.validate_on_submit() and (cred := _save(form, org, None)) is not None:
        flash("Credential saved as a draft.", "success")
        return redirect(url_for("credentials.show_credential", slug=slug, cid=cred.public_id))
    return render_template("credentials/form.html", org=org, form=form, credential=None)


@bp.get("/o/<slug>/credentials/<cid>")
def show_credential(slug: str, cid: str) -> str:
    """A credential as its admins see it, with publish and archive buttons."""
    org = admin_org(current_user, slug)
    cred = services.get_credential(org, cid)
    version = cred.rubric_version
    return render_template(
        "credentials/show.html",
        org=org,
        credential=cred,
        form=EmptyForm(),
        problems=services.publication_problems(cred),
        pass_rule=rubric_services.describe_pass_rule(version) if version else "",
    )


@bp.route("/o/<slug>/credentials/<cid>/edit", methods=["GET", "POST"])
def edit_credential(slug: str, cid: str) -> Response | str:
    """Edit a credential."""
    org = admin_org(current_user, slug)
    cred = services.get_credential(org, cid)
    form = CredentialForm(obj=cred)
    _prepare(form, org, cred)
    if not form.is_submitted():
        form.tags.data = ", ".join(cred.tag_names)
        form.rubric_version.data = str(cred.rubric_version_id or "")
        form.competencies.data = [str(a.competency_id) for a in cred.alignments if a.competency_id]
        form.external_alignments.data = "\n".join(
            " | ".join([a.target_name, a.target_url, a.target_framework, a.target_code]).rstrip(
                " |"
            )
            for a in cred.alignments
            if a.competency_id is None
        )
    if _is_search():
        form.validate_on_submit()
    elif form.validate_on_submit() and _save(form, org, cred) is not None:
        flash("Credential saved.", "success")
        return redirect(url_for("credentials.show_credential", slug=slug, cid=cid))
    # What other domains say about editing it (awards: how many issued badges a save freezes).
    context: dict[str, object] = {}
    for _receiver, values in credential_edit_context.send(_app(), credential=cred):
        context.update(values or {})
    return render_template("credentials/form.html", org=org, form=form, credential=cred, **context)


@bp.post("/o/<slug>/credentials/<cid>/<any(publish, archive, restore):verb>")
def change_state(slug: str, cid: str, verb: str) -> Response:
    """Publish, archive or restore a credential."""
    org = admin_org(current_user, slug)
    cred = services.get_credential(org, cid)
    if not EmptyForm().validate_on_submit():
        abort(400)
    action = {
        "publish": services.publish_credential,
        "archive": services.archive_credential,
        "restore": services.restore_credential,
    }[verb]
    run_service(
        lambda: action(current_user, cred),
        {
            "publish": "Published: it is now in the public catalogue.",
            "archive": "Archived: it is no longer offered.",
            "restore": "Restored as a draft.",
        }[verb],
    )
    return redirect(url_for("credentials.show_credential", slug=slug, cid=cid))


@bp.get("/o/<slug>/credentials/<cid>/image")
@public
def credential_image(slug: str, cid: str) -> Response:
    """The badge image: public for published credentials, admins only otherwise."""
    org = get_organization(slug)
    cred = services.get_credential(org, cid)
    if cred.state != CredentialState.PUBLISHED and not (
        current_user.is_authenticated and current_user.has_role(org.id, Role.ADMIN)
    ):
        abort(404)
    if not cred.image_key:
        abort(404)
    data = b"".join(get_storage().iter_chunks(cred.image_key))
    response = Response(data, mimetype=cred.image_content_type or "application/octet-stream")
    if cred.image_content_type == "image/svg+xml":
        # Cleaned on upload; the sandbox stops any script even if the file is opened directly.
        response.headers["Content-Security-Policy"] = SVG_CSP
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# -- public catalogue ---------------------------------------------------------------------------
@bp.get("/o/<slug>/catalogue")
@public
def catalogue(slug: str) -> str:
    """Anyone can browse an organization's published credentials."""
    org = get_organization(slug)
    return render_template(
        "credentials/catalogue.html", org=org, credentials=services.published_credentials(org)
    )


@bp.get("/o/<slug>/catalogue/<cid>")
@public
def catalogue_credential(slug: str, cid: str) -> str:
    """A published credential with its full rubric, readable before starting."""
    org = get_organization(slug)
    cred = services.get_published_credential(org, cid)
    version = cred.rubric_version
    return render_template(
        "credentials/catalogue_credential.html",
        org=org,
        credential=cred,
        version=version,
        pass_rule=rubric_services.describe_pass_rule(version) if version else "",
    )
