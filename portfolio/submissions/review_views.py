"""Assessor pages of the submissions blueprint: the review queue, claims, the scoring page (with
the `score_step` shared by moderation and appeals), an assessor's decisions and history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from portfolio.accounts.models import Role
from portfolio.accounts.organizations import get_organization, require_role
from portfolio.core.errors import Conflict
from portfolio.core.forms import EmptyForm
from portfolio.core.ids import is_public_id
from portfolio.core.params import parse_int
from portfolio.core.views import run_service
from portfolio.credentials.models import Credential
from portfolio.extensions import db
from portfolio.frameworks.pass_rule import Evaluation, IncompleteScores
from portfolio.submissions import access, assessor_queue, scoring
from portfolio.submissions.forms import (
    QueueFilterForm,
)
from portfolio.submissions.models import Submission, SubmissionState
from portfolio.submissions.views import _commit_or_flash, _user, bp

T = TypeVar("T")


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
    older = parse_int(request.args.get("older", ""))
    filters = assessor_queue.QueueFilter(
        credential_id=by_public.get(request.args.get("credential", "")),
        mine=request.args.get("mine") in {"y", "1", "on", "true"},
        older_than_days=None if older is None else min(older, 3650),
    )
    page = assessor_queue.review_queue(_user(), org, filters, request.args.get("after") or None)
    next_args = {k: v for k, v in request.args.items() if k != "after"}
    return render_template(
        "submissions/queue.html",
        org=org,
        page=page,
        form=form,
        next_args=next_args,
        action_form=EmptyForm(),
        expiring=assessor_queue.expiring_claims(_user()),
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
    sub = access.get_submission_for_assessor(_user(), org, public_id)
    if not _commit_or_flash(
        lambda: assessor_queue.claim(_user(), org, sub),
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
    sub = access.get_submission_for_assessor(_user(), org, public_id)
    _commit_or_flash(
        lambda: assessor_queue.release(_user(), org, sub), "Released back to the queue."
    )
    return redirect(url_for("submissions.queue", slug=slug))


def _score_inputs(sub) -> list[scoring.ScoreInput]:  # type: ignore[no-untyped-def]
    inputs = []
    for element in sub.rubric_version.elements:
        raw = request.form.get(f"level-{element.public_id}", "")
        inputs.append(
            scoring.ScoreInput(
                element_public_id=element.public_id,
                level_id=parse_int(raw),
                remark=request.form.get(f"remark-{element.public_id}", ""),
            )
        )
    return inputs


@dataclass
class ScoreStep:
    """What one POST of a scoring page did: redirect, or show a preview or a problem."""

    redirect: Response | None = None
    preview: tuple[Evaluation, str] | None = None
    problem: str | None = None


def score_step(
    sub: Submission,
    inputs: list[scoring.ScoreInput],
    decide: Callable[[], T],
    success: Callable[[T], str] | str,
    *,
    done_url: str,
    conflict_url: str,
) -> ScoreStep:
    """On "confirm" run `decide` through `run_service` (a conflict flashes and goes to
    `conflict_url`, another refusal is shown as the problem); otherwise preview the outcome."""
    try:
        if request.form.get("action") == "confirm":
            done = run_service(decide, success, flash_error=False)
            if done:
                return ScoreStep(redirect=redirect(done_url))
            if isinstance(done.error, Conflict):
                flash(done.message, "error")
                return ScoreStep(redirect=redirect(conflict_url))
            return ScoreStep(problem=done.message)
        shown = run_service(lambda: scoring.preview_outcome(sub, inputs), flash_error=False)
    except IncompleteScores as exc:
        return ScoreStep(problem=str(exc))
    return ScoreStep(preview=shown.value) if shown else ScoreStep(problem=shown.message)


@bp.route("/o/<slug>/review/<public_id>", methods=["GET", "POST"])
def review(slug: str, public_id: str) -> Response | str:
    """Evidence by element beside the rubric row; preview the outcome, then confirm."""
    from portfolio.submissions import marking, marking_plans
    from portfolio.submissions.models import MarkingMode, WaitingFor
    from portfolio.submissions.workflow_views import review_context

    org = get_organization(slug)
    user = _user()
    sub = access.get_submission_for_assessor(user, org, public_id)
    is_double = marking_plans.plan_for(sub).mode == MarkingMode.DOUBLE
    if is_double:
        # Double marking: no exclusive claim; each of two different assessors marks once.
        holds_claim = (
            sub.state in assessor_queue.QUEUE_STATES
            and sub.waiting_for in (None, WaitingFor.MARKER)
            and user.id not in marking.markers_of_round(sub)
            and marking.is_assigned(user, sub.credential_id)
            and (sub.allocated_to_id in (None, user.id) or bool(marking.round_markings(sub)))
        )
    else:
        holds_claim = (
            sub.claimed_by_id == user.id
            and sub.claim_is_live()
            and sub.state == SubmissionState.IN_REVIEW
            and sub.waiting_for is None
        )
    preview = None
    problem = None
    inputs = _score_inputs(sub) if request.method == "POST" else []
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        step = score_step(
            sub,
            inputs,
            lambda: scoring.record_review(user, org, sub, inputs, request.form.get("feedback", "")),
            lambda decided: (
                "Review recorded. The worker has been notified."
                if decided is not None
                else "Recorded; an internal verifier checks this decision first."
                if sub.waiting_for == WaitingFor.VERIFIER
                else "Marking recorded."
            ),
            done_url=url_for("submissions.queue", slug=slug),
            conflict_url=url_for("submissions.review", slug=slug, public_id=public_id),
        )
        if step.redirect is not None:
            return step.redirect
        preview, problem = step.preview, step.problem
    chosen = {s.element_public_id: s for s in inputs}
    return render_template(
        "submissions/review.html",
        org=org,
        sub=sub,
        holds_claim=holds_claim,
        can_score=holds_claim,
        is_double=is_double,
        needs_reason=False,
        action_url=url_for("submissions.review", slug=slug, public_id=public_id),
        preview=preview,
        problem=problem,
        chosen=chosen,
        feedback=request.form.get("feedback", ""),
        scores=access.scores_by_element(sub.review),
        action_form=EmptyForm(),
        **review_context(user, sub),
    )


@bp.get("/o/<slug>/submissions/<public_id>/history")
def history(slug: str, public_id: str) -> str:
    """Every recorded action on a submission (admins)."""
    from portfolio.submissions import history as trail

    org = get_organization(slug)
    if not is_public_id(public_id):
        abort(404)
    sub = access.get_submission(public_id)
    rows = trail.submission_trail(_user(), org, sub)
    return render_template("submissions/history.html", org=org, sub=sub, rows=rows)
