"""Worker pages (map evidence, submit, follow the decision) and assessor pages (queue, claim,
review)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portfolio.accounts.models import Role
from portfolio.accounts.services import get_organization, require_role
from portfolio.core.errors import Conflict, DomainError
from portfolio.core.ids import is_public_id
from portfolio.evidence.models import EvidenceItem, EvidenceState
from portfolio.extensions import db
from portfolio.frameworks.pass_rule import IncompleteScores
from portfolio.submissions import services
from portfolio.submissions.forms import (
    AttachEvidenceForm,
    EmptyForm,
    NoteForm,
    QueueFilterForm,
    SubmitForm,
)
from portfolio.submissions.models import SubmissionState

bp = Blueprint("submissions", __name__)


def _user():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()  # type: ignore[attr-defined]


def _credential(slug: str, public_id: str):  # type: ignore[no-untyped-def]
    from portfolio.badges.models import Credential

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
    try:
        sub = services.start_submission(_user(), cred)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(request.referrer or url_for("submissions.my_submissions"))
    db.session.commit()
    return redirect(url_for("submissions.show_submission", public_id=sub.public_id))


@bp.get("/submissions")
def my_submissions() -> str:
    """The worker's attempts, newest first."""
    return render_template("submissions/mine.html", submissions=services.my_submissions(_user()))


@bp.get("/submissions/<public_id>")
def show_submission(public_id: str) -> str:
    """Map evidence to elements (draft), or follow the state and read the decision."""
    sub = services.get_own_submission(_user(), public_id)
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
    attempts = services.attempts_of(sub.learner, sub.credential)
    can_retry = sub.state == SubmissionState.NEEDS_REVISION and attempts[-1].id == sub.id
    return render_template(
        "submissions/show.html",
        sub=sub,
        attach_form=attach_form,
        note_form=NoteForm(),
        # A refused submit shows its own form again, with the error beside the tick.
        submit_form=g.get("refused_submit_form") or SubmitForm(),
        empty_form=EmptyForm(),
        missing=services.missing_required_elements(sub),
        scores=services.scores_by_element(sub.review),
        can_retry=can_retry,
        attempts=attempts,
        inline_kind=services.inline_kind,
    )


def _kind_label(item: EvidenceItem) -> str:
    from portfolio.core.labels import label, type_label

    return type_label(item.media_type) if item.kind == "file" else label(item.kind)


def _back(sub_public_id: str, anchor: str = "") -> Response:
    return redirect(url_for("submissions.show_submission", public_id=sub_public_id) + anchor)


def _commit_or_flash(action: Callable[[], object], success: str) -> bool:
    """Run one service call: commit and confirm it, or roll back and show the rule it broke."""
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return False
    db.session.commit()
    flash(success, "success")
    return True


@bp.post("/submissions/<public_id>/evidence")
def attach_evidence(public_id: str) -> Response:
    """Attach a library item to an element (saved at once: drafts save as they go)."""
    sub = services.get_own_submission(_user(), public_id)
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
    sub = services.get_own_submission(_user(), public_id)
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
    sub = services.get_own_submission(_user(), public_id)
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
    sub = services.get_own_submission(_user(), public_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        g.refused_submit_form = form
        return show_submission(public_id), 422
    try:
        services.submit(_user(), sub, form.note.data or "")
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "info")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return show_submission(public_id), 422
    else:
        db.session.commit()
        flash("Submitted. An assessor will review your evidence; you will be notified.", "success")
    return _back(public_id)


