"""The second step of every destructive action: a page that says what will happen and carries
the one button that does it. Each destructive button on the other pages is a link here, so the
confirmation works without JavaScript; the actions themselves stay where they are (POST) and
refuse as before when called by someone who may not."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user

from portfolio.accounts.models import Membership, Role
from portfolio.accounts.organizations import get_organization, require_role
from portfolio.awards import issuance
from portfolio.core.errors import NotFound
from portfolio.extensions import db

bp = Blueprint("confirm", __name__, url_prefix="/confirm")


@dataclass
class Confirmation:
    """What the confirmation page shows."""

    title: str
    #: What will happen, one consequence a line, in the words of the person acting.
    consequences: list[str]
    action: str
    button: str
    cancel: str
    #: Hidden fields sent with the action.
    hidden: dict[str, str] = field(default_factory=dict)
    #: Whether the action needs a reason typed on this page (revocation).
    needs_reason: bool = False
    #: Whether the action can be undone (shown as "This cannot be undone").
    is_final: bool = True


def _render(c: Confirmation) -> str:
    return render_template("confirm/confirm.html", c=c)


@bp.get("/o/<slug>/awards/<aid>/revoke")
def revoke_award(slug: str, aid: str) -> str:
    """Before revoking a badge: who loses what, and the reason employers will read."""
    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    award = issuance.get_award(aid)
    if award.organization_id != org.id:
        raise NotFound("No such badge.")
    return _render(
        Confirmation(
            title=f"Revoke the badge “{award.credential.name}” of {award.recipient_display_name}?",
            consequences=[
                "The badge stops verifying at once: its public page, its files and every "
                "verifier will say “revoked”.",
                "Employers see the reason you give below, and the date.",
                f"{award.recipient_display_name} is told by notification and mail.",
            ],
            action=url_for("awards.revoke", slug=slug, aid=aid),
            button="Revoke the badge",
            cancel=url_for("awards.list_awards", slug=slug),
            needs_reason=True,
        )
    )


@bp.get("/o/<slug>/signing-key/rotate")
def rotate_key(slug: str) -> str:
    """Before replacing the signing key."""
    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    return _render(
        Confirmation(
            title=f"Replace the signing key of {org.name}?",
            consequences=[
                "Badges issued from now on are signed with a new key.",
                "Badges already issued keep verifying: the old key stays published.",
                "Do this when the key may have leaked, or on your regular schedule.",
            ],
            action=url_for("awards.rotate_key", slug=slug),
            button="Replace the signing key",
            cancel=url_for("awards.list_awards", slug=slug),
        )
    )


@bp.get("/portfolio/items/<public_id>/delete")
def delete_item(public_id: str) -> str:
    """Before deleting an item of one's portfolio."""
    from portfolio.evidence import services as evidence

    item = evidence.get_item(current_user, public_id)
    return _render(
        Confirmation(
            title=f"Delete “{item.title}” from your portfolio?",
            consequences=[
                "The item and its file are removed from your portfolio.",
                "Submissions you already sent keep their own copy, so assessors and employers "
                "still see what was assessed.",
            ],
            action=url_for("evidence.delete_item", public_id=public_id),
            button="Delete it",
            cancel=url_for("evidence.show_item", public_id=public_id),
        )
    )


@bp.get("/submissions/<public_id>/withdraw")
def withdraw_submission(public_id: str) -> str:
    """Before withdrawing a submission."""
    from portfolio.submissions import access

    sub = access.get_own_submission(current_user, public_id)
    return _render(
        Confirmation(
            title=f"Withdraw your submission for “{sub.credential.name}”?",
            consequences=[
                "Assessors no longer see it, and it leaves the review queue.",
                "Your portfolio items stay in your portfolio; you can start a new "
                "submission later.",
            ],
            action=url_for("submissions.withdraw", public_id=public_id),
            button="Withdraw the submission",
            cancel=url_for("submissions.show_submission", public_id=public_id),
        )
    )


