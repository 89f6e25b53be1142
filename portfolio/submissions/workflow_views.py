"""Pages of the marking workflow: moderation, internal verification, appeals, witness links,
the admin's marking settings, allocation and overrides, and the readable audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Response as FlaskResponse
from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from portfolio.accounts.models import Membership, Organization, Role, User
from portfolio.accounts.services import get_organization, require_role
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.security import public
from portfolio.core.views import run_service
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.submissions import (
    access,
    allocation,
    appeals,
    history,
    marking,
    marking_plans,
    moderation,
    services,
    verification,
    witness,
)
from portfolio.submissions.models import (
    MarkingMode,
    Submission,
    VerificationMode,
    WaitingFor,
)
from portfolio.submissions.views import _commit_or_flash, _score_inputs, _user, bp, score_step


def _org_submission(slug: str, public_id: str) -> tuple[Organization, Submission]:
    org = get_organization(slug)
    if not is_public_id(public_id):
        abort(404)
    sub = access.get_submission(public_id)
    if sub.organization_id != org.id:
        abort(404)
    return org, sub


def _members(org: Organization, *roles: Role) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organization_id == org.id, Membership.role.in_(list(roles)))
            .distinct()
            .order_by(User.display_name)
        )
    )


def review_context(user: User, sub: Submission) -> dict[str, object]:
    """What every scoring page shows beside each element: evidence, witness testimony,
    earlier attempts' levels and remarks, and the markings this person may see."""
    links_by_element: dict[int, list] = {}  # type: ignore[type-arg]
    for link in sub.evidence_links:
        links_by_element.setdefault(link.element_id, []).append(link)
    testimonies = witness.testimonies_by_element(sub)
    shown = marking.visible_markings(user, sub)
    levels_by_marking = {m.id: {s.element_id: s for s in m.scores} for m in shown if m.scores}
    return {
        "links_by_element": links_by_element,
        "testimonies": testimonies,
        "earlier": history.earlier_feedback(sub),
        "shown_markings": shown,
        "levels_by_marking": levels_by_marking,
        "settings": marking_plans.plan_for(sub),
        "inline_kind": services.inline_kind,
    }


def _scoring_page(
    org: Organization,
    sub: Submission,
    *,
    template_title: str,
    can_score: bool,
    needs_reason: bool,
    action_url: str,
    problem: str | None = None,
    preview: object = None,
) -> str:
    inputs = _score_inputs(sub) if request.method == "POST" else []
    return render_template(
        "submissions/review.html",
        org=org,
        sub=sub,
        holds_claim=can_score,
        can_score=can_score,
        needs_reason=needs_reason,
        action_url=action_url,
        page_title=template_title,
        preview=preview,
        problem=problem,
        chosen={s.element_public_id: s for s in inputs},
        feedback=request.form.get("feedback", ""),
        reason=request.form.get("reason", ""),
        scores={},
        action_form=None,
        **review_context(_user(), sub),
    )


# -- moderation ----------------------------------------------------------------------------------
@bp.get("/o/<slug>/moderation")
def moderation_queue(slug: str) -> str:
    """Submissions whose markers disagree, for the organization's moderators."""
    org = get_organization(slug)
    require_role(_user(), org, Role.MODERATOR)
    rows = list(
        db.session.scalars(
            select(Submission)
            .where(
                Submission.organization_id == org.id,
                Submission.waiting_for == WaitingFor.MODERATOR,
                Submission.learner_id != _user().id,
            )
            .order_by(Submission.submitted_at)
            .limit(200)
        )
    )
    return render_template(
        "submissions/overseer_list.html",
        org=org,
        title="Moderation",
        intro="The two markers disagree on these submissions. You see both markings and decide.",
        rows=rows,
        endpoint="submissions.moderate",
    )


