"""Pages to make and revoke API tokens: personal ones under the account, organization ones
under the organization's administration."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from portfolio.accounts import organizations, tokens
from portfolio.accounts.models import Organization
from portfolio.core.forms import EmptyForm
from portfolio.core.views import run_service

bp = Blueprint("tokens", __name__)


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CreateTokenForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired(), Length(max=100)],
        description="Where the token is used, e.g. “Student records sync”.",
    )
    scopes = _Checkboxes(
        "Scopes",
        choices=[SelectChoice(k, f"{k}: {v}") for k, v in tokens.SCOPES.items()],
        default=["read"],
    )
    days = IntegerField(
        "Valid for (days)",
        default=90,
        validators=[NumberRange(min=1, max=tokens.MAX_LIFETIME_DAYS)],
    )


def _create(form: CreateTokenForm, org: Organization | None) -> str | None:
    """Make the token from a valid form; its secret, or None after flashing what was wrong."""
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return None
    done = run_service(
        lambda: tokens.create_token(
            current_user,
            form.name.data or "",
            list(form.scopes.data or []),
            form.days.data or 0,
            org,
        )
    )
    return done.value[1] if done.value is not None else None


@bp.route("/account/tokens", methods=["GET", "POST"])
def personal_tokens() -> str:
    """The user's personal tokens; a new one's secret is shown on this page once."""
    form = CreateTokenForm()
    raw = _create(form, None) if form.is_submitted() else None
    return render_template(
        "tokens/tokens.html",
        org=None,
        form=CreateTokenForm(formdata=None) if raw else form,
        new_secret=raw,
        tokens=tokens.personal_tokens(current_user),
        revoke_form=EmptyForm(),
    )


@bp.route("/o/<slug>/tokens", methods=["GET", "POST"])
def organization_tokens(slug: str) -> str:
    """The organization's tokens (admins); a new one's secret is shown on this page once."""
    org = organizations.admin_org(current_user, slug, hidden=True)
    form = CreateTokenForm()
    raw = _create(form, org) if form.is_submitted() else None
    return render_template(
        "tokens/tokens.html",
        org=org,
        form=CreateTokenForm(formdata=None) if raw else form,
        new_secret=raw,
        tokens=tokens.organization_tokens(current_user, org),
        revoke_form=EmptyForm(),
    )


@bp.post("/tokens/<token_id>/revoke")
def revoke_token(token_id: str) -> Response:
    """Revoke a token the user manages."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    token = tokens.get_manageable_token(current_user, token_id)
    run_service(
        lambda: tokens.revoke_token(current_user, token), f"The token “{token.name}” is revoked."
    )
    if token.organization is not None:
        return redirect(url_for("tokens.organization_tokens", slug=token.organization.slug))
    return redirect(url_for("tokens.personal_tokens"))
