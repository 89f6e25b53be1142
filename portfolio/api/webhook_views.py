"""Admin pages for an organization's webhooks: endpoints, their secrets, the delivery log and
"send again". Each change commits through `run_service`."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectMultipleField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from portfolio.accounts import organizations
from portfolio.api import webhooks
from portfolio.core.errors import DomainError
from portfolio.core.forms import EmptyForm
from portfolio.core.views import run_service

bp = Blueprint("webhooks", __name__)


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AddWebhookForm(FlaskForm):
    url = URLField("Receiver URL", validators=[DataRequired(), Length(max=2000)])
    events = _Checkboxes(
        "Events",
        choices=[SelectChoice(e, e) for e in webhooks.EVENT_TYPES],
        default=list(webhooks.EVENT_TYPES),
    )


def _error_page(exc: DomainError) -> bool:
    """A refusal of "send again" or "remove" (no such delivery) is answered by its error page,
    not flashed."""
    return True


@bp.route("/o/<slug>/webhooks", methods=["GET", "POST"])
def list_webhooks(slug: str) -> Response | str:
    """The organization's endpoints, and a form to add one."""
    org = organizations.admin_org(current_user, slug, hidden=True)
    form = AddWebhookForm()
    if form.validate_on_submit():
        done = run_service(
            lambda: webhooks.add_endpoint(
                current_user, org, form.url.data or "", list(form.events.data or [])
            ),
            "The webhook is registered. Its signing secret is on its page.",
        )
        if done:
            assert done.value is not None
            return redirect(url_for("webhooks.show_webhook", slug=slug, wid=done.value.public_id))
    elif form.is_submitted():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    return render_template(
        "webhooks/list.html",
        org=org,
        form=form,
        endpoints=webhooks.list_endpoints(current_user, org),
    )


@bp.get("/o/<slug>/webhooks/<wid>")
def show_webhook(slug: str, wid: str) -> str:
    """One endpoint: its secret, its events and the log of its latest deliveries."""
    org = organizations.admin_org(current_user, slug, hidden=True)
    endpoint = webhooks.get_endpoint(current_user, org, wid)
    return render_template(
        "webhooks/show.html",
        org=org,
        endpoint=endpoint,
        deliveries=webhooks.deliveries(endpoint),
        form=EmptyForm(),
    )


@bp.post("/o/<slug>/webhooks/<wid>/deliveries/<did>/send")
def send_again(slug: str, wid: str, did: str) -> Response:
    """Send one delivery again."""
    org = organizations.admin_org(current_user, slug, hidden=True)
    if not EmptyForm().validate_on_submit():
        abort(400)
    endpoint = webhooks.get_endpoint(current_user, org, wid)
    run_service(
        lambda: webhooks.send_again(current_user, endpoint, did),
        "The delivery is queued again.",
        reraise=_error_page,
    )
    return redirect(url_for("webhooks.show_webhook", slug=slug, wid=wid))


@bp.post("/o/<slug>/webhooks/<wid>/remove")
def remove_webhook(slug: str, wid: str) -> Response:
    """Stop sending to an endpoint."""
    org = organizations.admin_org(current_user, slug, hidden=True)
    if not EmptyForm().validate_on_submit():
        abort(400)
    endpoint = webhooks.get_endpoint(current_user, org, wid)
    run_service(
        lambda: webhooks.remove_endpoint(current_user, endpoint),
        "The webhook is removed.",
        reraise=_error_page,
    )
    return redirect(url_for("webhooks.list_webhooks", slug=slug))