@bp.route("/o/<slug>/moderate/<public_id>", methods=["GET", "POST"])
def moderate(slug: str, public_id: str) -> Response | str:
    """Both markings side by side; the moderator records the final levels with a reason."""
    org, sub = _org_submission(slug, public_id)
    user = _user()
    require_role(user, org, Role.MODERATOR)
    if sub.learner_id == user.id:
        abort(403)
    problem = None
    preview = None
    if request.method == "POST":
        inputs = _score_inputs(sub)
        step = score_step(
            sub,
            inputs,
            lambda: moderation.moderate(user, org, sub, inputs, request.form.get("reason", "")),
            "Moderation recorded.",
            done_url=url_for("submissions.moderation_queue", slug=slug),
            conflict_url=url_for("submissions.moderation_queue", slug=slug),
        )
        if step.redirect is not None:
            return step.redirect
        preview, problem = step.preview, step.problem
    can = sub.waiting_for == WaitingFor.MODERATOR and user.id not in marking.markers_of_round(sub)
    return _scoring_page(
        org,
        sub,
        template_title="Moderate",
        can_score=can,
        needs_reason=True,
        action_url=url_for("submissions.moderate", slug=slug, public_id=public_id),
        problem=problem,
        preview=preview,
    )


# -- internal verification -------------------------------------------------------------------------
@bp.get("/o/<slug>/verification")
def verification_queue(slug: str) -> str:
    """Decisions sampled for internal verification."""
    org = get_organization(slug)
    require_role(_user(), org, Role.INTERNAL_VERIFIER)
    samples = verification.waiting_samples(_user(), org)
    return render_template(
        "submissions/overseer_list.html",
        org=org,
        title="Internal verification",
        intro="Decisions drawn for checking. Agree, or send one back to the assessor.",
        rows=[s.submission for s in samples if s.submission.learner_id != _user().id],
        samples={s.submission_id: s for s in samples},
        endpoint="submissions.verify_decision",
    )


@bp.route("/o/<slug>/verify/<public_id>", methods=["GET", "POST"])
def verify_decision(slug: str, public_id: str) -> Response | str:
    """The evidence, every marking and the decision; agree or send back with a remark."""
    org, sub = _org_submission(slug, public_id)
    user = _user()
    verification.check_may_verify(user, org, sub)
    sample = verification.latest_sample(sub)
    if request.method == "POST":
        agrees = request.form.get("verdict") == "agree"
        if _commit_or_flash(
            lambda: verification.verify(
                user, org, sub, agrees=agrees, remark=request.form.get("remark", "")
            ),
            "You agreed with the decision." if agrees else "Sent back to the assessor.",
        ):
            return redirect(url_for("submissions.verification_queue", slug=slug))
        return redirect(url_for("submissions.verify_decision", slug=slug, public_id=public_id))
    round_markings = []
    if sample is not None:
        round_markings = sorted(
            marking.round_markings(sub, sample.round).values(), key=lambda m: m.id
        )
    return render_template(
        "submissions/verify.html",
        org=org,
        sub=sub,
        sample=sample,
        markings=round_markings,
        levels_by_marking={m.id: {s.element_id: s for s in m.scores} for m in round_markings},
        **{
            k: v
            for k, v in review_context(user, sub).items()
            if k not in {"shown_markings", "levels_by_marking"}
        },
    )


@bp.get("/o/<slug>/cases")
def cases(slug: str) -> str:
    """After-mode disagreements of internal verifiers, for the admin."""
    org = get_organization(slug)
    return render_template(
        "submissions/cases.html", org=org, cases=verification.open_cases(_user(), org)
    )


@bp.post("/o/<slug>/cases/<sample_id>/close")
def close_case(slug: str, sample_id: str) -> Response:
    """Close a case: the decision stands, or its badge is revoked with a reason."""
    org = get_organization(slug)
    require_role(_user(), org, Role.ADMIN)
    action = request.form.get("action", "keep")
    if action not in {"keep", "revoke"}:
        abort(400)
    _commit_or_flash(
        lambda: verification.close_case(
            _user(), org, sample_id, request.form.get("remark", ""), revoke=action == "revoke"
        ),
        "Case closed: the badge was revoked."
        if action == "revoke"
        else "Case closed: the decision stands.",
    )
    return redirect(url_for("submissions.cases", slug=slug))


# -- appeals -------------------------------------------------------------------------------------
@bp.post("/submissions/<public_id>/appeal")
def lodge_appeal(public_id: str) -> Response:
    """The worker appeals a final "not passed"."""
    sub = access.get_own_submission(_user(), public_id)
    _commit_or_flash(
        lambda: appeals.lodge_appeal(_user(), sub, request.form.get("reason", "")),
        "Appeal sent. A different assessor will review your work; you will be told the outcome.",
    )
    return redirect(url_for("submissions.show_submission", public_id=public_id))


