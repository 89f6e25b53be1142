"""Awards (issued badges / OB 2.0 assertions / OB 3.0 credentials) and issuer signing keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.accounts.models import Organization, User
from portfolio.core.db import TimestampMixin, UTCDateTime, utcnow
from portfolio.core.ids import new_public_id
from portfolio.credentials.models import Credential
from portfolio.extensions import db
from portfolio.submissions.models import Review, Submission, SubmissionEvidence


class IssuerKey(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """An Ed25519 signing key of an organization. Retired keys stay published so that the
    credentials they signed still verify; only the active one signs."""

    __tablename__ = "issuer_keys"
    __table_args__ = (
        Index("ix_issuer_keys_organization_id_retired_at", "organization_id", "retired_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    #: Multikey `publicKeyMultibase` (z6Mk...), also the fragment of the verification method id.
    public_key_multibase: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    #: Encrypted PKCS#8 PEM; the passphrase derives from SIGNING_KEY_SECRET (never stored).
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: Set when the key was replaced; it then verifies old credentials but signs nothing new.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()


class BulkAwardState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


class BulkAwardBatch(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """One upload of prior-learning (or imported) awards of one credential: the checked
    records, the reason every badge of it states, and the progress of the jobs issuing them.

    The records are the database's note of the work to do (a job that dies mid-way loses
    nothing: `processed` moves forward in the same transaction as the awards it issued)."""

    __tablename__ = "bulk_award_batches"
    __table_args__ = (Index("ix_bulk_award_batches_organization_id_id", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Id in the progress page and API URLs.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="RESTRICT"), nullable=False
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Why these badges were awarded without rubric assessment; stated on each of them.
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    #: csv | api
    source: Mapped[str] = mapped_column(String(8), nullable=False, default="csv")
    filename: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    #: The checked records, in file order: {line, email, name, narrative, evidence_url,
    #: issued_on (ISO date or null), source_id}.
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Records handled so far (issued or found already held), from the start of `records`.
    processed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    issued: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Records whose recipient already held this badge with the same source id.
    already_held: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Recipients without an account, invited to claim their badge.
    invited: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    state: Mapped[BulkAwardState] = mapped_column(
        String(16), nullable=False, default=BulkAwardState.QUEUED
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()
    credential: Mapped[Credential] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.processed * 100 // self.total


class Award(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """A credential awarded to a worker for one passing submission (exactly one per submission),
    for completing a pathway (a stacked credential: exactly one per pathway and worker), or
    without rubric assessment by a bulk upload (recognition of prior learning, imported past
    completions: exactly one per credential, recipient address and source id).

    The rendered documents are stored at issuance, so public endpoints answer with one indexed
    lookup and what was signed is what is served.
    """

    __tablename__ = "awards"
    __table_args__ = (
        # Exactly once per passing decision, whatever the retries or races (a submission has a
        # second decision only after an appeal or a reopening, its earlier award revoked).
        UniqueConstraint("review_id", name="uq_awards_review_id"),
        # Exactly once per pathway and worker (NULLs, i.e. submission awards, never clash).
        UniqueConstraint("pathway_id", "recipient_id", name="uq_awards_pathway_id_recipient_id"),
        # Exactly once per credential, recipient address and source id for bulk awards (whose
        # source id is "" when none was given); NULL addresses (other awards) never clash.
        UniqueConstraint(
            "credential_id",
            "recipient_email",
            "source_id",
            name="uq_awards_credential_id_recipient_email_source_id",
        ),
        # Earned by a submission, a pathway or a bulk upload: exactly one of them.
        CheckConstraint(
            "(CASE WHEN submission_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN pathway_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN batch_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="award_source",
        ),
        # Only a bulk award may wait for its recipient to claim it (no account yet), and a
        # bulk award always names the address it was issued to and its source id.
        CheckConstraint("recipient_id IS NOT NULL OR batch_id IS NOT NULL", name="award_recipient"),
        CheckConstraint(
            "batch_id IS NULL OR (recipient_email IS NOT NULL AND source_id IS NOT NULL)",
            name="award_bulk_identity",
        ),
        Index("ix_awards_recipient_id_issued_at", "recipient_id", "issued_at"),
        # The admin list's keyset pages: (issued_at, id) within the organization.
        Index("ix_awards_organization_id_issued_at_id", "organization_id", "issued_at", "id"),
        # The reports' count of badges expiring today (earlier days are rolled up).
        Index(
            "ix_awards_organization_id_expires_at",
            "organization_id",
            "expires_at",
            postgresql_where=text("expires_at IS NOT NULL"),
            sqlite_where=text("expires_at IS NOT NULL"),
        ),
        # The sweep's look for awards left "being signed" (few rows at any time).
        Index(
            "ix_awards_being_signed",
            "issued_at",
            postgresql_where=text("signed_at IS NULL"),
            sqlite_where=text("signed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unguessable id in every public URL of the badge.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="RESTRICT"), index=True, nullable=False
    )
    #: The earner; null while a bulk award waits for its recipient to claim it.
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The passing submission; null for a stacked credential earned through a pathway.
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="RESTRICT")
    )
    #: The pathway completed (stacked credentials only).
    pathway_id: Mapped[int | None] = mapped_column(ForeignKey("pathways.id", ondelete="RESTRICT"))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))
    #: The bulk upload that awarded it without rubric assessment (prior learning).
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("bulk_award_batches.id", ondelete="RESTRICT"), index=True
    )
    #: Bulk awards: the address the badge names (lower-cased), the recipient's name as
    #: uploaded (shown until the award is claimed), the uploader's source id ("" if none),
    #: the issuer's narrative and evidence URL.
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    recipient_name: Mapped[str | None] = mapped_column(String(120))
    source_id: Mapped[str | None] = mapped_column(String(200))
    narrative: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    #: The key that signed the OB 3.0 credential.
    issuer_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("issuer_keys.id", ondelete="RESTRICT")
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    #: From the credential's expiry policy at issuance; null means it never expires.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The frozen content this badge shows (see versions.py); null: the credential as it is.
    credential_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("credential_versions.id", ondelete="SET NULL")
    )
    #: The credit earned with the badge (OB 3.0 `creditsEarned`): the credential's credit at
    #: issuance, or for a stacked credential its own credit; null: none.
    credits_earned: Mapped[float | None] = mapped_column(Numeric(8, 2, asdecimal=False))
    #: Salt of the hashed recipient email in both documents.
    recipient_salt: Mapped[str] = mapped_column(String(64), nullable=False)
    #: OB 2.0 hosted assertion and OB 3.0 signed credential, exactly as served (JSON text);
    #: null while the award is being signed (see `signed_at`).
    ob2_assertion: Mapped[str | None] = mapped_column(Text)
    ob3_credential: Mapped[str | None] = mapped_column(Text)
    #: Hex SHA-256 of the two documents: ETags and baked-image cache keys.
    ob2_sha256: Mapped[str | None] = mapped_column(String(64))
    ob3_sha256: Mapped[str | None] = mapped_column(String(64))
    #: When the signing job stored the documents. Null: "being signed" (the decision committed
    #: the award; `portfolio.awards.jobs.sign_award` signs it moments later).
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The earner hid the badge: the public page then shows only the verdict.
    is_hidden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The public badge page as an anonymous visitor gets it, rendered once and served as these
    #: bytes (`portfolio.verify.pages`); null until the first view after any change to what it
    #: shows (every such change clears it, `portfolio.awards.page_store`). Deferred: loading an
    #: award never reads it.
    page_html: Mapped[str | None] = mapped_column(Text, deferred=True)
    #: What the stored page was rendered for: the verdict and a digest of the templates and
    #: settings (a deploy with new templates, or an expiry passing, renders it again).
    page_key: Mapped[str | None] = mapped_column(String(80), deferred=True)
    #: Hex SHA-256 of `page_html`: the page's ETag.
    page_etag: Mapped[str | None] = mapped_column(String(64), deferred=True)

    organization: Mapped[Organization] = relationship(lazy="joined")
    credential: Mapped[Credential] = relationship(lazy="joined")
    recipient: Mapped[User | None] = relationship(foreign_keys=[recipient_id], lazy="joined")
    batch: Mapped[BulkAwardBatch | None] = relationship()
    submission: Mapped[Submission | None] = relationship()
    review: Mapped[Review | None] = relationship()
    issuer_key: Mapped[IssuerKey | None] = relationship()
    evidence: Mapped[list[AwardEvidence]] = relationship(
        back_populates="award", cascade="all, delete-orphan", order_by="AwardEvidence.position"
    )

    @property
    def is_being_signed(self) -> bool:
        return self.signed_at is None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def recipient_display_name(self) -> str:
        """The earner's name: their account's, or as uploaded while the award is unclaimed."""
        if self.recipient is not None:
            return self.recipient.display_name
        return self.recipient_name or "a recipient who has not claimed it yet"

    @property
    def without_assessment_reason(self) -> str | None:
        """Why a bulk award was given without rubric assessment (null for other awards)."""
        return self.batch.reason if self.batch is not None else None

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or utcnow())

    def status(self, now: datetime | None = None) -> str:
        """valid | expired | revoked (revocation wins)."""
        if self.is_revoked:
            return "revoked"
        if self.is_expired(now):
            return "expired"
        return "valid"


class AwardEvidence(db.Model):  # type: ignore[name-defined,misc]
    """Snapshot of one piece of frozen evidence behind an award, as listed in its documents."""

    __tablename__ = "award_evidence"
    __table_args__ = (
        UniqueConstraint("award_id", "position", name="uq_award_evidence_award_id_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Id in the public evidence page URL.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    award_id: Mapped[int] = mapped_column(
        ForeignKey("awards.id", ondelete="CASCADE"), nullable=False
    )
    #: The frozen submission evidence (its `frozen_key` holds the file as assessed).
    submission_evidence_id: Mapped[int | None] = mapped_column(
        ForeignKey("submission_evidence.id", ondelete="SET NULL")
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    #: file | link | text, and the OB `genre` shown to readers (Photograph, Document...).
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    genre: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    media_type: Mapped[str | None] = mapped_column(String(120))
    #: Hex SHA-256 of the frozen file (files only), as written into the documents.
    sha256: Mapped[str | None] = mapped_column(String(64))
    #: The rubric element this evidence supported, and the worker's note about it.
    element_title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The earner withheld this item from the public.
    is_hidden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: The earner deleted their account: the file and its text are gone for good.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    award: Mapped[Award] = relationship(back_populates="evidence")
    submission_evidence: Mapped[SubmissionEvidence | None] = relationship()


class PortfolioExport(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """A ZIP of a worker's whole portfolio, built by a background job into storage and kept
    for a few days behind a download link only its owner can follow."""

    __tablename__ = "portfolio_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Id in the download URL.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    #: queued → building → ready (or failed).
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    #: Bytes of the ZIP written so far, and the expected total (the evidence files' sizes plus
    #: a margin): the progress shown while it is built.
    bytes_done: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    bytes_expected: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    #: Server-built storage key of the finished ZIP.
    storage_key: Mapped[str | None] = mapped_column(String(512))
    size: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: After this the ZIP and the row are removed by the cleanup job.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    error: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship()

    @property
    def percent(self) -> int:
        """How far the build is, 0 to 99 while it runs, 100 when ready."""
        if self.state == "ready":
            return 100
        if not self.bytes_expected:
            return 0
        return min(99, self.bytes_done * 100 // self.bytes_expected)
