"""Signing awards: the job that renders and signs the documents of an award "being signed"
(moments after its decision), and the rendering of an award's OB 2.0 assertion and signed OB 3.0
credential, stored on the award as served."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from portfolio.accounts.models import Organization
from portfolio.awards import status_lists
from portfolio.awards.documents import (
    achievement_info,
    as_json,
    badge_url,
    evidence_entries,
    issuer_info,
    rubric_ids,
    sha256_hex,
)
from portfolio.awards.models import Award, IssuerKey
from portfolio.awards.ob import ob2, ob3, proof, status_list
from portfolio.awards.ob.types import (
    AchievementInfo,
    AwardInfo,
    ElementResult,
    EvidenceEntry,
)
from portfolio.awards.signing_keys import (
    get_or_create_signing_key,
    private_key_of,
    verification_method,
)
from portfolio.awards.status_lists import sign_status_list, status_list_url
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.jobs import enqueue
from portfolio.core.urls import public_url
from portfolio.extensions import db
from portfolio.frameworks.models import RubricVersion


@dataclass(frozen=True)
class PendingDocuments:
    """What the signing job needs beyond the award row to render an award's documents, and
    what it records once they exist."""

    achievement: AchievementInfo
    evidence: tuple[EvidenceEntry, ...]
    results: tuple[ElementResult, ...]
    #: Details of the `award.issue` audit event (which also feeds the `award.issued` webhook).
    audit: dict[str, Any]
    actor_id: int | None = None
    #: A notification (and mail) for the earner once the badge is signed: (message, link).
    notice: tuple[str, str] | None = None


#: Renders the inputs of a pathway (stacked) award; registered by the pathways domain, which
#: sits above this one (see `register_pathway_documents`).
_pathway_documents: list[Callable[[Award], PendingDocuments]] = []


def register_pathway_documents(source: Callable[[Award], PendingDocuments]) -> None:
    """Called by the pathways domain at start-up: how to render its stacked awards."""
    _pathway_documents[:] = [source]


def _submission_documents(award: Award) -> PendingDocuments:
    sub = award.submission
    review = award.review  # None if the review row was deleted since: no results then
    assert sub is not None
    version: RubricVersion = sub.rubric_version
    achievement = achievement_info(award.credential, version)
    results = tuple(
        ElementResult(
            rubric_ids(version, s.element.public_id),
            rubric_ids(version, s.element.public_id, s.level.position),
        )
        for s in (review.scores if review is not None else ())
    )
    evidence = tuple(entry for item in award.evidence for entry in evidence_entries(award, item))
    from portfolio.submissions.witness import testimony_evidence

    evidence += tuple(
        EvidenceEntry(**fields)
        for fields in testimony_evidence(award.submission_id, badge_url(award))
    )
    return PendingDocuments(
        achievement,
        evidence,
        results,
        audit={"submission": sub.public_id, "credential": award.credential.public_id},
        actor_id=review.assessor_id if review is not None else None,
    )


def sign_pending_award(public_id: str) -> Award | None:
    """The signing job: render and sign the documents of an award "being signed", store them,
    and record the issue (audit event, webhook, the earner's notice). Idempotent: an award
    already signed (or gone) is left alone, and the row lock makes a second, concurrent run
    wait and then find it signed; a run that dies before its commit leaves nothing behind."""
    award = db.session.scalar(
        select(Award).where(Award.public_id == public_id).with_for_update(of=Award)
    )
    if award is None or award.signed_at is not None:
        return None
    if award.pathway_id is not None:
        if not _pathway_documents:
            raise RuntimeError("no renderer registered for pathway awards")
        docs = _pathway_documents[0](award)
    else:
        docs = _submission_documents(award)
    org = award.organization
    key = db.session.get(IssuerKey, award.issuer_key_id) if award.issuer_key_id else None
    if key is None or key.retired_at is not None:
        # The key was rotated between the decision and the signature: the active key signs.
        key = get_or_create_signing_key(org)
        award.issuer_key_id = key.id
    sign_award_documents(
        award, org, docs.achievement, docs.evidence, docs.results, key, award.recipient.email
    )
    award.signed_at = utcnow()
    if award.revoked_at is not None:
        # Revoked while being signed: its new status entry must say so.
        entry = status_lists.entry_of(award)
        if entry is not None:
            sign_status_list(entry.status_list)
    audit.record(
        "award.issue",
        actor_id=docs.actor_id,
        organization_id=org.id,
        subject_type="award",
        subject_id=award.public_id,
        **docs.audit,
    )
    if docs.notice is not None:
        from portfolio.submissions.notifications import notify

        notify(award.recipient, *docs.notice)
    from portfolio.awards.jobs import bake_award

    # The images are baked from the signed documents, in the background once this commits.
    enqueue(bake_award, award.public_id, organization_id=award.organization_id)
    return award


def awards_being_signed(older_than: datetime, limit: int = 1000) -> list[str]:
    """Public ids of awards still being signed since before `older_than` (for the sweep)."""
    return list(
        db.session.scalars(
            select(Award.public_id)
            .where(Award.signed_at.is_(None), Award.issued_at < older_than)
            .order_by(Award.issued_at)
            .limit(limit)
        )
    )


def sign_award_documents(
    award: Award,
    org: Organization,
    achievement: AchievementInfo,
    evidence: tuple[EvidenceEntry, ...],
    results: tuple[ElementResult, ...],
    signing_key: IssuerKey,
    email: str,
) -> None:
    """Render the OB 2.0 assertion and the signed OB 3.0 credential of `award` and store them
    (with their hashes) on the award."""
    issuer = issuer_info(org)
    badge_url = public_url("verify.badge", aid=award.public_id)
    entry = status_lists.allocate_entry(award, org)
    if entry.status_list.credential is None:
        sign_status_list(entry.status_list)
    info = AwardInfo(
        id=badge_url,
        recipient_email=email,
        salt=award.recipient_salt,
        issued=award.issued_at,
        expires=award.expires_at,
        evidence=evidence,
        results=results,
        credential_status=status_list.status_entry(
            status_list_url(entry.status_list), entry.bit_index
        ),
        credits_earned=award.credits_earned,
    )
    assertion = ob2.assertion(info, achievement)
    credential = ob3.credential(info, achievement, issuer)
    private = private_key_of(signing_key)
    signed = proof.sign_credential(
        credential,
        private,
        verification_method(org, private),
        created=award.issued_at,
    )
    award.ob2_assertion = as_json(assertion)
    award.ob3_credential = as_json(signed)
    award.ob2_sha256 = sha256_hex(award.ob2_assertion)
    award.ob3_sha256 = sha256_hex(award.ob3_credential)
