"""The worker's badges with share controls, and the admins' list of awards with revocation."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portfolio.accounts.models import Role
from portfolio.accounts.services import get_organization, require_role
from portfolio.awards import issuance
from portfolio.core.errors import NotFound
from portfolio.core.transaction import commit
from portfolio.core.views import run_service

bp = Blueprint("awards", __name__)


@bp.get("/badges")
def my_badges() -> str:
    """The worker's badges, with links to share and controls for what the public sees."""
    awards = issuance.my_awards(current_user)
    return render_template(
        "awards/my_badges.html",
        awards=awards,
        badge_url=lambda a: issuance.public_url("verify.badge", aid=a.public_id),
    )


@bp.post("/badges/<aid>/visibility")
def set_visibility(aid: str) -> Response:
    """Hide or show the whole badge, or one piece of its evidence (`evidence` field)."""
    award = issuance.get_own_award(current_user, aid)
    hidden = request.form.get("hidden") == "1"
    evidence = request.form.get("evidence") or None
    issuance.set_visibility(current_user, award, hidden=hidden, evidence_public_id=evidence)
    commit()
    what = "That evidence" if evidence else "The badge"
    flash(f"{what} is now {'hidden from' if hidden else 'shown to'} the public.", "success")
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


@bp.get("/o/<slug>/awards")
def list_awards(slug: str) -> str:
    """Every badge the organization issued, with revocation (admins only)."""
    org = get_organization(slug)
    awards = issuance.organization_awards(current_user, org)
    return render_template(
        "awards/org_awards.html",
        org=org,
        awards=awards,
        badge_url=lambda a: issuance.public_url("verify.badge", aid=a.public_id),
    )


@bp.post("/o/<slug>/awards/<aid>/revoke")
def revoke(slug: str, aid: str) -> Response:
    """Revoke one badge with a reason (admins only; once)."""
    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    award = issuance.get_award(aid)
    if award.organization_id != org.id:
        raise NotFound("No such badge.")
    run_service(
        lambda: issuance.revoke_award(current_user, award, request.form.get("reason", "")),
        lambda _: f"The badge of {award.recipient.display_name} has been revoked.",
        reraise=lambda exc: exc.status_code == 409,
    )
    return redirect(url_for("awards.list_awards", slug=slug))


@bp.post("/o/<slug>/signing-key/rotate")
def rotate_key(slug: str) -> Response:
    """Replace the organization's signing key; the old one stays published."""
    org = get_organization(slug)
    issuance.rotate_signing_key(current_user, org)
    commit()
    flash("A new signing key is in use. Badges signed with the old key still verify.", "success")
    return redirect(url_for("awards.list_awards", slug=slug))