@bp.get("/o/<slug>/appeals")
def appeals_queue(slug: str) -> str:
    """Open appeals this assessor may re-review (never their own decisions)."""
    org = get_organization(slug)
    rows = [a.submission for a in appeals.open_appeals(_user(), org)]
    return render_template(
        "submissions/overseer_list.html",
        org=org,
        title="Appeals",
        intro="Workers appealed these decisions. You took no part in them; your decision is final.",
        rows=rows,
        endpoint="submissions.appeal_review",
    )


@bp.route("/o/<slug>/appeals/<public_id>", methods=["GET", "POST"])
def appeal_review(slug: str, public_id: str) -> Response | str:
    """Re-review an appealed submission and decide finally."""
    org, sub = _org_submission(slug, public_id)
    user = _user()
    appeal = appeals.check_may_review_appeal(user, org, sub)
    problem = None
    preview = None
    if request.method == "POST":
        inputs = _score_inputs(sub)
        step = score_step(
            sub,
            inputs,
            lambda: appeals.decide_appeal(user, org, sub, inputs, request.form.get("reason", "")),
            "Appeal decided. The worker has been told.",
            done_url=url_for("submissions.appeals_queue", slug=slug),
            conflict_url=url_for("submissions.appeals_queue", slug=slug),
        )
        if step.redirect is not None:
            return step.redirect
        preview, problem = step.preview, step.problem
    return _scoring_page(
        org,
        sub,
        template_title=f"Appeal: “{appeal.reason[:80]}”",
        can_score=appeal.state == "open",
        needs_reason=True,
        action_url=url_for("submissions.appeal_review", slug=slug, public_id=public_id),
        problem=problem,
        preview=preview,
    )


# -- witness testimony -----------------------------------------------------------------------------
@bp.post("/submissions/<public_id>/witnesses")
def request_witness(public_id: str) -> Response:
    """The worker names a witness for one element."""
    sub = access.get_own_submission(_user(), public_id)
    element = request.form.get("element", "")
    _commit_or_flash(
        lambda: witness.request_testimony(
            _user(),
            sub,
            element,
            name=request.form.get("witness_name", ""),
            role=request.form.get("witness_role", ""),
            email=request.form.get("witness_email", ""),
        ),
        "The witness has been sent a link to confirm.",
    )
    return redirect(
        url_for("submissions.show_submission", public_id=public_id) + f"#element-{element}"
    )


@bp.post("/submissions/<public_id>/witnesses/<wid>/revoke")
def revoke_witness(public_id: str, wid: str) -> Response:
    """Withdraw a witness link."""
    sub = access.get_own_submission(_user(), public_id)
    _commit_or_flash(lambda: witness.revoke(_user(), sub, wid), "The witness link was withdrawn.")
    return redirect(url_for("submissions.show_submission", public_id=public_id))


@bp.post("/submissions/<public_id>/witnesses/<wid>/resend")
def resend_witness(public_id: str, wid: str) -> Response:
    """Send the witness a fresh link."""
    sub = access.get_own_submission(_user(), public_id)
    _commit_or_flash(lambda: witness.resend(_user(), sub, wid), "A new link has been sent.")
    return redirect(url_for("submissions.show_submission", public_id=public_id))


def _own_item(public_id: str) -> EvidenceItem:
    from portfolio.evidence import services as evidence_services

    item = evidence_services.get_item(_user(), public_id)
    if item.owner_id != _user().id:
        abort(404)
    return item


def _item_page(public_id: str) -> Response:
    return redirect(url_for("evidence.show_item", public_id=public_id) + "#witnesses")


@bp.post("/portfolio/items/<public_id>/witnesses")
def request_item_witness(public_id: str) -> Response:
    """The worker names a witness for one item of their evidence library."""
    item = _own_item(public_id)
    _commit_or_flash(
        lambda: witness.request_item_testimony(
            _user(),
            item,
            name=request.form.get("witness_name", ""),
            role=request.form.get("witness_role", ""),
            email=request.form.get("witness_email", ""),
        ),
        "The witness has been sent a link to confirm.",
    )
    return _item_page(public_id)


@bp.post("/portfolio/items/<public_id>/witnesses/<wid>/revoke")
def revoke_item_witness(public_id: str, wid: str) -> Response:
    """Withdraw the witness link of an item."""
    item = _own_item(public_id)
    _commit_or_flash(
        lambda: witness.revoke_testimony(_user(), witness.own_item_testimony(_user(), item, wid)),
        "The witness link was withdrawn.",
    )
    return _item_page(public_id)


