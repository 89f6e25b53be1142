"""Receivers of other domains' events for the awards domain; connected by `init_app`."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from portfolio.accounts.models import User
from portfolio.accounts.signals import account_deleted, address_confirmed
from portfolio.awards import bulk, issuance, revocation, versions
from portfolio.awards.models import Award
from portfolio.core.db import utcnow
from portfolio.credentials.models import Credential
from portfolio.credentials.signals import credential_changing, credential_edit_context
from portfolio.extensions import db
from portfolio.submissions.appeals import decision_reopened
from portfolio.submissions.models import Review, Submission
from portfolio.submissions.scoring import submission_passed
from portfolio.submissions.verification import case_revoked


def issue_on_pass(sender: Flask, *, submission: Submission, review: Review, **_: object) -> None:
    """A passing review issues the badge in its own transaction (exactly once)."""
    issuance.award_credential(submission, review)


def revoke_on_reopen(
    sender: Flask, *, submission: Submission, actor: User, reason: str, **_: object
) -> None:
    """An admin reopened a passed decision: its badge is revoked with the reason given."""
    award = issuance.award_for_submission(submission)
    if award is not None and award.revoked_at is None:
        revocation.revoke_award(actor, award, reason)


#: What a withdrawn evidence entry is called once the earner's own title is gone.
WITHDRAWN_NAME = "Evidence withdrawn by the earner"


def withdraw_account_evidence(
    sender: Flask, *, user: User, counts: dict[str, int], **_: object
) -> None:
    """A deleted account's awards stay verifiable; their evidence answers "withdrawn by the
    earner" from now on."""
    now = utcnow()
    awards = list(db.session.scalars(select(Award).where(Award.recipient_id == user.id)))
    withdrawn = 0
    for award in awards:
        for entry in award.evidence:
            if entry.withdrawn_at is None:
                entry.withdrawn_at = now
                entry.note = ""
                # The title or file name the worker gave (the element and digest stay).
                entry.name = WITHDRAWN_NAME
                withdrawn += 1
    counts["awards_kept"] = len(awards)
    counts["award_evidence_withdrawn"] = withdrawn


def freeze_before_edit(sender: Flask, *, credential: Credential, **_: object) -> None:
    """A credential is about to change: its issued badges keep showing what they were issued
    with (a frozen version)."""
    versions.freeze_for_issued_badges(credential)


def edit_form_context(sender: Flask, *, credential: Credential, **_: object) -> dict[str, int]:
    """What the credential's edit form says about the badges a save would freeze."""
    return {
        "issued_showing": versions.awards_showing_live(credential),
        "next_version": versions.next_version_number(credential),
    }


def init_app(app: Flask) -> None:
    """Connect this domain's receivers: a pass issues the badge in the same transaction."""
    submission_passed.connect(issue_on_pass)
    decision_reopened.connect(revoke_on_reopen)
    # An admin closing an internal verification case by revoking: same effect, their reason.
    case_revoked.connect(revoke_on_reopen)
    account_deleted.connect(withdraw_account_evidence)
    # Editing a credential first freezes what its issued badges show.
    credential_changing.connect(freeze_before_edit)
    credential_edit_context.connect(edit_form_context)
    # A proven address claims the bulk awards waiting for it.
    address_confirmed.connect(bulk._on_address_confirmed)
    from portfolio.awards import page_store

    page_store.install()
