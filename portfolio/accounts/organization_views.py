"""Organization administration: the issuer profile and logo, members and invitations.

Routes on the `accounts` blueprint of `portfolio.accounts.views` (endpoint names
`accounts.*`); registered by importing this module in `create_app`.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portfolio.accounts import organizations, registration
from portfolio.accounts.forms import InviteForm, OrganizationForm
from portfolio.accounts.members import members_page, open_invitations
from portfolio.accounts.models import Membership, Role
from portfolio.accounts.views import bp
from portfolio.core.forms import EmptyForm
from portfolio.core.security import public
from portfolio.core.views import run_service
from portfolio.extensions import db
from portfolio.storage import get_storage


@bp.route("/o/<slug>/settings", methods=["GET", "POST"])
def organization_settings(slug: str) -> Response | str:
    """The issuer profile: name, website, contact, description, logo, self-registration."""
    org = organizations.admin_org(current_user, slug)
    form = OrganizationForm(obj=org)
    if form.validate_on_submit():

        def save() -> None:
            organizations.update_organization(
                current_user,
                org,
                name=form.name.data,
                url=form.url.data,
                email=form.email.data,
                description=form.description.data or "",
                allows_self_registration=bool(form.allows_self_registration.data),
                linkedin_organization_id=form.linkedin_organization_id.data or "",
            )
            if form.logo.data:
                organizations.set_organization_logo(
                    current_user, org, form.logo.data.read(organizations.MAX_LOGO_BYTES + 1)
                )

        done = run_service(save, "Organization profile saved.", flash_error=False)
        if not done:
            form.logo.errors = [done.message]
        else:
            return redirect(url_for("accounts.organization_settings", slug=org.slug))
    return render_template("accounts/organization_settings.html", form=form, org=org)


@bp.get("/o/<slug>/logo")
@public
def organization_logo(slug: str) -> Response:
    """The organization's logo (public: it appears on badges)."""
    org = organizations.get_organization(slug)
    if not org.logo_key:
        abort(404)
    data = b"".join(get_storage().iter_chunks(org.logo_key))
    response = Response(data, mimetype=org.logo_content_type or "application/octet-stream")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/o/<slug>/members")
def members(slug: str) -> str:
    """Members (in keyset pages) and open invitations of an organization."""
    org = organizations.admin_org(current_user, slug)
    page = members_page(
        current_user,
        org,
        after=request.args.get("after") or None,
        before=request.args.get("before") or None,
    )
    invitations = open_invitations(current_user, org)
    return render_template(
        "accounts/members.html",
        org=org,
        memberships=page.rows,
        page=page,
        page_args={k: v for k, v in request.args.items() if k not in {"after", "before"}},
        invitations=invitations,
        form=InviteForm(),
        remove_form=EmptyForm(),
    )


@bp.post("/o/<slug>/members/invite")
def invite_member(slug: str) -> Response | str:
    """Send an invitation with a role."""
    org = organizations.admin_org(current_user, slug)
    form = InviteForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("accounts.members", slug=org.slug))
    done = run_service(
        lambda: registration.invite(current_user, org, form.email.data or "", Role(form.role.data)),
        f"Invitation sent to {form.email.data}.",
    )
    if done.value is not None:
        _, link = done.value
        if not current_app.config["PORTFOLIO"].smtp_host:
            flash(f"No mail server is configured; share this link yourself: {link}", "info")
    return redirect(url_for("accounts.members", slug=org.slug))


@bp.post("/o/<slug>/members/<int:membership_id>/remove")
def remove_member(slug: str, membership_id: int) -> Response:
    """Take a role away from a member."""
    org = organizations.admin_org(current_user, slug)
    if not EmptyForm().validate_on_submit():
        abort(400)
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.organization_id != org.id:
        abort(404)
    run_service(
        lambda: organizations.remove_membership(current_user, org, membership),
        "The role has been removed.",
    )
    return redirect(url_for("accounts.members", slug=org.slug))
