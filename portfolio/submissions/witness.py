"""Kept whole a little over 400 lines: the signed link, its requests and the answers share one
nonce rule that reads best in one place.

Witness testimony: a worker names a workplace witness for one element of a submission, or
for one evidence item of their library (before or without any submission); the witness, who has
no account, opens a signed, expiring, single-purpose link, sees exactly that evidence, and
confirms or declines with a statement. An item's testimony goes with the item: assessors see it
beside every element the item is attached to, and badges carry it like an element's.

The link carries the testimony's public id and its current nonce, signed with SECRET_KEY under
a salt used for nothing else. Revoking or re-sending replaces the nonce, so every older link
dies; answering closes the link too. The witness's email is private: it is used to send the link
and never appears on a public page or in a credential.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import or_, select

from portfolio.accounts.models import User
from portfolio.accounts.sign_in import normalize_email
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, NotFound
from portfolio.core.mail import send_mail
from portfolio.core.sanitize import clean_text
from portfolio.core.urls import public_url
from portfolio.evidence.models import EvidenceItem, EvidenceState
from portfolio.extensions import db
from portfolio.submissions.models import (
    Submission,
    SubmissionEvidence,
    SubmissionState,
    WitnessState,
    WitnessTestimony,
)

#: How long a witness link stays valid.
LINK_DAYS = 14
_SALT = "portfolio.witness-testimony"


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["PORTFOLIO"].secret_key, salt=_SALT)


def link_for(testimony: WitnessTestimony) -> str:
    """The witness's absolute link (from PUBLIC_BASE_URL)."""
    token = _signer().dumps({"t": testimony.public_id, "n": testimony.nonce})
    return public_url("submissions.witness_page", token=token)


def from_token(token: str) -> WitnessTestimony:
    """The pending testimony a link opens; anything else (tampered, revoked, re-sent,
    answered, expired) answers as not found, saying only that the link no longer works."""
    gone = NotFound("This link no longer works. Ask the worker to send a new one.")
    try:
        data = _signer().loads(token, max_age=LINK_DAYS * 86400)
    except BadSignature as exc:  # includes SignatureExpired
        raise gone from exc
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        raise gone
    testimony = db.session.scalar(
        select(WitnessTestimony).where(WitnessTestimony.public_id == data["t"])
    )
    if (
        testimony is None
        # A nonce compare in constant time: the link is the witness's only credential.
        or not secrets.compare_digest(testimony.nonce, str(data.get("n", "")))
        or testimony.state != WitnessState.PENDING
        or testimony.expires_at <= utcnow()
        or (
            testimony.submission is not None
            and testimony.submission.state == SubmissionState.WITHDRAWN
        )
        or (
            testimony.evidence_item is not None
            and testimony.evidence_item.state != EvidenceState.READY
        )
    ):
        raise gone
    return testimony


def _send(testimony: WitnessTestimony, worker: User) -> None:
    sub, element, item = testimony.submission, testimony.element, testimony.evidence_item
    if sub is not None and element is not None:
        what = f"“{element.title}” in their evidence for {sub.credential.name}"
    else:
        assert item is not None
        what = f"their evidence “{item.title}”"
    send_mail(
        testimony.witness_email,
        f"Portfolio: {worker.display_name} asks you to confirm their work",
        f"Hello {testimony.witness_name},\n\n"
        f"{worker.display_name} named you as a workplace witness for {what}.\n\n"
        f"Please look at the evidence and confirm or decline (no account needed):\n"
        f"{link_for(testimony)}\n\nThe link works until "
        f"{testimony.expires_at:%d %B %Y} and only for this request.\n",
    )


def _witness(worker: User, name: str, role: str, email: str) -> tuple[str, str, str]:
    """The witness's cleaned name, role and address; refuses the worker's own address."""
    name, role = clean_text(name, 120), clean_text(role, 120)
    if not name or not role:
        raise DomainError("Give the witness's name and their role at work.")
    address = normalize_email(email)
    if "@" not in address or address == worker.email:
        raise DomainError("Give the witness's own email address.")
    return name, role, address


def request_item_testimony(
    worker: User, item: EvidenceItem, *, name: str, role: str, email: str
) -> WitnessTestimony:
    """Name a witness for one evidence item of the worker's own library and send them the
    link; the witness sees that item and nothing else."""
    if item.owner_id != worker.id:
        raise NotFound("No such evidence item.")
    if item.state != EvidenceState.READY:
        raise Conflict("This item is not ready yet: wait for the upload to finish.")
    name, role, address = _witness(worker, name, role, email)
    testimony = WitnessTestimony(
        evidence_item_id=item.id,
        witness_name=name,
        witness_role=role,
        witness_email=address,
        nonce=secrets.token_urlsafe(24),
        expires_at=utcnow() + timedelta(days=LINK_DAYS),
    )
    db.session.add(testimony)
    db.session.flush()
    audit.record(
        "witness.request",
        actor_id=worker.id,
        organization_id=None,
        subject_type="evidence",
        subject_id=item.public_id,
        witness=testimony.public_id,
        role=role,
    )
    _send(testimony, worker)
    return testimony


