"""Receivers of other domains' events that change submission data; connected by `init_app`."""

from __future__ import annotations

import secrets

from flask import Flask
from markupsafe import Markup
from sqlalchemy import delete, select

from portfolio.accounts.models import User
from portfolio.accounts.signals import account_deleted
from portfolio.core.db import utcnow
from portfolio.evidence.models import EvidenceItem
from portfolio.evidence.signals import item_page_sections
from portfolio.extensions import db
from portfolio.storage import delete_after_commit
from portfolio.submissions.models import (
    Appeal,
    Notification,
    Submission,
    SubmissionEvidence,
    SubmissionState,
    WitnessState,
    WitnessTestimony,
)


def remove_account_submissions(
    sender: Flask, *, user: User, counts: dict[str, int], **_: object
) -> None:
    """A deleted account's submissions: decided ones stay as the organization's assessment
    record, stripped of the worker's notes and files; waiting ones are withdrawn; drafts and
    withdrawn attempts without a decision go. Frozen copies are deleted after commit."""
    now = utcnow()
    subs = list(db.session.scalars(select(Submission).where(Submission.learner_id == user.id)))
    links = list(
        db.session.scalars(
            select(SubmissionEvidence).where(
                SubmissionEvidence.submission_id.in_([s.id for s in subs])
            )
        )
    )
    keys: list[str] = []
    for link in links:
        if link.frozen_key:
            keys.append(link.frozen_key)
        link.frozen_key = None
        link.note = ""
        link.body_html = None
        link.url = None
        link.evidence_item_id = None
        # The worker's words: what they called the item and the name of the file they sent.
        link.title = ""
        link.original_filename = ""
    # Work still waiting for an assessor is withdrawn: nobody may assess (and award) evidence
    # that no longer exists, for a person who has left.
    for sub in subs:
        if sub.state in (SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW):
            sub.state = SubmissionState.WITHDRAWN
            sub.withdrawn_at = now
            sub.claimed_by_id = None
            sub.claim_expires_at = None
    # Rows nobody else relies on: drafts and withdrawn attempts without a decision (a decided
    # attempt, the only kind an award rests on, always has a review).
    removable = [
        s.id
        for s in subs
        if s.state in (SubmissionState.DRAFT, SubmissionState.WITHDRAWN) and not s.reviews
    ]
    for sub in subs:
        sub.note = ""
    db.session.flush()
    if removable:
        db.session.execute(
            delete(SubmissionEvidence).where(SubmissionEvidence.submission_id.in_(removable))
        )
        db.session.execute(delete(Submission).where(Submission.id.in_(removable)))
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))
    counts["witness_testimonies_forgotten"] = _forget_witnesses([s.id for s in subs])
    counts["appeals_cleared"] = _clear_appeals([s.id for s in subs])
    counts["notifications_renamed"] = _rename_in_notifications(user)
    delete_after_commit(keys)
    counts["objects"] = counts.get("objects", 0) + len(keys)
    counts["submissions_removed"] = len(removable)


def _forget_witnesses(submission_ids: list[int]) -> int:
    """Witnesses were named by the worker and wrote about the worker: their name, address and
    statement go (the statement's digest stays, as the signed badges list it); an open
    request is revoked, so its link dies."""
    if not submission_ids:
        return 0
    testimonies = list(
        db.session.scalars(
            select(WitnessTestimony).where(WitnessTestimony.submission_id.in_(submission_ids))
        )
    )
    for t in testimonies:
        t.witness_name = ""
        t.witness_email = ""
        t.statement = ""
        t.nonce = secrets.token_urlsafe(24)
        if t.state == WitnessState.PENDING:
            t.state = WitnessState.REVOKED
    return len(testimonies)


def _clear_appeals(submission_ids: list[int]) -> int:
    """The worker's reasons for appealing are their words: the appeal and its outcome stay."""
    if not submission_ids:
        return 0
    appeals = list(
        db.session.scalars(select(Appeal).where(Appeal.submission_id.in_(submission_ids)))
    )
    for appeal in appeals:
        appeal.reason = ""
    return len(appeals)


def _rename_in_notifications(user: User) -> int:
    """Other people's notifications that name the worker (e.g. an admin told that a worker's
    stacked badge is affected) name a former member instead."""
    from portfolio.accounts.account_settings import DELETED_NAME

    name = user.display_name.strip()
    if len(name) < 3:
        return 0
    rows = list(
        db.session.scalars(
            select(Notification).where(Notification.message.contains(name, autoescape=True))
        )
    )
    for row in rows:
        row.message = row.message.replace(name, DELETED_NAME)[:500]
    return len(rows)


def item_witness_section(sender: Flask, *, item: EvidenceItem, user: User, **_: object) -> Markup:
    """The witness part of the worker's evidence item page: who was asked, their answer, and
    the form to name a witness for this item."""
    from flask import render_template

    from portfolio.submissions import witness

    # Safe: the output of an autoescaping template, every value in it escaped there.
    return Markup(  # noqa: S704
        render_template(
            "submissions/_item_witnesses.html",
            item=item,
            testimonies=witness.item_testimonies_of(item),
        )
    )


def init_app(app: Flask) -> None:
    """Connect this domain's receivers."""
    account_deleted.connect(remove_account_submissions)
    item_page_sections.connect(item_witness_section)
