"""The decision on a submission (one review per marking round) and the level it gave each
rubric element."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.accounts.models import User
from portfolio.core.db import UTCDateTime, utcnow
from portfolio.core.ids import new_public_id
from portfolio.extensions import db
from portfolio.frameworks.models import RubricElement, RubricLevel
from portfolio.submissions.models.submission import Submission


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