def request_testimony(
    worker: User, sub: Submission, element_public_id: str, *, name: str, role: str, email: str
) -> WitnessTestimony:
    """Name a witness for one element of the worker's own submission and send them the link."""
    if sub.learner_id != worker.id:
        raise NotFound("No such submission.")
    if sub.state == SubmissionState.WITHDRAWN:
        raise Conflict("This submission was withdrawn.")
    element = next(
        (e for e in sub.rubric_version.elements if e.public_id == element_public_id), None
    )
    if element is None:
        raise NotFound("No such rubric element in this submission.")
    name, role, address = _witness(worker, name, role, email)
    testimony = WitnessTestimony(
        submission_id=sub.id,
        element_id=element.id,
        witness_name=name,
        witness_role=role,
        witness_email=address,
        nonce=secrets.token_urlsafe(24),
        expires_at=utcnow() + timedelta(days=LINK_DAYS),
    )
    db.session.add(testimony)
    db.session.flush()
    audit.record(
        "witness.request",
        actor_id=worker.id,
        organization_id=sub.organization_id,
        subject_type="submission",
        subject_id=sub.public_id,
        witness=testimony.public_id,
        element=element.public_id,
        role=role,
    )
    _send(testimony, worker)
    return testimony


def _own(worker: User, sub: Submission, testimony_public_id: str) -> WitnessTestimony:
    testimony = db.session.scalar(
        select(WitnessTestimony).where(
            WitnessTestimony.public_id == testimony_public_id,
            WitnessTestimony.submission_id == sub.id,
        )
    )
    if testimony is None or sub.learner_id != worker.id:
        raise NotFound("No such witness request.")
    return testimony


def own_item_testimony(
    worker: User, item: EvidenceItem, testimony_public_id: str
) -> WitnessTestimony:
    """One of the worker's witness requests for their own evidence item."""
    testimony = db.session.scalar(
        select(WitnessTestimony).where(
            WitnessTestimony.public_id == testimony_public_id,
            WitnessTestimony.evidence_item_id == item.id,
        )
    )
    if testimony is None or item.owner_id != worker.id:
        raise NotFound("No such witness request.")
    return testimony


def _subject(testimony: WitnessTestimony) -> dict[str, Any]:
    """Where a testimony's audit events are filed: its submission, or its evidence item."""
    if testimony.submission is not None:
        sub = testimony.submission
        return dict(
            organization_id=sub.organization_id,
            subject_type="submission",
            subject_id=sub.public_id,
        )
    item = testimony.evidence_item
    return dict(
        organization_id=None,
        subject_type="evidence",
        subject_id=item.public_id if item else "",
    )


def revoke(worker: User, sub: Submission, testimony_public_id: str) -> None:
    """Withdraw a pending request: its link stops working at once."""
    revoke_testimony(worker, _own(worker, sub, testimony_public_id))


def resend(worker: User, sub: Submission, testimony_public_id: str) -> None:
    """Send a fresh link (older links die), valid for another LINK_DAYS days."""
    resend_testimony(worker, _own(worker, sub, testimony_public_id))


def revoke_testimony(worker: User, testimony: WitnessTestimony) -> None:
    """Withdraw one of the worker's pending requests (element or item): its link stops
    working at once. The caller has checked that it is the worker's."""
    if testimony.state != WitnessState.PENDING:
        raise Conflict("Only a request still waiting for the witness can be withdrawn.")
    testimony.state = WitnessState.REVOKED
    testimony.nonce = secrets.token_urlsafe(24)
    audit.record(
        "witness.revoke", actor_id=worker.id, witness=testimony.public_id, **_subject(testimony)
    )


def resend_testimony(worker: User, testimony: WitnessTestimony) -> None:
    """Send a fresh link for one of the worker's requests (older links die)."""
    if testimony.state not in (WitnessState.PENDING, WitnessState.REVOKED):
        raise Conflict("The witness has already answered.")
    testimony.state = WitnessState.PENDING
    testimony.nonce = secrets.token_urlsafe(24)
    testimony.expires_at = utcnow() + timedelta(days=LINK_DAYS)
    testimony.sent_count += 1
    audit.record(
        "witness.resend", actor_id=worker.id, witness=testimony.public_id, **_subject(testimony)
    )
    _send(testimony, worker)


