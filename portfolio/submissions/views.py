"""Worker pages (map evidence, submit, follow the decision) and assessor pages (queue, claim,
review)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portfolio.accounts.models import Role
from portfolio.accounts.organizations import get_organization
from portfolio.core.errors import Conflict
from portfolio.core.forms import EmptyForm
from portfolio.core.transaction import commit
from portfolio.core.views import run_service
from portfolio.credentials.models import Credential
from portfolio.evidence.models import EvidenceItem, EvidenceState
from portfolio.evidence.validation import inline_kind
from portfolio.extensions import db
from portfolio.submissions import access, services
from portfolio.submissions.forms import (
    AttachEvidenceForm,
    NoteForm,
    SubmitForm,
)
from portfolio.submissions.models import SubmissionState
from portfolio.submissions.notifications import mark_notifications_read, unread_notifications

bp = Blueprint("submissions", __name__)


def _user():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _credential(slug: str, public_id: str):  # type: ignore[no-untyped-def]
    org = get_organization(slug)
    cred = db.session.scalar(
        select(Credential).where(
            Credential.public_id == public_id, Credential.organization_id == org.id
        )
    )
    if cred is None:
        abort(404)
    return org, cred


@bp.app_context_processor
def notification_count() -> dict[str, object]:
    """Unread notifications for the navigation badge."""
    if not current_user.is_authenticated:
        return {"unread_notifications": 0}
    from sqlalchemy import func

    from portfolio.submissions.models import Notification

    count = (
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == current_user.id, Notification.read_at.is_(None)
            )
        )
        or 0
    )
    return {"unread_notifications": count}


@bp.app_template_global("credential_standing")
def credential_standing(credential: object) -> object:
    """The signed-in worker's standing with a credential (see standing.py), for the catalogue."""
    from portfolio.submissions.standing import standing

    return standing(_user(), credential)  # type: ignore[arg-type]


# -- worker -----------------------------------------------------------------------------------
@bp.post("/o/<slug>/credentials/<public_id>/start")
def start_submission(slug: str, public_id: str) -> Response:
    """Start (or reopen) an attempt at a credential."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    _, cred = _credential(slug, public_id)
    done = run_service(lambda: services.start_submission(_user(), cred))
    if done.value is None:
        return redirect(request.referrer or url_for("submissions.my_submissions"))
    return redirect(url_for("submissions.show_submission", public_id=done.value.public_id))


@bp.get("/submissions")
def my_submissions() -> str:
    """The worker's attempts, newest first."""
    return render_template("submissions/mine.html", submissions=access.my_submissions(_user()))


@bp.get("/submissions/<public_id>")
def show_submission(public_id: str) -> str:
    """Map evidence to elements (draft), or follow the state and read the decision."""
    sub = access.get_own_submission(_user(), public_id)
    items = []
    if sub.state == SubmissionState.DRAFT:
        items = list(
            db.session.scalars(
                select(EvidenceItem)
                .where(
                    EvidenceItem.owner_id == sub.learner_id,
                    EvidenceItem.state == EvidenceState.READY,
                )
                .order_by(EvidenceItem.created_at.desc())
            )
        )
    attach_form = AttachEvidenceForm()
    attach_form.item.choices = [("", "Choose an item…")] + [
        (i.public_id, f"{i.title} ({_kind_label(i)})") for i in items
    ]
    from portfolio.submissions import appeals, history, witness

    attempts = access.attempts_of(sub.learner, sub.credential)
    can_retry = sub.state == SubmissionState.NEEDS_REVISION and attempts[-1].id == sub.id
    testimonies = witness.testimonies_by_element(sub)
    return render_template(
        "submissions/show.html",
        sub=sub,
        attach_form=attach_form,
        note_form=NoteForm(),
        # A refused submit shows its own form again, with the error beside the tick.
        submit_form=g.get("refused_submit_form") or SubmitForm(),
        empty_form=EmptyForm(),
        missing=services.missing_required_elements(sub),
        scores=access.scores_by_element(sub.review),
        can_retry=can_retry,
        attempts=attempts,
        inline_kind=inline_kind,
        earlier=history.earlier_feedback(sub),
        testimonies=testimonies,
        appeal=appeals.appeal_of(sub),
        can_appeal=appeals.can_appeal(sub),
        appeal_deadline=appeals.appeal_deadline(sub),
    )


def _kind_label(item: EvidenceItem) -> str:
    from portfolio.core.labels import label, type_label

    return type_label(item.media_type) if item.kind == "file" else label(item.kind)


def _back(sub_public_id: str, anchor: str = "") -> Response:
    return redirect(url_for("submissions.show_submission", public_id=sub_public_id) + anchor)


