"""Bulk and prior-learning awards: badges given without rubric assessment (recognition of prior
learning, past completions imported from another system) to a list of recipients.

1. `parse_csv` / `check_records` check the whole upload first and list every problem with its
   line; nothing is written unless there are none.
2. `start_bulk_award` stores the checked records in a `BulkAwardBatch` and queues the job
   `issue_batch` after commit. The job issues `CHUNK` awards per run, moving `processed`
   forward in the same transaction as the awards, then queues itself for the rest: a run that
   dies mid-way is redone from where the last one committed.
3. Each award is unique on (credential, recipient address, source id) by a database
   constraint: uploading the same file again issues nothing new, and the batch says so.
4. Each badge states "Awarded without rubric assessment: <reason>" in an evidence narrative of
   its OB 2.0 assertion and its OB 3.0 credential, and on its public page; it has no results.
5. A recipient without an account (or with an unconfirmed one) is invited to claim it; the
   award is theirs as soon as their address is proven (`claim_awards`, on `address_confirmed`).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import unicodedata
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portfolio.accounts import services as accounts
from portfolio.accounts.models import Invitation, Organization, Role, User
from portfolio.awards import documents, issuance, signing, signing_keys
from portfolio.awards.models import Award, BulkAwardBatch, BulkAwardState
from portfolio.awards.ob.types import EvidenceEntry
from portfolio.awards.signals import award_issued
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, NotFound
from portfolio.core.ids import is_public_id, new_public_id
from portfolio.core.jobs import enqueue, job, periodic
from portfolio.core.urls import is_http_url, public_url
from portfolio.credentials.models import Credential
from portfolio.extensions import db
from portfolio.submissions.models import Notification

#: Limits of one upload: bytes of the file and records (lines after the header).
MAX_BYTES = 2 * 1024 * 1024
MAX_RECORDS = 5000
#: Awards issued per job run (one transaction each).
CHUNK = 200
COLUMNS = ("email", "name", "narrative", "evidence_url", "issued_on", "source_id")
REQUIRED = ("email", "name")
MAX_LENGTHS = {"name": 120, "narrative": 2000, "evidence_url": 2000, "source_id": 200}
MAX_REASON = 500
#: What every such badge says, before the reason.
STATEMENT = "Awarded without rubric assessment"
#: Spreadsheets run a cell starting with one of these as a formula (CSV injection): such a
#: value, written into a badge and later exported, must not reach a spreadsheet as one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BulkAwardRefused(DomainError):
    """The upload has problems; nothing was written. `problems` lists them by line."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"Nothing was awarded: {first}{more}.")
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    """One problem of an upload: its line (1 is the header; 0 the whole file)."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "the file"
        return f"{where}: {self.field + ': ' if self.field else ''}{self.reason}"


@dataclass(frozen=True)
class Record:
    """One checked recipient."""

    line: int
    email: str
    name: str
    narrative: str = ""
    evidence_url: str = ""
    issued_on: str | None = None
    source_id: str = ""


# -- checking ------------------------------------------------------------------------------------
def parse_csv(data: bytes) -> list[dict[str, Any]]:
    """The rows of an uploaded CSV as dicts with their line numbers (key `line`); the file as
    a whole must be UTF-8 (with or without BOM), within the size and line limits, with a
    header naming the columns. Raises `BulkAwardRefused` listing every problem."""
    if len(data) > MAX_BYTES:
        raise BulkAwardRefused(
            [Problem(0, "", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BulkAwardRefused(
            [Problem(line, "", "this is not UTF-8 text; save the file as “CSV UTF-8”")]
        ) from exc
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise BulkAwardRefused([Problem(line, "", "the file holds a NUL byte: not a CSV file")])
    sample = text[:4096]
    delimiter = (
        ";" if sample.split("\n", 1)[0].count(";") > sample.split("\n", 1)[0].count(",") else ","
    )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    header: list[str] | None = None
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if header is None:
                header = [c.strip().lower() for c in cells]
                unknown = [c for c in header if c not in COLUMNS]
                missing = [c for c in REQUIRED if c not in header]
                if unknown:
                    problems.append(
                        Problem(
                            1,
                            "",
                            f"unknown column(s) {', '.join(unknown)}; the columns are "
                            f"{', '.join(COLUMNS)}",
                        )
                    )
                if missing:
                    problems.append(
                        Problem(1, "", f"the column(s) {', '.join(missing)} are needed")
                    )
                if len(set(header)) != len(header):
                    problems.append(Problem(1, "", "a column is named twice"))
                if problems:
                    raise BulkAwardRefused(problems)
                continue
            if not any(c.strip() for c in cells):
                continue  # blank lines (a trailing newline, a spreadsheet's empty rows)
            if len(rows) >= MAX_RECORDS:
                raise BulkAwardRefused(
                    [Problem(line, "", f"more than {MAX_RECORDS} recipients in one file; split it")]
                )
            if len(cells) != len(header):
                problems.append(
                    Problem(line, "", f"{len(cells)} cells where the header names {len(header)}")
                )
                continue
            rows.append({"line": line, **dict(zip(header, cells, strict=True))})
    except csv.Error as exc:
        problems.append(Problem(start, "", f"not readable as CSV ({exc})"))
    if header is None:
        problems.append(Problem(0, "", "the file is empty: it needs a header and recipients"))
    if problems:
        raise BulkAwardRefused(problems)
    return rows


def check_records(rows: list[dict[str, Any]], *, today: date | None = None) -> list[Record]:
    """Check every record (each a dict with `line` and the columns) and return them cleaned;
    raises `BulkAwardRefused` listing every problem of every line."""
    today = today or utcnow().date()
    problems: list[Problem] = []
    records: list[Record] = []
    seen: dict[tuple[str, str], int] = {}
    if not rows:
        raise BulkAwardRefused([Problem(0, "", "there are no recipients")])
    if len(rows) > MAX_RECORDS:
        raise BulkAwardRefused(
            [Problem(0, "", f"more than {MAX_RECORDS} recipients in one upload; split it")]
        )
    for row in rows:
        line = int(row.get("line") or 0)
        bad = len(problems)
        values: dict[str, str] = {}
        for column in COLUMNS:
            raw = row.get(column)
            value = "" if raw is None else str(raw)
            value = unicodedata.normalize("NFC", value).strip()
            allowed = "\n" if column == "narrative" else ""
            # Control characters and lone surrogates (which JSON can carry) never reach a badge.
            if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in value):
                problems.append(Problem(line, column, "holds control characters"))
                continue
            if value.startswith(_FORMULA_START):
                problems.append(
                    Problem(
                        line,
                        column,
                        f"starts with “{value[0]}”, which a spreadsheet runs "
                        "as a formula; remove that character",
                    )
                )
                continue
            limit = MAX_LENGTHS.get(column)
            if limit and len(value) > limit:
                problems.append(Problem(line, column, f"longer than {limit} characters"))
                continue
            values[column] = value
        email = values.get("email", "")
        if "email" in values:
            try:
                email = validate_email(email, check_deliverability=False).normalized.lower()
            except EmailNotValidError as exc:
                problems.append(
                    Problem(line, "email", f"“{email[:80]}” is not an email address ({exc})")
                )
        if "name" in values and not values["name"]:
            problems.append(Problem(line, "name", "the recipient's name is needed"))
        url = values.get("evidence_url", "")
        if url and not is_http_url(url):
            problems.append(
                Problem(
                    line, "evidence_url", "must be a web address starting with https:// or http://"
                )
            )
        issued_on = values.get("issued_on") or None
        if issued_on:
            try:
                if not _DATE_RE.match(issued_on):
                    raise ValueError
                when = date.fromisoformat(issued_on)
            except ValueError:
                problems.append(
                    Problem(line, "issued_on", f"“{issued_on[:40]}” is not a date like 2024-06-30")
                )
            else:
                if when > today:
                    problems.append(Problem(line, "issued_on", f"{issued_on} is in the future"))
                elif when.year < 1900:
                    problems.append(Problem(line, "issued_on", f"{issued_on} is too long ago"))
        key = (email, values.get("source_id", ""))
        if len(problems) == bad:
            if key in seen:
                problems.append(
                    Problem(line, "", f"the same recipient and source id as line {seen[key]}")
                )
            else:
                seen[key] = line
                records.append(
                    Record(
                        line=line,
                        email=email,
                        name=values["name"],
                        narrative=values.get("narrative", ""),
                        evidence_url=url,
                        issued_on=issued_on,
                        source_id=values.get("source_id", ""),
                    )
                )
    if problems:
        raise BulkAwardRefused(problems)
    return records


def check_reason(reason: str) -> str:
    """The reason every badge of the upload states; needed, one line, bounded."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(
            "Give the reason these badges are awarded without assessment (for example "
            "“recognition of prior learning” or “imported from <system>”): every badge says it."
        )
    if len(reason) > MAX_REASON:
        raise DomainError(f"Keep the reason under {MAX_REASON} characters.")
    return reason