def evidence_of(testimony: WitnessTestimony) -> list[SubmissionEvidence]:
    """Exactly the evidence the witness may see: that of their element in that submission
    (none for an item testimony, whose witness sees the item alone: `item_of`)."""
    if testimony.submission is None:
        return []
    return [
        link
        for link in testimony.submission.evidence_links
        if link.element_id == testimony.element_id
    ]


def item_of(testimony: WitnessTestimony) -> EvidenceItem | None:
    """The one evidence item an item testimony's witness may see."""
    return testimony.evidence_item


def respond(testimony: WitnessTestimony, *, confirms: bool, statement: str) -> None:
    """The witness confirms or declines, with a statement; the link is used up."""
    text = clean_text(statement, 5000)
    if not text:
        raise DomainError("Write a short statement about what you saw.")
    # One answer: of two posts at once only the one that changes the pending row counts.
    from sqlalchemy import update

    result = db.session.execute(
        update(WitnessTestimony)
        .where(
            WitnessTestimony.id == testimony.id,
            WitnessTestimony.state == WitnessState.PENDING,
            WitnessTestimony.nonce == testimony.nonce,
        )
        .values(
            state=WitnessState.CONFIRMED if confirms else WitnessState.DECLINED,
            statement=text,
            statement_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            responded_at=utcnow(),
            nonce=secrets.token_urlsafe(24),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Conflict("This request has already been answered.")
    db.session.expire(testimony)
    audit.record(
        "witness.confirm" if confirms else "witness.decline",
        actor_id=None,
        witness=testimony.public_id,
        role=testimony.witness_role,
        **_subject(testimony),
    )


def testimonies_of(sub: Submission) -> list[WitnessTestimony]:
    """Every witness request of a submission's elements, oldest first."""
    return list(
        db.session.scalars(
            select(WitnessTestimony)
            .where(WitnessTestimony.submission_id == sub.id)
            .order_by(WitnessTestimony.id)
        )
    )


def _attached_items(submission_id: int) -> Any:
    """The ids of the evidence items attached to a submission (a subquery)."""
    return select(SubmissionEvidence.evidence_item_id).where(
        SubmissionEvidence.submission_id == submission_id,
        SubmissionEvidence.evidence_item_id.is_not(None),
    )


def item_testimonies_of(item: EvidenceItem) -> list[WitnessTestimony]:
    """Every witness request for one evidence item, oldest first."""
    return list(
        db.session.scalars(
            select(WitnessTestimony)
            .where(WitnessTestimony.evidence_item_id == item.id)
            .order_by(WitnessTestimony.id)
        )
    )


def testimonies_by_element(sub: Submission) -> dict[int, list[WitnessTestimony]]:
    """What assessors see beside each element: the element's own testimonies, and those of
    every evidence item attached to it (an item's testimony beside each element it shows)."""
    by_element: dict[int, list[WitnessTestimony]] = {}
    for t in testimonies_of(sub):
        by_element.setdefault(t.element_id or 0, []).append(t)
    items = list(
        db.session.scalars(
            select(WitnessTestimony)
            .where(WitnessTestimony.evidence_item_id.in_(_attached_items(sub.id)))
            .order_by(WitnessTestimony.id)
        )
    )
    for link in sub.evidence_links:
        for t in items:
            if t.evidence_item_id == link.evidence_item_id:
                by_element.setdefault(link.element_id, []).append(t)
    return by_element


def confirmed_of_submission(submission_id: int | None) -> list[WitnessTestimony]:
    """Confirmed testimonies of a submission (what public pages and credentials show): those
    of its elements and those of the evidence items attached to it."""
    if submission_id is None:
        return []
    return list(
        db.session.scalars(
            select(WitnessTestimony)
            .where(
                or_(
                    WitnessTestimony.submission_id == submission_id,
                    WitnessTestimony.evidence_item_id.in_(_attached_items(submission_id)),
                ),
                WitnessTestimony.state == WitnessState.CONFIRMED,
            )
            .order_by(WitnessTestimony.id)
        )
    )


def testimony_evidence(submission_id: int | None, badge_url: str) -> list[dict[str, Any]]:
    """The fields of one credential evidence entry per confirmed testimony: the witness's role
    and date, the element or item it supports, and the digest of the statement — never the
    witness's name or email (the awards package turns them into its `EvidenceEntry`)."""
    return [
        dict(
            url=f"{badge_url}#witness-{t.public_id}",
            name="Workplace witness testimony",
            genre="Witness testimony",
            description=f"Supports “{t.subject_title}”.",
            narrative=(
                f"Confirmed by a workplace witness ({t.witness_role}, {t.responded_at:%Y-%m-%d})."
                if t.responded_at
                else "Confirmed by a workplace witness."
            ),
            sha256=t.statement_sha256,
        )
        for t in confirmed_of_submission(submission_id)
    ]