@bp.post("/portfolio/items/<public_id>/witnesses/<wid>/resend")
def resend_item_witness(public_id: str, wid: str) -> Response:
    """Send the witness of an item a fresh link."""
    item = _own_item(public_id)
    _commit_or_flash(
        lambda: witness.resend_testimony(_user(), witness.own_item_testimony(_user(), item, wid)),
        "A new link has been sent.",
    )
    return _item_page(public_id)


@bp.route("/witness/<token>", methods=["GET", "POST"])
@public
def witness_page(token: str) -> Response | str | tuple[str, int]:
    """The witness's page: exactly the evidence of one element (or the one evidence item),
    and confirm or decline."""
    try:
        testimony = witness.from_token(token)
    except NotFound as exc:
        return render_template("submissions/witness_gone.html", message=exc.message), 404
    problem = None
    if request.method == "POST":
        choice = request.form.get("answer")
        if choice not in {"confirm", "decline"}:
            problem = "Choose whether you confirm or decline."
        else:
            done = run_service(
                lambda: witness.respond(
                    testimony,
                    confirms=choice == "confirm",
                    statement=request.form.get("statement", ""),
                ),
                flash_error=False,
            )
            if done:
                return render_template(
                    "submissions/witness_gone.html",
                    message="Thank you. Your answer has been recorded; this link is now closed.",
                    thanks=True,
                )
            problem = done.message
    return render_template(
        "submissions/witness.html",
        t=testimony,
        token=token,
        links=witness.evidence_of(testimony),
        item=witness.item_of(testimony),
        problem=problem,
        statement=request.form.get("statement", ""),
        inline_kind=services.inline_kind,
    )


@bp.get("/witness/<token>/evidence/<link_id>")
@public
def witness_file(token: str, link_id: str) -> Response | tuple[str, int]:
    """One file of the witness's element (a short-lived signed URL), and nothing else."""
    from portfolio.storage import get_storage

    try:
        testimony = witness.from_token(token)
    except NotFound as exc:
        return render_template("submissions/witness_gone.html", message=exc.message), 404
    item = witness.item_of(testimony)
    if item is not None:
        # An item testimony: its one file, nothing else.
        if item.public_id != link_id or not item.storage_key:
            abort(404)
        return redirect(
            get_storage().signed_download_url(
                item.storage_key,
                filename=item.original_filename or "evidence",
                content_type=item.media_type or "application/octet-stream",
                inline=False,
            )
        )
    link = next((x for x in witness.evidence_of(testimony) if x.public_id == link_id), None)
    key = link.frozen_key if link else None
    if link is not None and key is None and link.evidence_item is not None:
        key = link.evidence_item.storage_key
    if link is None or not key:
        abort(404)
    return redirect(
        get_storage().signed_download_url(
            key,
            filename=link.original_filename or "evidence",
            content_type=link.media_type or "application/octet-stream",
            inline=False,
        )
    )


# -- admin: settings, assignments, allocation, overrides -----------------------------------------
def _credential(org: Organization, public_id: str):  # type: ignore[no-untyped-def]
    from portfolio.credentials.models import Credential

    cred = db.session.scalar(
        select(Credential).where(
            Credential.public_id == public_id, Credential.organization_id == org.id
        )
    )
    if cred is None:
        abort(404)
    return cred


def _int(name: str, default: int | None = 0) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) < 6):
        raise DomainError(f"“{raw}” is not a whole number.")
    return int(raw)


