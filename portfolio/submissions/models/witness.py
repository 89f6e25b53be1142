"""Workplace witness testimonies confirming a submission element or a library evidence item."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.core.db import UTCDateTime, utcnow
from portfolio.core.ids import new_public_id
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.frameworks.models import RubricElement
from portfolio.submissions.models.submission import Submission


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
