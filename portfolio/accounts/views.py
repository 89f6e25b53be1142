"""Sign-in, passwords, invitations, registration and the dashboard (organization administration
is in `portfolio.accounts.organization_views`)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portfolio.accounts import account_settings, organizations, registration, sign_in
from portfolio.accounts.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from portfolio.accounts.models import Role, User
from portfolio.accounts.signals import home_page_issuers
from portfolio.core.forms import EmptyForm
from portfolio.core.security import public, safe_next
from portfolio.core.transaction import commit
from portfolio.core.views import run_service
from portfolio.extensions import db, limiter, login_manager

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return str(current_app.config["PORTFOLIO"].login_rate_limit)


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    return db.session.scalar(select(User).where(User.session_token == session_token))


@bp.app_context_processor
def navigation() -> dict[str, object]:
    """The organizations where the signed-in user holds each role, for the navigation."""
    if not current_user.is_authenticated:
        return {"nav_admin_orgs": [], "nav_assessor_orgs": [], "nav_learner_orgs": []}
    return {
        "nav_admin_orgs": current_user.organizations_with(Role.ADMIN),
        "nav_assessor_orgs": current_user.organizations_with(Role.ASSESSOR),
        "nav_learner_orgs": current_user.organizations_with(Role.LEARNER),
    }


def _start_session(user: User, remember: bool = False) -> None:
    # A fresh session on every login: nothing planted before sign-in survives it.
    session.clear()
    login_user(user, remember=remember)


@bp.get("/")
@public
def index() -> Response | str:
    """Landing page: the dashboard for signed-in users, a welcome page otherwise."""
    if current_user.is_authenticated:
        return redirect(url_for("accounts.dashboard"))
    issuers = [
        issuer
        for _receiver, answer in home_page_issuers.send(
            current_app._get_current_object()  # type: ignore[attr-defined]
        )
        for issuer in answer or []
    ]
    return render_template("accounts/index.html", issuers=issuers)


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Response | str:
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("accounts.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        # A refusal still commits: what it recorded (audit, the pause mail) must stay.
        done = run_service(
            lambda: sign_in.authenticate(
                form.email.data or "", form.password.data or "", client=request.remote_addr or ""
            )
        )
        if done.value is not None:
            _start_session(done.value, remember=bool(form.remember.data))
            flash(f"Welcome, {done.value.display_name}.", "success")
            return redirect(safe_next())
    return render_template("accounts/login.html", form=form, **_sso_choices())


def _sso_choices() -> dict[str, object]:
    """The "Sign in with …" buttons: every organization offering single sign-on, or only the
    one named by `?org=<slug>` (the address an organization gives its members)."""
    from portfolio.accounts import sso_settings
    from portfolio.accounts.models import Organization

    slug = request.args.get("org", "")
    if slug:
        org = db.session.scalar(select(Organization).where(Organization.slug == slug))
        config = sso_settings.get_configuration(org) if org is not None else None
        options = [config] if config is not None and config.is_enabled else []
        return {"sso_options": options, "sso_org": org}
    return {"sso_options": sso_settings.sign_in_options(), "sso_org": None}


@bp.post("/logout")
def logout() -> Response:
    """Sign out and forget the session."""
    # The session cookie is signed, not stored on the server: a copy taken before sign-out
    # would still name the user. Rotating the token that cookies carry makes every copy
    # worthless (the person's other devices are signed out too).
    sign_in.rotate_session(current_user._get_current_object())  # type: ignore[attr-defined]
    commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("accounts.login"))


@bp.get("/dashboard")
def dashboard() -> str:
    """What the signed-in user can do, organization by organization."""
    return render_template("accounts/dashboard.html", confirm_form=EmptyForm())


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> Response | str:
    """Change one's own password (signs out other devices)."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        done = run_service(
            lambda: account_settings.change_password(
                current_user, form.current_password.data or "", form.new_password.data or ""
            ),
            flash_error=False,
        )
        if not done:
            form.current_password.errors = [done.message]
        else:
            _start_session(current_user._get_current_object())  # type: ignore[attr-defined]
            flash("Your password has been changed. Other devices have been signed out.", "success")
            return redirect(url_for("accounts.dashboard"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password() -> Response | str:
    """Ask for a reset link by email (the answer never reveals whether the account exists)."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        sign_in.request_password_reset(form.email.data or "")
        commit()  # the reset mail goes out after this
        flash(
            "If an account exists for that address, we have sent a reset link. Check your email.",
            "success",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def reset_password(token: str) -> Response | str:
    """Choose a new password from an emailed link."""
    try:
        sign_in.user_for_reset_token(token)
    except sign_in.InvalidToken as exc:
        return render_template("accounts/token_problem.html", message=exc.message), 400  # type: ignore[return-value]
    form = ResetPasswordForm()
    if form.validate_on_submit():
        sign_in.reset_password(token, form.new_password.data or "")
        commit()
        flash("Your password has been changed. Sign in with the new one.", "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str) -> Response | str:
    """Accept an invitation, creating the account if needed."""
    try:
        invitation = registration.invitation_for_token(token)
    except sign_in.InvalidToken as exc:
        return render_template("accounts/token_problem.html", message=exc.message), 400  # type: ignore[return-value]
    user = current_user if current_user.is_authenticated else None
    existing = sign_in.find_user_by_email(invitation.email)
    # An unconfirmed registration does not hold the address: the invitation replaces it.
    has_account = existing is not None and existing.is_email_confirmed
    form = EmptyForm() if user is not None else AcceptInvitationForm()
    if form.validate_on_submit():
        done = run_service(
            lambda: registration.accept_invitation(
                token,
                user=user._get_current_object() if user is not None else None,  # type: ignore[attr-defined]
                display_name=(getattr(form, "display_name", None) and form.display_name.data) or "",  # type: ignore[attr-defined]
                password=(getattr(form, "password", None) and form.password.data) or "",  # type: ignore[attr-defined]
            )
        )
        if done.value is not None:
            _start_session(done.value)
            flash(
                f"You have joined {invitation.organization.name} as {invitation.role}.", "success"
            )
            return redirect(url_for("accounts.dashboard"))
    return render_template(
        "accounts/accept_invitation.html", form=form, invitation=invitation, has_account=has_account
    )


@bp.route("/o/<slug>/register", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def register(slug: str) -> Response | str:
    """Self-registration as a learner, where the organization allows it."""
    org = organizations.get_organization(slug)
    if not org.allows_self_registration:
        return render_template("accounts/register_closed.html", org=org), 403  # type: ignore[return-value]
    form = RegisterForm()
    if form.validate_on_submit():

        def register_and_confirm() -> User:
            user = registration.self_register(
                org, form.email.data or "", form.display_name.data or "", form.password.data or ""
            )
            registration.send_confirmation(user)  # mailed once the account is committed
            return user

        done = run_service(register_and_confirm, flash_error=False)
        if done.value is None:
            form.email.errors = [done.message]
        else:
            user = done.value
            _start_session(user)
            flash(
                f"Welcome to {org.name}. We sent a link to {user.email}: open it to confirm "
                "your address. Until then you cannot submit work for assessment or receive "
                "badges.",
                "success",
            )
            return redirect(url_for("accounts.dashboard"))
    return render_template("accounts/register.html", form=form, org=org)


@bp.get("/confirm-email/<token>")
@public
def confirm_email(token: str) -> Response | str:
    """Confirm a self-registered address from the emailed link."""
    try:
        user = registration.confirm_email(token)
    except sign_in.InvalidToken as exc:
        return render_template("accounts/token_problem.html", message=exc.message), 400  # type: ignore[return-value]
    commit()
    flash(f"Thank you: {user.email} is confirmed.", "success")
    if current_user.is_authenticated:
        return redirect(url_for("accounts.dashboard"))
    return redirect(url_for("accounts.login"))


@bp.post("/account/confirm-email")
@limiter.limit(_login_limit)
def resend_confirmation() -> Response:
    """Send the confirmation link again."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    if user.is_email_confirmed:
        flash("Your email address is already confirmed.", "info")
    else:
        registration.send_confirmation(user)
        flash(f"We sent a new confirmation link to {user.email}.", "success")
    return redirect(url_for("accounts.dashboard"))


@bp.get("/healthz")
@public
def healthz() -> tuple[dict[str, str], int]:
    """Liveness and database check for load balancers."""
    db.session.execute(select(1))
    return {"status": "ok"}, 200