@bp.get("/o/<slug>/members/<int:membership_id>/remove")
def remove_member(slug: str, membership_id: int) -> str:
    """Before taking a role away from a member."""
    from portfolio.core.labels import label

    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.organization_id != org.id:
        abort(404)
    role = label(membership.role).lower()
    name = membership.user.display_name
    return _render(
        Confirmation(
            title=f"Remove the {role} role from {name}?",
            consequences=[
                f"{name} can no longer act as {role} in {org.name}.",
                "What they did stays: submissions, decisions and badges are kept.",
                "You can invite them again later.",
            ],
            action=url_for("accounts.remove_member", slug=slug, membership_id=membership_id),
            button="Remove the role",
            cancel=url_for("accounts.members", slug=slug),
            is_final=False,
        )
    )


@bp.get("/o/<slug>/rubrics/<rid>/versions/<vid>/publish")
def publish_version(slug: str, rid: str, vid: str) -> str:
    """Before publishing a rubric version (it can never change again)."""
    from portfolio.frameworks.services import frameworks as framework_services
    from portfolio.frameworks.services import rubrics as rubric_services

    org = get_organization(slug)
    framework_services.require_admin(current_user, org)
    rubric = rubric_services.get_rubric(org, rid)
    version = rubric_services.get_version(rubric, vid)
    return _render(
        Confirmation(
            title=f"Publish version {version.number} of “{version.title}”?",
            consequences=[
                "The version is frozen: it can never be edited again.",
                "Credentials can use it, and workers see it in the catalogue.",
                "To change it later you start a new version.",
            ],
            action=url_for("frameworks.publish_version", slug=slug, rid=rid, vid=vid),
            button=f"Publish version {version.number}",
            cancel=url_for("frameworks.show_version", slug=slug, rid=rid, vid=vid),
        )
    )


@bp.get("/badges/<aid>/hide")
def hide_badge(aid: str) -> str:
    """Before hiding a badge's details (or one evidence item) from the public."""
    award = issuance.get_own_award(current_user, aid)
    evidence = request.args.get("evidence") or ""
    hidden = {"hidden": "1"}
    if evidence:
        item = next((e for e in award.evidence if e.public_id == evidence), None)
        if item is None:
            raise NotFound("No such evidence on this badge.")
        hidden["evidence"] = evidence
        title = f"Hide “{item.name}” from the public?"
        consequences = [
            "Employers opening your badge link no longer see this piece of evidence.",
            "The badge stays valid, and you can show the evidence again at any time.",
        ]
    else:
        title = f"Hide the details of your badge “{award.credential.name}”?"
        consequences = [
            "Employers opening your badge link see only that it is valid, not the criteria, "
            "the levels or the evidence.",
            "You can show the details again at any time.",
        ]
    return _render(
        Confirmation(
            title=title,
            consequences=consequences,
            action=url_for("awards.set_visibility", aid=aid),
            button="Hide it",
            cancel=url_for("awards.my_badges") + f"#badge-{aid}",
            hidden=hidden,
            is_final=False,
        )
    )


@bp.get("/o/<slug>/pathways/<pid>/archive")
def archive_pathway(slug: str, pid: str) -> str:
    """Before archiving a pathway."""
    from portfolio.pathways import services as pathways

    org = get_organization(slug)
    require_role(current_user, org, Role.ADMIN)
    pathway = pathways.get_pathway(org, pid)
    return _render(
        Confirmation(
            title=f"Archive the pathway to “{pathway.credential.name}”?",
            consequences=[
                "No one receives this stacked credential any more.",
                "Stacks already issued stay valid and keep verifying.",
            ],
            action=url_for("pathways.archive_pathway", slug=slug, pid=pid),
            button="Archive the pathway",
            cancel=url_for("pathways.list_pathways", slug=slug),
        )
    )