def _commit_or_flash(action: Callable[[], object], success: str) -> bool:
    """Run one service call: commit and confirm it, or roll back and show the rule it broke."""
    return bool(run_service(action, success))


@bp.post("/submissions/<public_id>/evidence")
def attach_evidence(public_id: str) -> Response:
    """Attach a library item to an element (saved at once: drafts save as they go)."""
    sub = access.get_own_submission(_user(), public_id)
    form = AttachEvidenceForm()
    if not form.validate_on_submit():
        flash("Choose an evidence item to attach.", "error")
        return _back(public_id, f"#element-{form.element.data or ''}")
    _commit_or_flash(
        lambda: services.attach_evidence(
            _user(), sub, form.element.data or "", form.item.data or "", form.note.data or ""
        ),
        "Evidence attached and saved.",
    )
    return _back(public_id, f"#element-{form.element.data}")


@bp.post("/submissions/<public_id>/evidence/<link_id>/note")
def update_note(public_id: str, link_id: str) -> Response:
    """Change the note on one attached item."""
    sub = access.get_own_submission(_user(), public_id)
    form = NoteForm()
    if not form.validate_on_submit():
        flash("The note is too long (2000 characters at most).", "error")
        return _back(public_id)
    _commit_or_flash(
        lambda: services.update_evidence_note(_user(), sub, link_id, form.note.data or ""),
        "Note saved.",
    )
    return _back(public_id)


@bp.post("/submissions/<public_id>/evidence/<link_id>/remove")
def detach_evidence(public_id: str, link_id: str) -> Response:
    """Remove an attached item from an element."""
    sub = access.get_own_submission(_user(), public_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    _commit_or_flash(
        lambda: services.detach_evidence(_user(), sub, link_id),
        "Removed from this element (it stays in your portfolio).",
    )
    return _back(public_id)


@bp.post("/submissions/<public_id>/submit")
def submit(public_id: str) -> Response | str | tuple[str, int]:
    """Submit after confirmation; evidence is frozen. A refusal shows the page again with the
    worker's note and tick still in the form (they are bound from the posted data)."""
    sub = access.get_own_submission(_user(), public_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        g.refused_submit_form = form
        return show_submission(public_id), 422
    done = run_service(
        lambda: services.submit(_user(), sub, form.note.data or ""),
        "Submitted. An assessor will review your evidence; you will be notified.",
        flash_error=False,
    )
    if isinstance(done.error, Conflict):
        flash(done.message, "info")
    elif done.error is not None:
        flash(done.message, "error")
        return show_submission(public_id), 422
    return _back(public_id)


@bp.post("/submissions/<public_id>/withdraw")
def withdraw(public_id: str) -> Response:
    """Withdraw before an assessor claims it."""
    sub = access.get_own_submission(_user(), public_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    # The frozen copies are deleted after the commit (queued by the service).
    _commit_or_flash(lambda: services.withdraw(_user(), sub), "Your submission has been withdrawn.")
    return _back(public_id)


@bp.post("/submissions/<public_id>/retry")
def start_next_attempt(public_id: str) -> Response:
    """Start the next attempt after "needs revision", pre-filled from this one."""
    sub = access.get_own_submission(_user(), public_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    done = run_service(
        lambda: services.start_submission(_user(), sub.credential),
        lambda new: f"Attempt {new.attempt} started with your evidence from the last one.",
    )
    return _back(done.value.public_id if done.value is not None else public_id)


@bp.get("/submissions/<public_id>/evidence/<link_id>/file")
def evidence_file(public_id: str, link_id: str) -> Response:
    """The (frozen) file of a submitted item, through a short-lived signed URL."""
    sub = access.get_submission(public_id)
    user = _user()
    if sub.learner_id != user.id:
        # Assessors, admins, moderators and internal verifiers of the organization only, never
        # on a draft.
        if not user.has_role(sub.organization_id, Role.MODERATOR, Role.INTERNAL_VERIFIER):
            access.get_submission_for_assessor(user, sub.organization, public_id)
        elif sub.state == SubmissionState.DRAFT:
            abort(404)
    url = access.frozen_file_url(user, sub, link_id, inline=request.args.get("inline") == "1")
    return redirect(url)


@bp.get("/notifications")
def notifications() -> str:
    """Unread notifications."""
    return render_template(
        "submissions/notifications.html",
        notifications=unread_notifications(_user()),
        form=EmptyForm(),
    )


@bp.post("/notifications/read")
def read_notifications() -> Response:
    """Mark all notifications read."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    mark_notifications_read(_user())
    commit()
    return redirect(url_for("submissions.notifications"))


# The other page modules of this blueprint register their routes on bp when imported.
from portfolio.submissions import (  # noqa: E402,F401
    marking_admin_views,
    review_views,
    witness_views,
    workflow_views,
)
