"""Pages of the marking workflow: moderation, internal verification and appeals (the witness
pages are in `witness_views`, the admin pages in `marking_admin_views`)."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from portfolio.accounts.models import Membership, Organization, Role, User
from portfolio.accounts.organizations import get_organization, require_role
from portfolio.core.ids import is_public_id
from portfolio.extensions import db
from portfolio.submissions import (
    access,
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
    Submission,
    WaitingFor,
)
from portfolio.submissions.review_views import _score_inputs, score_step
from portfolio.submissions.views import _commit_or_flash, _user, bp


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