# -- starting ------------------------------------------------------------------------------------
def bulk_credential(admin: User, org: Organization, public_id: str) -> Credential:
    """A published credential of `org` the admin may award in bulk, or `NotFound`."""
    accounts.require_role(admin, org, Role.ADMIN)
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


def already_held(cred: Credential, records: list[Record]) -> int:
    """How many of `records` name a recipient who holds this badge with the same source id."""
    held = 0
    emails = sorted({r.email for r in records})
    existing: set[tuple[str, str]] = set()
    for start in range(0, len(emails), 500):
        existing.update(
            (e or "", s or "")
            for e, s in db.session.execute(
                select(Award.recipient_email, Award.source_id).where(
                    Award.credential_id == cred.id,
                    Award.recipient_email.in_(emails[start : start + 500]),
                )
            )
        )
    for r in records:
        held += (r.email, r.source_id) in existing
    return held


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
    accounts.require_role(admin, org, Role.ADMIN)
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
    accounts.require_role(admin, org, Role.ADMIN)
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
    context = _IssueContext(batch, org, cred)
    for raw in chunk:
        outcome = context.issue(Record(**raw))
        batch.issued += outcome == "issued"
        batch.already_held += outcome == "held"
    batch.invited += context.invited
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


class _IssueContext:
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
        user = accounts.find_user_by_email(record.email)
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
            _welcome(award, owner)
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
            accounts.invite(self.inviter, self.org, record.email, Role.LEARNER, note=note)
        except DomainError:
            return 0
        return 1


def _welcome(award: Award, user: User) -> None:
    """Tell an account holder about a new badge; stacks it may complete follow (pathways)."""
    db.session.add(
        Notification(
            user_id=user.id,
            message=f"{award.organization.name} awarded you “{award.credential.name}”."[:500],
            link=f"/badges#badge-{award.public_id}",
        )
    )
    award_issued.send(current_app._get_current_object(), award=award)  # type: ignore[attr-defined]


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
        _welcome(award, user)
    return len(awards)


def _on_address_confirmed(sender: object, *, user: User, **_: object) -> None:
    claim_awards(user)
