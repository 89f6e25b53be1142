"""The marking workflow: a credential's marking plan and its saved versions, assigned
assessors, each marking (first, second, moderation, verification, appeal re-review) with its
scores, and the decisions sampled for internal verification."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.accounts.models import User
from portfolio.core.db import UTCDateTime, utcnow
from portfolio.core.ids import new_public_id
from portfolio.extensions import db
from portfolio.frameworks.models import RubricElement, RubricLevel
from portfolio.submissions.models.submission import Submission


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
