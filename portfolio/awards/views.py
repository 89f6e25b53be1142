"""The worker's badges with share controls, and the admins' list of awards with revocation."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portfolio.accounts.models import Role
from portfolio.accounts.organizations import get_organization, require_role
from portfolio.awards import issuance, revocation, signing_keys, visibility
from portfolio.core.errors import DomainError, Forbidden, NotFound
from portfolio.core.transaction import commit
from portfolio.core.urls import public_url
from portfolio.core.views import run_service

bp = Blueprint("awards", __name__, cli_group="awards")


def _is_error_page(exc: DomainError) -> bool:
    """Refusals answered with their error page (not a flash): not yours, or not allowed."""
    return isinstance(exc, NotFound | Forbidden)


@bp.get("/badges")
def my_badges() -> str:
    """The worker's badges, with links to share and controls for what the public sees."""
    from portfolio.awards.learner_record import record_organizations
    from portfolio.awards.notices import can_renew
    from portfolio.core.share import linkedin_add_url

    awards = issuance.my_awards(current_user)

    def badge_url(a: object) -> str:
        return public_url("verify.badge", aid=a.public_id)  # type: ignore[attr-defined]

    def linkedin(a: object) -> str:
        return linkedin_add_url(
            name=a.credential.name,  # type: ignore[attr-defined]
            organization=a.organization.name,  # type: ignore[attr-defined]
            issued=a.issued_at,  # type: ignore[attr-defined]
            expires=a.expires_at,  # type: ignore[attr-defined]
            url=badge_url(a),
            cert_id=a.public_id,  # type: ignore[attr-defined]
            organization_id=a.organization.linkedin_organization_id,  # type: ignore[attr-defined]
        )

    return render_template(
        "awards/my_badges.html",
        awards=awards,
        badge_url=badge_url,
        linkedin_url=linkedin,
        can_renew=can_renew,
        record_organizations=record_organizations(current_user) if awards else [],
    )


@bp.app_template_global("dashboard_news")
def dashboard_news() -> list[object]:
    """Cards for the worker's dashboard: recent decisions and badge events (see notices.py)."""
    from portfolio.awards.notices import recent_news

    return list(recent_news(current_user))


@bp.post("/badges/<aid>/renew")
def renew(aid: str) -> Response:
    """Start a new attempt to renew a badge that expires soon or has expired."""
    from portfolio.awards.notices import start_renewal

    award = issuance.get_own_award(current_user, aid)
    done = run_service(
        lambda: start_renewal(current_user, award),
        "A new attempt is open: add fresh evidence for each element and submit it.",
    )
    if not done or done.value is None:
        return redirect(url_for("awards.my_badges") + f"#badge-{aid}")
    return redirect(url_for("submissions.show_submission", public_id=done.value.public_id))


@bp.post("/badges/<aid>/visibility")
def set_visibility(aid: str) -> Response:
    """Hide or show the whole badge, or one piece of its evidence (`evidence` field)."""
    award = issuance.get_own_award(current_user, aid)
    hidden = request.form.get("hidden") == "1"
    evidence = request.form.get("evidence") or None
    what = "That evidence" if evidence else "The badge"
    run_service(
        lambda: visibility.set_visibility(
            current_user, award, hidden=hidden, evidence_public_id=evidence
        ),
        f"{what} is now {'hidden from' if hidden else 'shown to'} the public.",
        reraise=_is_error_page,
    )
    return redirect(url_for("awards.my_badges") + f"#badge-{award.public_id}")


@bp.get("/badges/<aid>/wallet")
def add_to_wallet(aid: str) -> str:
    """ "Add to wallet": a button and a QR code that hand the badge to the Learner Credential
    Wallet (a VC-API exchange; the code works for 15 minutes)."""
    from portfolio.awards import wallet

    award = issuance.get_own_award(current_user, aid)
    token = wallet.start_exchange(current_user, award)
    link = wallet.wallet_link(token)
    return render_template(
        "awards/wallet.html",
        award=award,
        link=link,
        qr_html=wallet.qr_svg(link),
        exchange_url=wallet.exchange_url(token),
        minutes=wallet.EXCHANGE_MAX_AGE // 60,
    )


@bp.get("/badges/learner-record")
def learner_record() -> Response:
    """All the worker's badges (of one organization) as one signed CLR 2.0 `ClrCredential`,
    downloaded as a file (`?org=<public id>` when their badges come from several)."""
    import json

    from portfolio.awards.learner_record import export_learner_record

    done = run_service(lambda: export_learner_record(current_user, request.args.get("org") or None))
    if not done:
        return redirect(url_for("awards.my_badges"))
    response = Response(
        json.dumps(done.value, ensure_ascii=False, indent=2),
        mimetype="application/vc+ld+json",
    )
    response.headers["Content-Disposition"] = 'attachment; filename="learner-record-clr.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/o/<slug>/awards")
def list_awards(slug: str) -> str:
    """The badges the organization issued, newest first, in keyset pages (admins only)."""
    org = get_organization(slug)
    page = issuance.organization_awards(
        current_user,
        org,
        after=request.args.get("after") or None,
        before=request.args.get("before") or None,
    )
    return render_template(
        "awards/org_awards.html",
        org=org,
        awards=page.rows,
        page=page,
        page_args={k: v for k, v in request.args.items() if k not in {"after", "before"}},
        page_endpoint="awards.list_awards",
        badge_url=lambda a: public_url("verify.badge", aid=a.public_id),
    )


@bp.post("/o/<slug>/awards/<aid>/revoke")
def revoke(slug: str, aid: str) -> Response:
    """Revoke one badge with a reason (admins only; once)."""
    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    award = issuance.get_award(aid)
    if award.organization_id != org.id:
        raise NotFound("No such badge.")
    from portfolio.awards.notices import revocation_notice, send_after_commit

    def revoke_and_tell() -> None:
        revocation.revoke_award(current_user, award, request.form.get("reason", ""))
        # The notification is written now; the mail goes out once the revocation commits.
        # A bulk award nobody has claimed yet has nobody to tell.
        if award.recipient_id is not None:
            send_after_commit([revocation_notice(award)])

    run_service(
        revoke_and_tell,
        lambda _: (
            f"The badge of {award.recipient_display_name} has been revoked"
            + ("; they have been told by notification and mail." if award.recipient_id else ".")
        ),
        reraise=lambda exc: exc.status_code == 409,
    )
    return redirect(url_for("awards.list_awards", slug=slug))


@bp.post("/o/<slug>/signing-key/rotate")
def rotate_key(slug: str) -> Response:
    """Replace the organization's signing key; the old one stays published."""
    org = get_organization(slug)
    run_service(
        lambda: signing_keys.rotate_signing_key(current_user, org),
        "A new signing key is in use. Badges signed with the old key still verify.",
        reraise=_is_error_page,
    )
    return redirect(url_for("awards.list_awards", slug=slug))


@bp.cli.command("send-expiry-reminders")
def send_expiry_reminders_command() -> None:
    """Remind earners 30 and 7 days before their badges expire (safe to run again)."""
    import click
    from flask import current_app

    from portfolio.awards.notices import send_expiry_reminders

    base = current_app.config["PORTFOLIO"].public_base_url
    with current_app.test_request_context("/", base_url=base):
        sent = send_expiry_reminders()
        commit()  # then the mails are sent
    click.echo(f"{sent} expiry reminder(s) sent.")
