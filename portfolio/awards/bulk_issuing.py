"""Issuing one record of a bulk award batch (the batch job of `portfolio.awards.bulk` calls it
for each): the signed badge stating "Awarded without rubric assessment: <reason>", then a welcome
for an account holder or an invitation to claim it."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portfolio.accounts import registration, sign_in
from portfolio.accounts.models import Invitation, Organization, Role, User
from portfolio.awards import documents, issuance, signing, signing_keys
from portfolio.awards.bulk_upload import Record
from portfolio.awards.models import Award, BulkAwardBatch
from portfolio.awards.ob.types import EvidenceEntry
from portfolio.awards.signals import award_issued
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import DomainError
from portfolio.core.ids import new_public_id
from portfolio.core.urls import public_url
from portfolio.credentials.models import Credential
from portfolio.extensions import db
from portfolio.submissions.models import Notification

#: What every such badge says, before the reason.
STATEMENT = "Awarded without rubric assessment"


class RecordIssuer:
    """What one job run shares between its awards: the key, the achievement, the creator."""

    def __init__(self, batch: BulkAwardBatch, org: Organization, cred: Credential) -> None:
        self.batch = batch
        self.org = org
        self.cred = cred
        self.signing_key = signing_keys.get_or_create_signing_key(org)
        self.achievement = documents.achievement_info(cred, cred.rubric_version)
        self.statement = f"{STATEMENT}: {batch.reason}"
        self.invited = 0
        creator = batch.created_by
        # Invitations go out in the uploader's name, while they are still an admin here.
        self.inviter = creator if creator and creator.has_role(org.id, Role.ADMIN) else None

    def issue(self, record: Record) -> str:
        """Issue one record's award: "issued", or "held" when it exists already."""
        existing = db.session.scalar(
            select(Award.id).where(
                Award.credential_id == self.cred.id,
                Award.recipient_email == record.email,
                Award.source_id == record.source_id,
            )
        )
        if existing is not None:
            return "held"
        user = sign_in.find_user_by_email(record.email)
        # The badge becomes someone's only once they have proved the address is theirs.
        owner = user if user and user.is_email_confirmed and user.is_active_account else None
        if record.issued_on:
            issued = datetime.combine(
                date.fromisoformat(record.issued_on), datetime.min.time(), UTC
            )
        else:
            issued = utcnow().replace(microsecond=0)
        cred = self.cred
        award = Award(
            public_id=new_public_id(),
            organization_id=self.org.id,
            credential_id=cred.id,
            recipient_id=owner.id if owner else None,
            batch_id=self.batch.id,
            issuer_key_id=self.signing_key.id,
            issued_at=issued,
            expires_at=issuance.add_months(issued, cred.expiry_months)
            if cred.expiry_months
            else None,
            recipient_salt=secrets.token_hex(16),
            recipient_email=record.email,
            recipient_name=record.name,
            source_id=record.source_id,
            narrative=record.narrative or None,
            evidence_url=record.evidence_url or None,
        )
        signing.sign_award_documents(
            award,
            self.org,
            self.achievement,
            self.evidence(award, record),
            (),
            self.signing_key,
            record.email,
        )
        # Signed here, in this job: never "being signed".
        award.signed_at = utcnow()
        try:
            with db.session.begin_nested():
                db.session.add(award)
                db.session.flush()
        except IntegrityError:
            # A racing run issued it first.
            if (
                db.session.scalar(
                    select(Award.id).where(
                        Award.credential_id == cred.id,
                        Award.recipient_email == record.email,
                        Award.source_id == record.source_id,
                    )
                )
                is None
            ):
                raise
            return "held"
        audit.record(
            "award.issue",
            actor_id=self.batch.created_by_id,
            organization_id=self.org.id,
            subject_type="award",
            subject_id=award.public_id,
            credential=cred.public_id,
            batch=self.batch.public_id,
            without_assessment=self.batch.reason,
        )
        if owner is not None:
            welcome(award, owner)
        else:
            self.invited += self._invite(record, user)
        return "issued"

    def evidence(self, award: Award, record: Record) -> tuple[EvidenceEntry, ...]:
        """The statement (on the badge's page) and the issuer's evidence link, if any."""
        narrative = self.statement
        if record.narrative:
            narrative += f"\n\n{record.narrative}"
        entries = [
            EvidenceEntry(
                # Its own node (not the credential's id): the statement on the badge's page.
                url=public_url("verify.badge", aid=award.public_id) + "#without-assessment",
                name=STATEMENT,
                description=self.statement,
                narrative=narrative,
                genre="Statement",
            )
        ]
        if record.evidence_url:
            entries.append(
                EvidenceEntry(
                    url=record.evidence_url,
                    name="Evidence given by the issuer",
                    genre="Link",
                    description=f"Supplied by {self.org.name} with this award.",
                )
            )
        return tuple(entries)

    def _invite(self, record: Record, user: User | None) -> int:
        """Invite a recipient without a (confirmed) account to claim the badge; 1 if sent."""
        if self.inviter is None:
            return 0
        if user is not None and user.has_role(self.org.id, Role.LEARNER):
            return 0  # already a worker here: confirming their address claims it
        open_invitation = db.session.scalar(
            select(Invitation.id)
            .where(
                Invitation.organization_id == self.org.id,
                Invitation.email == record.email,
                Invitation.role == Role.LEARNER,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .limit(1)
        )
        if open_invitation is not None:
            return 0
        note = (
            f"{self.org.name} has awarded you the badge “{self.cred.name}” "
            f"({self.statement}). Accept this invitation with this address to claim it."
        )
        try:
            registration.invite(self.inviter, self.org, record.email, Role.LEARNER, note=note)
        except DomainError:
            return 0
        return 1


def welcome(award: Award, user: User) -> None:
    """Tell an account holder about a new badge; stacks it may complete follow (pathways)."""
    db.session.add(
        Notification(
            user_id=user.id,
            message=f"{award.organization.name} awarded you “{award.credential.name}”."[:500],
            link=f"/badges#badge-{award.public_id}",
        )
    )
    award_issued.send(current_app._get_current_object(), award=award)  # type: ignore[attr-defined]
