"""Submissions, the evidence mapped to each rubric element, reviews, scores, notifications.

Kept as one module over 400 lines (its 23 tables are declarations, not logic): the tables are
bound to each other by relationships and constraints that read best side by side, and one
module keeps every one of them registered before the mappers configure.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
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
from portfolio.core.labels import label as state_label
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


class ReviewOutcome(StrEnum):
    """The decision an assessor records."""

    PASS = "pass"  # noqa: S105 - an outcome name, not a password
    NEEDS_REVISION = "needs_revision"
    FAIL = "fail"


class Review(db.Model):  # type: ignore[name-defined,misc]
    """The final decision on one submission (one per marking round): recorded by the single
    marker, by agreeing double markers, by the moderator, or after internal verification in
    hold mode. Append-only."""

    __tablename__ = "reviews"
    __table_args__ = (
        # Exactly one decision per attempt and marking round, whatever the number of clicks or
        # retries (a new round exists only after an appeal or a reopened decision).
        UniqueConstraint("submission_id", "round", name="uq_reviews_submission_id_round"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    outcome: Mapped[ReviewOutcome] = mapped_column(String(16), nullable=False)
    feedback: Mapped[str] = mapped_column(Text, nullable=False, default="")
    feedback_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    total_points: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    #: The submission's marking round this decision closed.
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
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


# -- marking workflow: second marking, moderation, internal verification, appeals --------------
class MarkingMode(StrEnum):
    """How many assessors mark each submission."""

    SINGLE = "single"
    DOUBLE = "double"


class VerificationMode(StrEnum):
    """When internal verification (IQA) happens: before the decision takes effect (`hold`) or
    after it (`after`, a disagreement opening a case for the admin)."""

    HOLD = "hold"
    AFTER = "after"


class MarkingStage(StrEnum):
    """Which part one marking plays in a submission's assessment."""

    FIRST = "first"
    SECOND = "second"
    MODERATION = "moderation"
    VERIFICATION = "verification"
    APPEAL = "appeal"

    @property
    def label(self) -> str:
        return {
            "first": "First marking",
            "second": "Second marking",
            "moderation": "Moderation",
            "verification": "Internal verification",
            "appeal": "Appeal re-review",
        }[self.value]


class WaitingFor(StrEnum):
    """Who a submission in the marking workflow is waiting for (`Submission.waiting_for`)."""

    MARKER = "marker"
    MODERATOR = "moderator"
    VERIFIER = "verifier"
    APPEAL = "appeal"