@bp.post("/submissions/<public_id>/withdraw")
def withdraw(public_id: str) -> Response:
    """Withdraw before an assessor claims it."""
    sub = services.get_own_submission(_user(), public_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    frozen: list[str] = []
    if _commit_or_flash(
        lambda: frozen.extend(services.withdraw(_user(), sub)),
        "Your submission has been withdrawn.",
    ):
        services.discard_frozen_copies(frozen)
    return _back(public_id)


@bp.post("/submissions/<public_id>/retry")
def start_next_attempt(public_id: str) -> Response:
    """Start the next attempt after "needs revision", pre-filled from this one."""
    sub = services.get_own_submission(_user(), public_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        new = services.start_submission(_user(), sub.credential)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(public_id)
    db.session.commit()
    flash(f"Attempt {new.attempt} started with your evidence from the last one.", "success")
    return _back(new.public_id)


@bp.get("/submissions/<public_id>/evidence/<link_id>/file")
def evidence_file(public_id: str, link_id: str) -> Response:
    """The (frozen) file of a submitted item, through a short-lived signed URL."""
    sub = services.get_submission(public_id)
    user = _user()
    if sub.learner_id != user.id:
        # Assessors and admins of the organization only, and never on their own work.
        services.get_submission_for_assessor(user, sub.organization, public_id)
    url = services.frozen_file_url(user, sub, link_id, inline=request.args.get("inline") == "1")
    return redirect(url)


@bp.get("/notifications")
def notifications() -> str:
    """Unread notifications."""
    return render_template(
        "submissions/notifications.html",
        notifications=services.unread_notifications(_user()),
        form=EmptyForm(),
    )


@bp.post("/notifications/read")
def read_notifications() -> Response:
    """Mark all notifications read."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.mark_notifications_read(_user())
    db.session.commit()
    return redirect(url_for("submissions.notifications"))


# -- assessor ---------------------------------------------------------------------------------
OLDER_CHOICES = [
    ("", "Any time"),
    ("1", "1 day"),
    ("3", "3 days"),
    ("7", "7 days"),
    ("14", "14 days"),
    ("30", "30 days"),
]


@bp.get("/o/<slug>/queue")
def queue(slug: str) -> str:
    """The organization's review queue, oldest first, with filters and keyset pages."""
    from portfolio.badges.models import Credential

    org = get_organization(slug)
    require_role(_user(), org, Role.ASSESSOR, Role.ADMIN)
    credentials = list(
        db.session.scalars(
            select(Credential).where(Credential.organization_id == org.id).order_by(Credential.name)
        )
    )
    form = QueueFilterForm(request.args)
    form.credential.choices = [("", "All credentials")] + [
        (c.public_id, c.name) for c in credentials
    ]
    form.older.choices = OLDER_CHOICES
    by_public = {c.public_id: c.id for c in credentials}
    older = request.args.get("older", "")
    filters = services.QueueFilter(
        credential_id=by_public.get(request.args.get("credential", "")),
        mine=request.args.get("mine") in {"y", "1", "on", "true"},
        # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
        older_than_days=min(int(older), 3650) if older.isascii() and older.isdigit() else None,
    )
    page = services.review_queue(_user(), org, filters, request.args.get("after") or None)
    next_args = {k: v for k, v in request.args.items() if k != "after"}
    return render_template(
        "submissions/queue.html",
        org=org,
        page=page,
        form=form,
        next_args=next_args,
        action_form=EmptyForm(),
        expiring=services.expiring_claims(_user()),
    )


@bp.get("/o/<slug>/reviews/mine")
def my_decisions(slug: str) -> str:
    """The assessor's own past decisions in this organization."""
    from portfolio.submissions.decisions import my_decisions as decisions

    org = get_organization(slug)
    return render_template("submissions/decisions.html", org=org, reviews=decisions(_user(), org))


@bp.post("/o/<slug>/queue/<public_id>/claim")
def claim(slug: str, public_id: str) -> Response:
    """Claim a submission under a lease, then open it."""
    org = get_organization(slug)
    if not EmptyForm().validate_on_submit():
        abort(400)
    sub = services.get_submission_for_assessor(_user(), org, public_id)
    if not _commit_or_flash(
        lambda: services.claim(_user(), org, sub),
        "Claimed: nobody else can score it while you hold it.",
    ):
        return redirect(url_for("submissions.queue", slug=slug))
    return redirect(url_for("submissions.review", slug=slug, public_id=public_id))


@bp.post("/o/<slug>/queue/<public_id>/release")
def release(slug: str, public_id: str) -> Response:
    """Give a claimed submission back to the queue."""
    org = get_organization(slug)
    if not EmptyForm().validate_on_submit():
        abort(400)
    sub = services.get_submission_for_assessor(_user(), org, public_id)
    _commit_or_flash(lambda: services.release(_user(), org, sub), "Released back to the queue.")
    return redirect(url_for("submissions.queue", slug=slug))


def _score_inputs(sub) -> list[services.ScoreInput]:  # type: ignore[no-untyped-def]
    inputs = []
    for element in sub.rubric_version.elements:
        raw = request.form.get(f"level-{element.public_id}", "")
        inputs.append(
            services.ScoreInput(
                element_public_id=element.public_id,
                level_id=int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None,
                remark=request.form.get(f"remark-{element.public_id}", ""),
            )
        )
    return inputs


@bp.route("/o/<slug>/review/<public_id>", methods=["GET", "POST"])
def review(slug: str, public_id: str) -> Response | str:
    """Evidence by element beside the rubric row; preview the outcome, then confirm."""
    org = get_organization(slug)
    user = _user()
    sub = services.get_submission_for_assessor(user, org, public_id)
    holds_claim = (
        sub.claimed_by_id == user.id
        and sub.claim_is_live()
        and sub.state == SubmissionState.IN_REVIEW
    )
    preview = None
    problem = None
    inputs = _score_inputs(sub) if request.method == "POST" else []
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        try:
            if request.form.get("action") == "confirm":
                services.record_review(user, org, sub, inputs, request.form.get("feedback", ""))
                db.session.commit()
                flash("Review recorded. The worker has been notified.", "success")
                return redirect(url_for("submissions.queue", slug=slug))
            preview = services.preview_outcome(sub, inputs)
        except IncompleteScores as exc:
            problem = str(exc)
        except Conflict as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for("submissions.review", slug=slug, public_id=public_id))
        except DomainError as exc:
            db.session.rollback()
            problem = exc.message
    chosen = {s.element_public_id: s for s in inputs}
    links_by_element: dict[int, list] = {}  # type: ignore[type-arg]
    for link in sub.evidence_links:
        links_by_element.setdefault(link.element_id, []).append(link)
    return render_template(
        "submissions/review.html",
        org=org,
        sub=sub,
        holds_claim=holds_claim,
        preview=preview,
        problem=problem,
        chosen=chosen,
        feedback=request.form.get("feedback", ""),
        links_by_element=links_by_element,
        inline_kind=services.inline_kind,
        scores=services.scores_by_element(sub.review),
        action_form=EmptyForm(),
    )


@bp.get("/o/<slug>/submissions/<public_id>/history")
def history(slug: str, public_id: str) -> str:
    """Every recorded action on a submission (admins)."""
    org = get_organization(slug)
    if not is_public_id(public_id):
        abort(404)
    sub = services.get_submission(public_id)
    events = services.submission_history(_user(), org, sub)
    return render_template("submissions/history.html", org=org, sub=sub, events=events)
