"""Witness testimony: a worker names a workplace witness for one element of a submission; the
witness, who has no account, opens a signed, expiring, single-purpose link, sees exactly the
evidence of that element, and confirms or declines with a statement.

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
from sqlalchemy import select

from portfolio.accounts.models import User
from portfolio.accounts.services import normalize_email
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, NotFound
from portfolio.core.mail import send_mail
from portfolio.core.sanitize import clean_text
from portfolio.core.urls import public_url
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
        or testimony.submission.state == SubmissionState.WITHDRAWN
    ):
        raise gone
    return testimony


def _send(testimony: WitnessTestimony, worker: User) -> None:
    sub = testimony.submission
    send_mail(
        testimony.witness_email,
        f"Portfolio: {worker.display_name} asks you to confirm their work",
        f"Hello {testimony.witness_name},\n\n"
        f"{worker.display_name} named you as a workplace witness for “{testimony.element.title}” "
        f"in their evidence for {sub.credential.name}.\n\n"
        f"Please look at the evidence and confirm or decline (no account needed):\n"
        f"{link_for(testimony)}\n\nThe link works until "
        f"{testimony.expires_at:%d %B %Y} and only for this request.\n",
    )


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
    name, role = clean_text(name, 120), clean_text(role, 120)
    if not name or not role:
        raise DomainError("Give the witness's name and their role at work.")
    address = normalize_email(email)
    if "@" not in address or address == worker.email:
        raise DomainError("Give the witness's own email address.")
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


def revoke(worker: User, sub: Submission, testimony_public_id: str) -> None:
    """Withdraw a pending request: its link stops working at once."""
    testimony = _own(worker, sub, testimony_public_id)
    if testimony.state != WitnessState.PENDING:
        raise Conflict("Only a request still waiting for the witness can be withdrawn.")
    testimony.state = WitnessState.REVOKED
    testimony.nonce = secrets.token_urlsafe(24)
    audit.record(
        "witness.revoke",
        actor_id=worker.id,
        organization_id=sub.organization_id,
        subject_type="submission",
        subject_id=sub.public_id,
        witness=testimony.public_id,
    )


def resend(worker: User, sub: Submission, testimony_public_id: str) -> None:
    """Send a fresh link (older links die), valid for another LINK_DAYS days."""
    testimony = _own(worker, sub, testimony_public_id)
    if testimony.state not in (WitnessState.PENDING, WitnessState.REVOKED):
        raise Conflict("The witness has already answered.")
    testimony.state = WitnessState.PENDING
    testimony.nonce = secrets.token_urlsafe(24)
    testimony.expires_at = utcnow() + timedelta(days=LINK_DAYS)
    testimony.sent_count += 1
    audit.record(
        "witness.resend",
        actor_id=worker.id,
        organization_id=sub.organization_id,
        subject_type="submission",
        subject_id=sub.public_id,
        witness=testimony.public_id,
    )
    _send(testimony, worker)


def evidence_of(testimony: WitnessTestimony) -> list[SubmissionEvidence]:
    """Exactly the evidence the witness may see: that of their element in that submission."""
    return [
        link
        for link in testimony.submission.evidence_links
        if link.element_id == testimony.element_id
    ]


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
        organization_id=testimony.submission.organization_id,
        subject_type="submission",
        subject_id=testimony.submission.public_id,
        witness=testimony.public_id,
        role=testimony.witness_role,
    )


def testimonies_of(sub: Submission) -> list[WitnessTestimony]:
    """Every witness request of a submission, oldest first."""
    return list(
        db.session.scalars(
            select(WitnessTestimony)
            .where(WitnessTestimony.submission_id == sub.id)
            .order_by(WitnessTestimony.id)
        )
    )


def confirmed_of_submission(submission_id: int | None) -> list[WitnessTestimony]:
    """Confirmed testimonies of a submission (what public pages and credentials show)."""
    if submission_id is None:
        return []
    return list(
        db.session.scalars(
            select(WitnessTestimony)
            .where(
                WitnessTestimony.submission_id == submission_id,
                WitnessTestimony.state == WitnessState.CONFIRMED,
            )
            .order_by(WitnessTestimony.id)
        )
    )


def testimony_evidence(submission_id: int | None, badge_url: str) -> list[dict[str, Any]]:
    """The fields of one credential evidence entry per confirmed testimony: the witness's role
    and date, the element, and the digest of the statement — never the witness's name or
    email (the awards package turns them into its `EvidenceEntry`)."""
    return [
        dict(
            url=f"{badge_url}#witness-{t.public_id}",
            name="Workplace witness testimony",
            genre="Witness testimony",
            description=f"Supports “{t.element.title}”.",
            narrative=(
                f"Confirmed by a workplace witness ({t.witness_role}, {t.responded_at:%Y-%m-%d})."
                if t.responded_at
                else "Confirmed by a workplace witness."
            ),
            sha256=t.statement_sha256,
        )
        for t in confirmed_of_submission(submission_id)
    ]