class MarkingSettings(db.Model):  # type: ignore[name-defined,misc]
    """A credential's marking workflow and quality-assurance plan (one row per credential;
    none means single marking without sampling, the behaviour before these settings existed)."""

    __tablename__ = "marking_settings"

    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[MarkingMode] = mapped_column(
        String(16), nullable=False, default=MarkingMode.SINGLE
    )
    #: Double marking only: neither marker sees the other's levels, remarks or outcome until
    #: both are in.
    is_blind: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: Percentage (0 to 100) of decisions drawn at random for internal verification.
    iqa_rate: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Every decision of an assessor's first N decisions on this credential is verified.
    iqa_first_n: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    iqa_every_fail: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    iqa_every_appeal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    iqa_mode: Mapped[VerificationMode] = mapped_column(
        String(16), nullable=False, default=VerificationMode.HOLD
    )
    #: Days after a final "not passed" in which the worker may appeal; null: no appeals.
    appeal_days: Mapped[int | None] = mapped_column(Integer)
    #: Seed of the sampling draws: a draw is a pure function of (seed, submission, round), so
    #: anyone can recompute why a decision was or was not sampled.
    sample_seed: Mapped[str] = mapped_column(String(64), nullable=False)
    #: Bumped on every change, and stored with each sample, so the audit says which plan applied.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class MarkingPlanVersion(db.Model):  # type: ignore[name-defined,misc]
    """One saved version of a credential's marking settings, kept for ever (append-only): a
    submission is marked, sampled and open to appeal under the version in force when it was
    submitted, and the audit can always say what that version said."""

    __tablename__ = "marking_plan_versions"
    __table_args__ = (
        UniqueConstraint(
            "credential_id", "version", name="uq_marking_plan_versions_credential_id_version"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    #: `MarkingSettings.version` when this was saved: 1, 2, 3...
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    mode: Mapped[MarkingMode] = mapped_column(String(16), nullable=False)
    is_blind: Mapped[bool] = mapped_column(Boolean, nullable=False)
    iqa_rate: Mapped[int] = mapped_column(Integer, nullable=False)
    iqa_first_n: Mapped[int] = mapped_column(Integer, nullable=False)
    iqa_every_fail: Mapped[bool] = mapped_column(Boolean, nullable=False)
    iqa_every_appeal: Mapped[bool] = mapped_column(Boolean, nullable=False)
    iqa_mode: Mapped[VerificationMode] = mapped_column(String(16), nullable=False)
    appeal_days: Mapped[int | None] = mapped_column(Integer)
    sample_seed: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The admin who saved it (null once their account is gone).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    created_by: Mapped[User | None] = relationship()


class AssessorAssignment(db.Model):  # type: ignore[name-defined,misc]
    """An assessor assigned to mark one credential. A credential with assignments is marked
    only by its assigned assessors; one without is open to every assessor."""

    __tablename__ = "assessor_assignments"
    __table_args__ = (
        UniqueConstraint(
            "credential_id", "user_id", name="uq_assessor_assignments_credential_id_user_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    user: Mapped[User] = relationship()


class Marking(db.Model):  # type: ignore[name-defined,misc]
    """One person's part in assessing one round of a submission: a first or second marking,
    a moderation, an internal verification or an appeal re-review. Append-only; at most one
    per (submission, round, stage), which the database enforces."""

    __tablename__ = "markings"
    __table_args__ = (
        UniqueConstraint(
            "submission_id", "round", "stage", name="uq_markings_submission_id_round_stage"
        ),
        Index("ix_markings_marker_id_created_at", "marker_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    #: The submission's marking round this belongs to (a send-back, an appeal or a reopening
    #: starts a new round).
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    stage: Mapped[MarkingStage] = mapped_column(String(16), nullable=False)
    marker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: pass / needs_revision / fail for scoring stages; agree / send_back for verification.
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    feedback: Mapped[str] = mapped_column(Text, nullable=False, default="")
    feedback_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The moderator's reason, the verifier's remark, the appeal reviewer's reason.
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    total_points: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    submission: Mapped[Submission] = relationship()
    marker: Mapped[User | None] = relationship()
    scores: Mapped[list[MarkingScore]] = relationship(
        back_populates="marking", cascade="all, delete-orphan", order_by="MarkingScore.id"
    )

    @property
    def stage_label(self) -> str:
        return MarkingStage(self.stage).label


class MarkingScore(db.Model):  # type: ignore[name-defined,misc]
    """The level one marking gave one element, with a remark."""

    __tablename__ = "marking_scores"
    __table_args__ = (
        UniqueConstraint(
            "marking_id", "element_id", name="uq_marking_scores_marking_id_element_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    marking_id: Mapped[int] = mapped_column(
        ForeignKey("markings.id", ondelete="CASCADE"), index=True
    )
    element_id: Mapped[int] = mapped_column(ForeignKey("rubric_elements.id", ondelete="CASCADE"))
    level_id: Mapped[int] = mapped_column(ForeignKey("rubric_levels.id", ondelete="CASCADE"))
    remark: Mapped[str] = mapped_column(Text, nullable=False, default="")

    marking: Mapped[Marking] = relationship(back_populates="scores")
    element: Mapped[RubricElement] = relationship()
    level: Mapped[RubricLevel] = relationship()


class SampleState(StrEnum):
    """Internal verification of one sampled decision."""

    WAITING = "waiting"
    AGREED = "agreed"
    SENT_BACK = "sent_back"
    #: `after` mode: the verifier disagreed with a decision already in effect; an admin decides.
    CASE_OPEN = "case_open"
    CASE_CLOSED = "case_closed"


class VerificationSample(db.Model):  # type: ignore[name-defined,misc]
    """A decision drawn for internal verification, with why it was drawn."""

    __tablename__ = "verification_samples"
    __table_args__ = (
        UniqueConstraint(
            "submission_id", "round", name="uq_verification_samples_submission_id_round"
        ),
        Index("ix_verification_samples_organization_id_state", "organization_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The assessor whose decision is verified (first marker, or moderator when moderated).
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The outcome under verification (pass / needs_revision / fail).
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    #: hold or after, as the plan said when drawn.
    mode: Mapped[VerificationMode] = mapped_column(String(16), nullable=False)
    #: Plain words: "random draw 0.0412 under 10 %", "first 3 decisions", "every fail".
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    draw: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    state: Mapped[SampleState] = mapped_column(
        String(16), nullable=False, default=SampleState.WAITING
    )
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    remark: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    submission: Mapped[Submission] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    verifier: Mapped[User | None] = relationship(foreign_keys=[verifier_id])


class AppealState(StrEnum):
    OPEN = "open"
    DECIDED = "decided"


class Appeal(db.Model):  # type: ignore[name-defined,misc]
    """A worker's appeal against a final "not passed". One per submission."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), unique=True
    )
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[AppealState] = mapped_column(String(16), nullable=False, default=AppealState.OPEN)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: pass (upheld: the decision is overturned) or fail (the decision stands).
    outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    submission: Mapped[Submission] = relationship()
    reviewer: Mapped[User | None] = relationship()


class AttemptGrant(db.Model):  # type: ignore[name-defined,misc]
    """An extra attempt an admin granted one worker at one credential."""

    __tablename__ = "attempt_grants"
    __table_args__ = (
        Index("ix_attempt_grants_learner_id_credential_id", "learner_id", "credential_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class WitnessState(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return {
            "pending": "Waiting for the witness",
            "confirmed": "Confirmed by the witness",
            "declined": "Declined by the witness",
            "revoked": "Link withdrawn",
        }[self.value]


class WitnessTestimony(db.Model):  # type: ignore[name-defined,misc]
    """A workplace witness asked to confirm the evidence of one submission element, or one
    evidence item of the worker's library (before or without any submission). The witness has
    no account: a signed, expiring link naming this row and its current `nonce` is the only way
    in, and changing the nonce (revoke, re-send) kills every older link."""

    __tablename__ = "witness_testimonies"
    __table_args__ = (
        Index("ix_witness_testimonies_submission_id", "submission_id"),
        # Bound to exactly one thing: a submission element, or an evidence item.
        CheckConstraint(
            "(submission_id IS NOT NULL AND element_id IS NOT NULL AND evidence_item_id IS NULL)"
            " OR (submission_id IS NULL AND element_id IS NULL AND evidence_item_id IS NOT NULL)",
            name="testimony_subject",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE")
    )
    element_id: Mapped[int | None] = mapped_column(
        ForeignKey("rubric_elements.id", ondelete="CASCADE")
    )
    #: An evidence item of the worker's library the witness confirms (instead of an element).
    evidence_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("evidence_items.id", ondelete="CASCADE"), index=True
    )
    witness_name: Mapped[str] = mapped_column(String(120), nullable=False)
    witness_role: Mapped[str] = mapped_column(String(120), nullable=False)
    #: Private: used to send the link, never shown on a public page or in a document.
    witness_email: Mapped[str] = mapped_column(String(254), nullable=False)
    #: Part of the signed link; replaced on revoke and re-send.
    nonce: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    state: Mapped[WitnessState] = mapped_column(
        String(16), nullable=False, default=WitnessState.PENDING
    )
    statement: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Hex SHA-256 of the statement as written (UTF-8): what the credential carries.
    statement_sha256: Mapped[str | None] = mapped_column(String(64))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    submission: Mapped[Submission | None] = relationship()
    element: Mapped[RubricElement | None] = relationship()
    evidence_item: Mapped[EvidenceItem | None] = relationship()

    @property
    def state_label(self) -> str:
        return WitnessState(self.state).label

    @property
    def subject_title(self) -> str:
        """What the witness confirms, in words: the element's title, or the item's."""
        if self.element is not None:
            return self.element.title
        return self.evidence_item.title if self.evidence_item is not None else "Evidence"
