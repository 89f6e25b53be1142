"""Submitted work of an organization in keyset pages, and one submission with its results."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import selectinload

from portfolio.api import schemas as s
from portfolio.api.blueprint import (
    actor,
    bp,
    need,
    organization,
    staff,
)
from portfolio.api.cursors import decode_cursor, encode_cursor
from portfolio.api.schemas import With
from portfolio.core.errors import NotFound
from portfolio.core.security import public
from portfolio.extensions import db


@bp.get("/organizations/<slug>/submissions")
@bp.arguments(s.SubmissionArgs, location="query")
@bp.response(200, s.SubmissionPage)
@public
def list_submissions(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """Submitted work of the organization, newest first, in keyset pages (assessors and admins).
    Drafts stay private to their workers."""
    from portfolio.credentials.models import Credential
    from portfolio.submissions.models import Submission, SubmissionState

    need("read")
    org = organization(slug)
    staff(org)
    query = select(Submission).where(
        Submission.organization_id == org.id,
        Submission.state != SubmissionState.DRAFT,
        Submission.submitted_at.is_not(None),
    )
    if args["state"]:
        query = query.where(Submission.state == args["state"])
    if args["credential"]:
        query = query.join(Credential, Submission.credential_id == Credential.id).where(
            Credential.public_id == args["credential"]
        )
    if args["cursor"]:
        at, ident = decode_cursor(args["cursor"])
        query = query.where(tuple_(Submission.submitted_at, Submission.id) < tuple_(at, ident))
    limit = args["limit"]
    rows = list(
        db.session.scalars(
            query.options(selectinload(Submission.learner), selectinload(Submission.credential))
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return {
        "items": rows,
        "next_cursor": encode_cursor(last.submitted_at, last.id)
        if more and last and last.submitted_at
        else None,
    }


@bp.get("/organizations/<slug>/submissions/<submission_id>")
@bp.response(200, s.SubmissionDetailOut)
@public
def get_submission(slug: str, submission_id: str) -> Any:
    """One submission with its decision and the level given to each rubric element (its worker,
    or assessors and admins of the organization)."""
    from portfolio.submissions import access
    from portfolio.submissions.models import SubmissionState

    need("read")
    org = organization(slug)
    sub = access.get_submission(submission_id)
    user = actor()
    if (
        sub.organization_id != org.id
        or not access.can_view_submission(user, sub)
        or (sub.learner_id != user.id and sub.state == SubmissionState.DRAFT)
    ):
        raise NotFound("No such submission.")
    review = sub.review
    scores = access.scores_by_element(review)
    results = []
    for element in sub.rubric_version.elements:
        score = scores.get(element.id)
        results.append(
            {
                "element": element.public_id,
                "title": element.title,
                "level": score.level.name if score else None,
                "remark": score.remark if score else None,
            }
        )
    return With(sub, outcome=str(review.outcome) if review else None, results=results)
