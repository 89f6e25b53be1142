"""A submission (one attempt of one worker at one credential), its states, and the evidence
mapped to each rubric element."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portfolio.accounts.models import Organization, User
from portfolio.core.db import TimestampMixin, UTCDateTime, utcnow
from portfolio.core.ids import new_public_id
from portfolio.core.labels import label as state_label
from portfolio.core.urls import clean_http_url
from portfolio.credentials.models import Credential
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.frameworks.models import RubricElement, RubricVersion

# `reviews` imports this module; the relationship below names `Review` by string at run time.
if TYPE_CHECKING:
    from portfolio.submissions.models.reviews import Review


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
        return state_label(self.value)


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
        # Decisions of one organization by date, carrying what the reports read (the people per
        # credential and the time-to-decision percentiles), so those read the index alone.
        Index(
            "ix_submissions_decided",
            "organization_id",
            "decided_at",
            postgresql_include=["submitted_at", "state", "credential_id", "learner_id"],
            postgresql_where=text("decided_at IS NOT NULL"),
            sqlite_where=text("decided_at IS NOT NULL"),
        ),
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
    #: Marking round: 1, then one more after each send-back, appeal or reopening.
    marking_round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: In the marking workflow, who the submission waits for (`WaitingFor`); null when it is
    #: in the plain queue or decided.
    waiting_for: Mapped[str | None] = mapped_column(String(16))
    #: An admin's allocation to a named assessor (only they may mark it first).
    allocated_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: The credential's marking plan version in force when the work was submitted
    #: (`MarkingPlanVersion.version`; 0: the default plan, no settings saved yet). Later
    #: changes of the settings do not reach work already in flight; a resubmission takes the
    #: plan current then. Null on rows submitted before plans were versioned: they follow the
    #: current settings.
    marking_plan_version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    organization: Mapped[Organization] = relationship()
    credential: Mapped[Credential] = relationship()
    rubric_version: Mapped[RubricVersion] = relationship()
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    allocated_to: Mapped[User | None] = relationship(foreign_keys=[allocated_to_id])
    evidence_links: Mapped[list[SubmissionEvidence]] = relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        order_by="SubmissionEvidence.id",
    )
    reviews: Mapped[list[Review]] = relationship(back_populates="submission", order_by="Review.id")

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
