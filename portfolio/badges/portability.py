"""Portability: the worker's whole portfolio as a streamed ZIP (evidence and every badge, baked
and as OB 3.0 JSON), and account deletion that keeps issued credentials verifiable.

Lives in the badges layer because both touch awards; the evidence side of the export is
`portfolio.evidence.export`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from sqlalchemy import delete, select, update

from portfolio.accounts.models import Membership, User
from portfolio.accounts.services import ensure_admins_remain, verify_password
from portfolio.badges import issuance
from portfolio.badges.awards import Award
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import DomainError
from portfolio.core.ids import new_public_id
from portfolio.evidence.export import ExtraEntry, safe_name, stream_portfolio
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.storage import get_storage
from portfolio.submissions.models import (
    Notification,
    Submission,
    SubmissionEvidence,
    SubmissionState,
)

log = logging.getLogger(__name__)

#: Shown instead of the name of a deleted account (the credential's recipient stays hashed).
DELETED_NAME = "Former member (account deleted)"


def _badge_entries(user: User) -> list[ExtraEntry]:
    entries: list[ExtraEntry] = []
    for award in issuance.my_awards(user):
        base = f"badges/{safe_name(award.credential.name, 'badge')}-{award.public_id}"
        meta = {
            "id": award.public_id,
            "name": award.credential.name,
            "issuer": award.organization.name,
            "issued": award.issued_at.isoformat(),
            "expires": award.expires_at.isoformat() if award.expires_at else None,
            "status": award.status(),
            "url": issuance.public_url("verify.badge", aid=award.public_id),
        }

        def baked(award: Award = award) -> Iterator[bytes]:
            yield issuance.baked_badge(award, "3.0", "png")[0]

        def document(award: Award = award) -> Iterator[bytes]:
            yield award.ob3_credential.encode("utf-8")

        entries.append(ExtraEntry(f"{base}.png", baked, dict(meta, format="ob3-baked-png")))
        entries.append(ExtraEntry(f"{base}.json", document, dict(meta, format="ob3-json")))
    return entries


def export_portfolio(user: User) -> Iterator[bytes]:
    """The worker's portfolio as ZIP chunks (evidence, badges, manifest, index), audited."""
    audit.record(
        "portfolio.export", actor_id=user.id, subject_type="user", subject_id=user.public_id
    )
    db.session.commit()
    return stream_portfolio(user, _badge_entries(user))


def delete_account(user: User, password: str) -> dict[str, int]:
    """Delete a worker's account: personal data and private evidence are removed; issued
    credentials stay verifiable and their evidence answers "withdrawn by the earner". Decided
    submissions stay as the organization's assessment record, stripped of the worker's notes
    and files. Commits, then removes the stored objects. Returns what was removed."""
    if not verify_password(user, password):
        raise DomainError("That password is not right; your account was not deleted.")
    ensure_admins_remain(user)  # an organization never loses its last admin
    now = utcnow()
    keys: list[str] = []
    items = list(db.session.scalars(select(EvidenceItem).where(EvidenceItem.owner_id == user.id)))
    item_ids = [i.id for i in items]
    for item in items:
        keys.extend(k for k in (item.storage_key, item.thumbnail_key, item.preview_key) if k)
    subs = list(db.session.scalars(select(Submission).where(Submission.learner_id == user.id)))
    awarded = set(
        db.session.scalars(
            select(Award.submission_id).where(
                Award.recipient_id == user.id, Award.submission_id.is_not(None)
            )
        )
    )
    links = list(
        db.session.scalars(
            select(SubmissionEvidence).where(
                SubmissionEvidence.submission_id.in_([s.id for s in subs])
            )
        )
    )
    for link in links:
        if link.frozen_key:
            keys.append(link.frozen_key)
        link.frozen_key = None
        link.note = ""
        link.body_html = None
        link.url = None
        link.evidence_item_id = None
    # Work still waiting for an assessor is withdrawn: nobody may assess (and award) evidence
    # that no longer exists, for a person who has left.
    for sub in subs:
        if sub.state in (SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW):
            sub.state = SubmissionState.WITHDRAWN
            sub.withdrawn_at = now
            sub.claimed_by_id = None
            sub.claim_expires_at = None
    # Rows nobody else relies on: drafts and withdrawn attempts without a decision or award.
    removable = [
        s.id
        for s in subs
        if s.id not in awarded
        and s.state in (SubmissionState.DRAFT, SubmissionState.WITHDRAWN)
        and not s.reviews
    ]
    for sub in subs:
        sub.note = ""
    awards = list(db.session.scalars(select(Award).where(Award.recipient_id == user.id)))
    withdrawn = 0
    for award in awards:
        for entry in award.evidence:
            if entry.withdrawn_at is None:
                entry.withdrawn_at = now
                entry.note = ""
                withdrawn += 1
    db.session.flush()
    if removable:
        db.session.execute(
            delete(SubmissionEvidence).where(SubmissionEvidence.submission_id.in_(removable))
        )
        db.session.execute(delete(Submission).where(Submission.id.in_(removable)))
    if item_ids:
        db.session.execute(
            update(SubmissionEvidence)
            .where(SubmissionEvidence.evidence_item_id.in_(item_ids))
            .values(evidence_item_id=None)
        )
        db.session.execute(delete(EvidenceItem).where(EvidenceItem.id.in_(item_ids)))
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))
    db.session.execute(delete(Membership).where(Membership.user_id == user.id))
    public_id = user.public_id
    user.email = f"deleted-{public_id}@deleted.invalid"
    user.display_name = DELETED_NAME
    user.password_hash = "!deleted"  # noqa: S105 - not a hash: no password ever matches it
    user.is_active_account = False
    user.session_token = new_public_id()
    counts = {
        "evidence_items": len(items),
        "objects": len(keys),
        "submissions_removed": len(removable),
        "awards_kept": len(awards),
        "award_evidence_withdrawn": withdrawn,
    }
    audit.record(
        "account.delete", actor_id=user.id, subject_type="user", subject_id=public_id, **counts
    )
    db.session.commit()
    db.session.expire_all()
    storage = get_storage()
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # an orphan object is harmless: no row points at it any more
            log.exception("could not delete object %s", key)
    return counts
