"""Submissions, the evidence mapped to each rubric element, reviews, scores, notifications."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portfolio.accounts.models import Organization, User
from portfolio.core.db import TimestampMixin, UTCDateTime, utcnow
from portfolio.core.ids import new_public_id
from portfolio.core.labels import SUBMISSION_STATES
from portfolio.core.urls import clean_http_url
from portfolio.credentials.models import Credential
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.frameworks.models import RubricElement, RubricLevel, RubricVersion


class SubmissionState(StrEnum):
    """Life of one attempt. draft → submitted → in_review → passed | needs_revision | failed;
    draft or submitted → withdrawn."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    PASSED = "passed"
    NEEDS_REVISION = "needs_revision"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return SUBMISSION_STATES[self.value]


#: States in which the worker may still change the mapping of evidence.
EDITABLE_STATES = {SubmissionState.DRAFT}
#: The queue's states as SQL: the predicate of the partial index `ix_submissions_waiting`.
WAITING_SQL = "state IN ('submitted', 'in_review')"
#: States after a decision.
DECIDED_STATES = {SubmissionState.PASSED, SubmissionState.NEEDS_REVISION, SubmissionState.FAILED}


class Submission(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """One attempt of one worker at one credential, assessed against one rubric version."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint(
            "learner_id",
            "credential_id",
            "attempt",
            name="uq_submissions_learner_credential_attempt",
        ),
        # One organization's submissions by state (counts and lists by state).
        Index("ix_submissions_queue", "organization_id", "state", "submitted_at", "id"),
        # The review queue itself: only waiting work, already in queue order, so the first and
        # any deep keyset page read a page's worth of entries however large the queue and
        # however many decided submissions pile up. (The index above cannot give this order
        # for two states at once: the planner would read and sort every waiting row.)
        Index(
            "ix_submissions_waiting",
            "organization_id",
            "submitted_at",
            "id",
            postgresql_where=text(WAITING_SQL),
            sqlite_where=text(WAITING_SQL),
        ),
        Index("ix_submissions_learner_id_created_at", "learner_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The issuing organization (copied from the credential for the queue index).
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), index=True
    )
    #: The rubric version the work is assessed against, fixed when the attempt starts.
    rubric_version_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_versions.id", ondelete="RESTRICT"), index=True
    )
    #: 1 for the first attempt, then 2, 3... after "needs revision".
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    state: Mapped[SubmissionState] = mapped_column(
        String(16), nullable=False, default=SubmissionState.DRAFT
    )
    #: The worker's note to the assessor.
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Claim: who holds the submission and until when (a lease; expired leases are free).
    claimed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    organization: Mapped[Organization] = relationship()
    credential: Mapped[Credential] = relationship()
    rubric_version: Mapped[RubricVersion] = relationship()
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    evidence_links: Mapped[list[SubmissionEvidence]] = relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        order_by="SubmissionEvidence.id",
    )
    reviews: Mapped[list[Review]] = relationship(
        back_populates="submission", order_by="Review.created_at"
    )

    @property
    def review(self) -> Review | None:
        """The decision on this attempt, if made."""
        return self.reviews[-1] if self.reviews else None

    def claim_is_live(self, now: datetime | None = None) -> bool:
        """True when an assessor holds an unexpired lease."""
        return (
            self.claimed_by_id is not None
            and self.claim_expires_at is not None
            and self.claim_expires_at > (now or utcnow())
        )


class SubmissionEvidence(db.Model):  # type: ignore[name-defined,misc]
    """One evidence item offered for one rubric element, with the worker's note.

    On submit, file evidence is copied to a frozen object (`frozen_key`) whose SHA-256 is
    recorded: what the assessor sees is what an employer sees later, whatever the worker does
    to the library item afterwards.
    """

    __tablename__ = "submission_evidence"
    __table_args__ = (
        UniqueConstraint(
            "submission_id",
            "element_id",
            "evidence_item_id",
            name="uq_submission_evidence_submission_element_item",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    element_id: Mapped[int] = mapped_column(ForeignKey("rubric_elements.id", ondelete="CASCADE"))
    evidence_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("evidence_items.id", ondelete="SET NULL"), index=True
    )
    #: How this item shows the element, in the worker's words.
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Frozen copy of the file at submission time (files only).
    frozen_key: Mapped[str | None] = mapped_column(String(512))
    #: Snapshot of what was submitted, kept even if the library item is later removed.
    title: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    media_type: Mapped[str | None] = mapped_column(String(120))
    original_filename: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(2000))
    body_html: Mapped[str | None] = mapped_column(Text)

    submission: Mapped[Submission] = relationship(back_populates="evidence_links")
    element: Mapped[RubricElement] = relationship()
    evidence_item: Mapped[EvidenceItem | None] = relationship()

    @validates("url")
    def _check_url(self, _key: str, value: str | None) -> str | None:
        # Shown as a link (and written into badges): http(s) only, never javascript: or data:,
        # whether it comes from a form, a service or an import.
        return None if value is None else clean_http_url(value, what="The address")


class ReviewOutcome(StrEnum):
    """The decision an assessor records."""

    PASS = "pass"  # noqa: S105 - an outcome name, not a password
    NEEDS_REVISION = "needs_revision"
    FAIL = "fail"


class Review(db.Model):  # type: ignore[name-defined,misc]
    """An assessor's decision on one submission. Append-only; one per submission."""

    __tablename__ = "reviews"
    __table_args__ = (
        # Exactly one decision per attempt, whatever the number of clicks or retries.
        UniqueConstraint("submission_id", name="uq_reviews_submission_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    outcome: Mapped[ReviewOutcome] = mapped_column(String(16), nullable=False)
    feedback: Mapped[str] = mapped_column(Text, nullable=False, default="")
    feedback_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    total_points: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    submission: Mapped[Submission] = relationship(back_populates="reviews")
    assessor: Mapped[User | None] = relationship()
    scores: Mapped[list[Score]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="Score.id"
    )


class Score(db.Model):  # type: ignore[name-defined,misc]
    """The level an assessor gave one rubric element, with a remark."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("review_id", "element_id", name="uq_scores_review_id_element_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    element_id: Mapped[int] = mapped_column(ForeignKey("rubric_elements.id", ondelete="CASCADE"))
    level_id: Mapped[int] = mapped_column(ForeignKey("rubric_levels.id", ondelete="CASCADE"))
    remark: Mapped[str] = mapped_column(Text, nullable=False, default="")

    review: Mapped[Review] = relationship(back_populates="scores")
    element: Mapped[RubricElement] = relationship()
    level: Mapped[RubricLevel] = relationship()


class Notification(db.Model):  # type: ignore[name-defined,misc]
    """An in-app message for one user (decision made, lease about to expire...)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(String(500), nullable=False)
    #: A path inside the app to open.
    link: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
