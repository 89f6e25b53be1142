"""Report rollups: counts per organization, credential and day, kept by database triggers
(`portfolio.reports.rollups`) as decisions and scores are written, so that the dashboard sums a
few rows per day of the period instead of reading every decision and every score in it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.extensions import db


def _count() -> Mapped[int]:
    return mapped_column(Integer, nullable=False, default=0)


class DecisionDay(db.Model):  # type: ignore[name-defined,misc]
    """Decided attempts of one credential on one day (UTC), by attempt number: how many, how
    many passed, and how long they waited from submission to decision (the dashboard's
    histogram buckets). A decision that is reopened or changed moves out of its old day."""

    __tablename__ = "report_decision_days"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), primary_key=True
    )
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    decided: Mapped[int] = _count()
    passed: Mapped[int] = _count()
    #: Decisions whose submission time is known (the ones the timing figures count).
    timed: Mapped[int] = _count()
    within_1d: Mapped[int] = _count()
    within_3d: Mapped[int] = _count()
    within_7d: Mapped[int] = _count()
    within_14d: Mapped[int] = _count()
    beyond_14d: Mapped[int] = _count()


class ElementDay(db.Model):  # type: ignore[name-defined,misc]
    """Scores given to one rubric element of one credential in reviews of one day (UTC): how
    many, and how many below the rubric's pass level."""

    __tablename__ = "report_element_days"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), primary_key=True
    )
    element_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_elements.id", ondelete="CASCADE"), primary_key=True
    )
    scored: Mapped[int] = _count()
    below: Mapped[int] = _count()


class AwardDay(db.Model):  # type: ignore[name-defined,misc]
    """Badges of one credential by day (UTC): issued that day, revoked that day, and — of those
    not revoked — expiring that day."""

    __tablename__ = "report_award_days"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), primary_key=True
    )
    issued: Mapped[int] = _count()
    revoked: Mapped[int] = _count()
    expired: Mapped[int] = _count()
