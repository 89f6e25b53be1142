"""Further chances after a decision: a worker's appeal, and an extra attempt an admin grants."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.accounts.models import User
from portfolio.core.db import UTCDateTime, utcnow
from portfolio.core.ids import new_public_id
from portfolio.extensions import db
from portfolio.submissions.models.submission import Submission


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
