"""Awards (issued badges / OB 2.0 assertions / OB 3.0 credentials) and issuer signing keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
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


class Award(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """A credential awarded to a worker for one passing submission (exactly one per submission),
    or for completing a pathway (a stacked credential: exactly one per pathway and worker).

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
        # Earned either by a submission or by a pathway, never both, never neither.
        CheckConstraint("(submission_id IS NULL) <> (pathway_id IS NULL)", name="award_source"),
        Index("ix_awards_recipient_id_issued_at", "recipient_id", "issued_at"),
        Index("ix_awards_organization_id_issued_at", "organization_id", "issued_at"),
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
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    #: The passing submission; null for a stacked credential earned through a pathway.
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="RESTRICT")
    )
    #: The pathway completed (stacked credentials only).
    pathway_id: Mapped[int | None] = mapped_column(ForeignKey("pathways.id", ondelete="RESTRICT"))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))
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
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id], lazy="joined")
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
