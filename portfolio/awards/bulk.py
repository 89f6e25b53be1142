"""Bulk and prior-learning awards: badges given without rubric assessment (recognition of prior
learning, past completions imported from another system) to a list of recipients.

1. `parse_csv` / `check_records` (`portfolio.awards.bulk_upload`) check the whole upload first
   and list every problem with its line; nothing is written unless there are none.
2. `start_bulk_award` stores the checked records in a `BulkAwardBatch` and queues the job
   `issue_batch` after commit. The job issues `CHUNK` awards per run, moving `processed`
   forward in the same transaction as the awards, then queues itself for the rest: a run that
   dies mid-way is redone from where the last one committed.
3. Each award is unique on (credential, recipient address, source id) by a database
   constraint: uploading the same file again issues nothing new, and the batch says so.
4. Each badge states "Awarded without rubric assessment: <reason>" in an evidence narrative of
   its OB 2.0 assertion and its OB 3.0 credential, and on its public page; it has no results
   (`portfolio.awards.bulk_issuing` issues each record).
5. A recipient without an account (or with an unconfirmed one) is invited to claim it; the
   award is theirs as soon as their address is proven (`claim_awards`, on `address_confirmed`).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import select, update

from portfolio.accounts import organizations
from portfolio.accounts.models import Organization, Role, User
from portfolio.awards.bulk_issuing import RecordIssuer, welcome
from portfolio.awards.bulk_upload import BulkAwardRefused, Problem, Record, check_reason
from portfolio.awards.models import Award, BulkAwardBatch, BulkAwardState
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, NotFound
from portfolio.core.ids import is_public_id, new_public_id
from portfolio.core.jobs import enqueue, job, periodic
from portfolio.credentials.models import Credential
from portfolio.extensions import db

#: Awards issued per job run (one transaction each).
CHUNK = 200


# -- starting ------------------------------------------------------------------------------------
def bulk_credential(admin: User, org: Organization, public_id: str) -> Credential:
    """A published credential of `org` the admin may award in bulk, or `NotFound`."""
    organizations.require_role(admin, org, Role.ADMIN)
    cred = (
        db.session.scalar(select(Credential).where(Credential.public_id == public_id))
        if is_public_id(public_id)
        else None
    )
    if cred is None or cred.organization_id != org.id:
        raise NotFound("No such credential.")
    if not cred.is_published:
        raise Conflict("Only a published credential can be awarded.")
    return cred


def start_bulk_award(
    admin: User,
    org: Organization,
    cred: Credential,
    records: list[Record],
    reason: str,
    *,
    source: str = "csv",
    filename: str = "",
) -> BulkAwardBatch:
    """Record a checked upload and queue the jobs that issue its awards (after commit)."""
    organizations.require_role(admin, org, Role.ADMIN)
    if cred.organization_id != org.id or not cred.is_published:
        raise Conflict("Only a published credential of this organization can be awarded.")
    reason = check_reason(reason)
    if not records:
        raise BulkAwardRefused([Problem(0, "", "there are no recipients")])
    batch = BulkAwardBatch(
        public_id=new_public_id(),
        organization_id=org.id,
        credential_id=cred.id,
        created_by_id=admin.id,
        reason=reason,
        source=source,
        filename=filename[:200],
        records=[asdict(r) for r in records],
        total=len(records),
    )
    db.session.add(batch)
    db.session.flush()
    audit.record(
        "award.bulk_start",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="bulk_award_batch",
        subject_id=batch.public_id,
        credential=cred.public_id,
        records=len(records),
        reason=reason,
    )
    enqueue(issue_batch, batch.public_id, organization_id=org.id)
    return batch


def get_batch(admin: User, org: Organization, public_id: str) -> BulkAwardBatch:
    """A batch of `org` (admins only), or `NotFound`."""
    organizations.require_role(admin, org, Role.ADMIN)
    batch = (
        db.session.scalar(select(BulkAwardBatch).where(BulkAwardBatch.public_id == public_id))
        if is_public_id(public_id)
        else None
    )
    if batch is None or batch.organization_id != org.id:
        raise NotFound("No such upload.")
    return batch


def batch_summary(batch: BulkAwardBatch) -> str:
    """What the progress page and the API say about a batch, in words."""
    if batch.state != BulkAwardState.DONE:
        return f"{batch.processed} of {batch.total} recipients handled so far."
    parts = [f"{batch.issued} badge{'s' if batch.issued != 1 else ''} issued"]
    if batch.already_held:
        parts.append(
            f"{batch.already_held} recipient{'s' if batch.already_held != 1 else ''} already "
            "held this badge with the same source id: nothing new for them"
        )
    if batch.invited:
        parts.append(f"{batch.invited} invited to claim theirs")
    if not batch.issued and batch.already_held == batch.total:
        parts = [
            "Nothing new was issued: every recipient of this upload already holds this badge "
            "(an earlier upload of the same file)"
        ]
    return "; ".join(parts) + "."


# -- issuing (jobs) ------------------------------------------------------------------------------
@job(retries=5, retry_delay=10)
def issue_batch(batch_public_id: str) -> None:
    """Issue the next `CHUNK` awards of a batch, then queue the rest. Idempotent: the batch
    row is locked, work starts at `processed`, and each award is unique in the database."""
    batch = db.session.scalar(
        select(BulkAwardBatch).where(BulkAwardBatch.public_id == batch_public_id).with_for_update()
    )
    if batch is None or batch.state == BulkAwardState.DONE:
        return
    org = batch.organization
    cred = batch.credential
    chunk = batch.records[batch.processed : batch.processed + CHUNK]
    issuer = RecordIssuer(batch, org, cred)
    for raw in chunk:
        outcome = issuer.issue(Record(**raw))
        batch.issued += outcome == "issued"
        batch.already_held += outcome == "held"
    batch.invited += issuer.invited
    batch.processed += len(chunk)
    batch.updated_at = utcnow()
    if batch.processed >= batch.total:
        batch.state = BulkAwardState.DONE
        batch.finished_at = utcnow()
        audit.record(
            "award.bulk_done",
            actor_id=batch.created_by_id,
            organization_id=org.id,
            subject_type="bulk_award_batch",
            subject_id=batch.public_id,
            issued=batch.issued,
            already_held=batch.already_held,
            invited=batch.invited,
        )
    else:
        batch.state = BulkAwardState.RUNNING
        enqueue(issue_batch, batch.public_id, organization_id=org.id)


@periodic(minute="*/10")
def resume_stalled_batches() -> None:
    """Queue again the batches whose last run ended more than ten minutes ago unfinished (a
    worker killed mid-run loses that run; the database still holds the work)."""
    cutoff = utcnow() - timedelta(minutes=10)
    stalled = db.session.scalars(
        select(BulkAwardBatch).where(
            BulkAwardBatch.state != BulkAwardState.DONE, BulkAwardBatch.updated_at < cutoff
        )
    )
    for batch in stalled:
        batch.updated_at = utcnow()
        enqueue(issue_batch, batch.public_id, organization_id=batch.organization_id)


# -- claiming ------------------------------------------------------------------------------------
def claim_awards(user: User) -> int:
    """Give `user` (whose address was just proven) the unclaimed awards issued to it."""
    if not user.is_active_account:
        return 0
    awards = list(
        db.session.scalars(
            select(Award)
            .where(Award.recipient_email == user.email, Award.recipient_id.is_(None))
            .order_by(Award.id)
        )
    )
    for award in awards:
        result = db.session.execute(
            update(Award)
            .where(Award.id == award.id, Award.recipient_id.is_(None))
            .values(recipient_id=user.id)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue
        db.session.expire(award)
        audit.record(
            "award.claim",
            actor_id=user.id,
            organization_id=award.organization_id,
            subject_type="award",
            subject_id=award.public_id,
        )
        welcome(award, user)
    return len(awards)


def _on_address_confirmed(sender: object, *, user: User, **_: object) -> None:
    claim_awards(user)
