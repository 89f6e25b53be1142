"""Single sign-on pages: the button's start, the provider's way back, and the organization's
settings (admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from portfolio.accounts import organizations, sso, sso_settings
from portfolio.accounts.forms import SsoSettingsForm
from portfolio.accounts.models import Role
from portfolio.core.errors import DomainError
from portfolio.core.security import is_safe_redirect, public
from portfolio.core.urls import public_url
from portfolio.core.views import run_service
from portfolio.extensions import limiter

bp = Blueprint("sso", __name__)

#: Session key of the sign-ins started in this browser and not finished yet, by `state`.
_PENDING = "sso_pending"
#: A few at most (several tabs); the oldest is forgotten first.
_MAX_PENDING = 3


def _login_limit() -> str:
    from flask import current_app

    return str(current_app.config["PORTFOLIO"].login_rate_limit)


def _callback_url() -> str:
    # The redirect URI registered at the provider: always under PUBLIC_BASE_URL, never built
    # from the request's Host header.
    return public_url("sso.callback")


def _problem(exc: DomainError) -> tuple[str, int]:
    link = getattr(exc, "link_after_password", "")
    return render_template(
        "accounts/sso_problem.html",
        message=exc.message,
        # Sign in with the password, then straight back into this organization's sign-in,
        # which links the account.
        link_url=url_for("accounts.login", next=url_for("sso.start", slug=link)) if link else "",
    ), exc.status_code


@bp.get("/login/sso/<slug>")
@public
@limiter.limit(_login_limit)
def start(slug: str) -> Response | tuple[str, int]:
    """Send the browser to the organization's provider, remembering this sign-in's `state`,
    `nonce` and PKCE verifier in the (signed) session."""
    org = organizations.get_organization(slug)
    target = request.args.get("next", "")
    begun = run_service(
        lambda: sso.begin_sign_in(
            org, _callback_url(), next_url=target if is_safe_redirect(target) else ""
        ),
        flash_error=False,
    )
    if begun.error is not None:
        return _problem(begun.error)
    assert begun.value is not None
    url, pending = begun.value
    started: dict[str, Any] = dict(session.get(_PENDING) or {})
    started[pending["state"]] = pending
    while len(started) > _MAX_PENDING:
        started.pop(min(started, key=lambda s: started[s].get("started", 0)))
    session[_PENDING] = started
    return redirect(url)


@bp.get("/sso/callback")
@public
@limiter.limit(_login_limit)
def callback() -> Response | tuple[str, int]:
    """The provider's redirect back: finish the sign-in, or say clearly why not."""
    params = {k: v for k, v in request.args.items()}
    started: dict[str, Any] = dict(session.get(_PENDING) or {})
    # Taken out whatever happens next: a `state` is good for one attempt only.
    pending = started.pop(params.get("state", ""), None)
    session[_PENDING] = started
    signed_in = current_user._get_current_object() if current_user.is_authenticated else None  # type: ignore[attr-defined]
    # A refusal keeps the audit of it (the error keeps its changes).
    outcome = run_service(
        lambda: sso.complete_sign_in(pending, params, _callback_url(), signed_in=signed_in),
        flash_error=False,
    )
    if outcome.error is not None:
        return _problem(outcome.error)
    assert outcome.value is not None
    done = outcome.value
    user = done.user
    # A fresh session on every sign-in: nothing planted before it survives.
    session.clear()
    login_user(user)
    if done.linked == "new-account":
        roles = ", ".join(sorted(str(r) for r in user.roles_in(done.organization.id)))
        flash(
            f"Welcome, {user.display_name}. Your account was made with {user.email} and you "
            f"have joined {done.organization.name} ({roles}).",
            "success",
        )
    elif done.linked == "linked":
        flash(
            f"Welcome, {user.display_name}. Your account is now linked to single sign-on of "
            f"{done.organization.name}.",
            "success",
        )
    else:
        flash(f"Welcome, {user.display_name}.", "success")
    return redirect(done.next_url or url_for("accounts.dashboard"))


@bp.route("/o/<slug>/settings/sso", methods=["GET", "POST"])
def settings(slug: str) -> Response | str:
    """The organization's OpenID Provider (admins)."""
    org = organizations.admin_org(current_user, slug)
    config = sso_settings.get_configuration(org)
    form = SsoSettingsForm(obj=config)
    if config is not None and request.method == "GET":
        form.allowed_domains.data = ", ".join(config.allowed_domains)
    if form.validate_on_submit():
        done = run_service(
            lambda: sso_settings.save_configuration(
                current_user,
                org,
                issuer=form.issuer.data or "",
                client_id=form.client_id.data or "",
                client_secret=form.client_secret.data or "",
                button_label=form.button_label.data or "",
                default_role=Role(form.default_role.data),
                allowed_domains=form.allowed_domains.data or "",
                is_enabled=bool(form.is_enabled.data),
                is_password_sign_in_disabled=bool(form.is_password_sign_in_disabled.data),
            ),
            "Single sign-on settings saved.",
        )
        if done:
            return redirect(url_for("sso.settings", slug=org.slug))
    return render_template(
        "accounts/sso_settings.html",
        form=form,
        org=org,
        config=config,
        callback_url=_callback_url(),
    )