@bp.route("/o/<slug>/credentials/<public_id>/marking", methods=["GET", "POST"])
def marking_settings(slug: str, public_id: str) -> Response | str:
    """A credential's marking workflow, sampling plan, appeal period and assessors."""
    org = get_organization(slug)
    require_role(_user(), org, Role.ADMIN)
    cred = _credential(org, public_id)
    if request.method == "POST":
        action = request.form.get("action", "save")
        if action in {"assign", "unassign"}:
            person = db.session.scalar(
                select(User).where(User.public_id == request.form.get("assessor", ""))
            )
            if person is None:
                abort(404)
            fn = allocation.assign if action == "assign" else allocation.unassign
            _commit_or_flash(
                lambda: fn(_user(), org, cred.id, person),
                f"{person.display_name} {'assigned' if action == 'assign' else 'unassigned'}.",
            )
        else:

            def save() -> None:
                values = marking_plans.SettingsInput(
                    mode=MarkingMode(request.form.get("mode", "single")),
                    is_blind=request.form.get("is_blind") == "y",
                    iqa_rate=_int("iqa_rate") or 0,
                    iqa_first_n=_int("iqa_first_n") or 0,
                    iqa_every_fail=request.form.get("iqa_every_fail") == "y",
                    iqa_every_appeal=request.form.get("iqa_every_appeal") == "y",
                    iqa_mode=VerificationMode(request.form.get("iqa_mode", "hold")),
                    appeal_days=_int("appeal_days", None),
                )
                marking_plans.save_settings(_user(), org, cred.id, values)

            if request.form.get("mode", "single") not in {"single", "double"} or request.form.get(
                "iqa_mode", "hold"
            ) not in {"hold", "after"}:
                abort(400)
            _commit_or_flash(save, "Marking settings saved.")
        return redirect(url_for("submissions.marking_settings", slug=slug, public_id=public_id))
    return render_template(
        "submissions/marking_settings.html",
        org=org,
        cred=cred,
        settings=marking_plans.settings_for(cred.id),
        plan_history=marking_plans.plan_history(cred.id),
        assigned=allocation.assigned_assessors(cred.id),
        assessors=_members(org, Role.ASSESSOR),
    )


@bp.route("/o/<slug>/submissions/<public_id>/manage", methods=["GET", "POST"])
def manage_submission(slug: str, public_id: str) -> Response | str:
    """The admin's overrides on one submission: allocate or reassign, extra attempt, reopen."""
    org, sub = _org_submission(slug, public_id)
    require_role(_user(), org, Role.ADMIN)
    if request.method == "POST":
        action = request.form.get("action")
        reason = request.form.get("reason", "")
        if action == "allocate":
            person = db.session.scalar(
                select(User).where(User.public_id == request.form.get("assessor", ""))
            )
            if person is None:
                abort(404)
            _commit_or_flash(
                lambda: appeals.reassign(_user(), org, sub, person),
                f"Allocated to {person.display_name}.",
            )
        elif action == "extra_attempt":
            _commit_or_flash(
                lambda: appeals.grant_extra_attempt(_user(), org, sub, reason),
                "Another attempt granted; the worker has been told.",
            )
        elif action == "reopen":
            _commit_or_flash(
                lambda: appeals.reopen(_user(), org, sub, reason),
                "Decision reopened: the submission is back with the markers.",
            )
        else:
            abort(400)
        return redirect(url_for("submissions.manage_submission", slug=slug, public_id=public_id))
    return render_template(
        "submissions/manage.html",
        org=org,
        sub=sub,
        assessors=[a for a in _members(org, Role.ASSESSOR, Role.ADMIN) if a.id != sub.learner_id],
        appeal=appeals.appeal_of(sub),
    )


# -- the audit trail -------------------------------------------------------------------------------
def _date(name: str) -> datetime | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw[:10]).replace(tzinfo=UTC)
    except ValueError:
        return None


@bp.get("/o/<slug>/audit")
def organization_audit(slug: str) -> Response | str:
    """The organization's trail in plain words, filtered by person, credential and dates; CSV."""
    from portfolio.credentials.models import Credential

    org = get_organization(slug)
    require_role(_user(), org, Role.ADMIN)
    people = _members(
        org, Role.ADMIN, Role.ASSESSOR, Role.MODERATOR, Role.INTERNAL_VERIFIER, Role.LEARNER
    )
    credentials = list(
        db.session.scalars(
            select(Credential).where(Credential.organization_id == org.id).order_by(Credential.name)
        )
    )
    person = next((p for p in people if p.public_id == request.args.get("person")), None)
    cred = next((c for c in credentials if c.public_id == request.args.get("credential")), None)
    until = _date("to")
    flt = history.TrailFilter(
        person_id=person.id if person else None,
        credential_id=cred.id if cred else None,
        since=_date("from"),
        until=until + timedelta(days=1) if until else None,
    )
    rows = history.organization_trail(_user(), org, flt)
    if request.args.get("format") == "csv":
        return FlaskResponse(
            history.trail_csv(rows),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="audit-{org.slug}.csv"'},
        )
    return render_template(
        "submissions/audit.html",
        org=org,
        rows=rows,
        people=people,
        credentials=credentials,
        args=request.args,
    )
