"""Report rollups: counts per organization, credential and day, written by database triggers
(`portfolio.reports.rollups`) as decisions, scores and badges change, so that the dashboard sums
a few rows per day of the period instead of reading every decision and score in it.

Each change appends a row of +1/-1 counts (no row is updated, so concurrent decisions never
wait for each other on a shared counter); a periodic job folds the rows of each key into one.
A figure is always the sum of a key's rows."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.extensions import db


def _count() -> Mapped[int]:
    return mapped_column(Integer, nullable=False, default=0)


class DecisionDay(db.Model):  # type: ignore[name-defined,misc]
    """Decided attempts of one credential on one day (UTC), by attempt number: how many, how
    many passed, and how long they waited from submission to decision (the dashboard's
    histogram buckets). A decision that is reopened or changed moves out of its old day."""

    __tablename__ = "report_decision_days"
    __table_args__ = (
        Index("ix_report_decision_days_organization_id_day", "organization_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date, nullable=False)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
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
    __table_args__ = (
        Index("ix_report_element_days_organization_id_day", "organization_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date, nullable=False)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    element_id: Mapped[int] = mapped_column(ForeignKey("rubric_elements.id", ondelete="CASCADE"))
    scored: Mapped[int] = _count()
    below: Mapped[int] = _count()


class AwardDay(db.Model):  # type: ignore[name-defined,misc]
    """Badges of one credential by day (UTC): issued that day, revoked that day, and — of those
    not revoked — expiring that day."""

    __tablename__ = "report_award_days"
    __table_args__ = (Index("ix_report_award_days_organization_id_day", "organization_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date, nullable=False)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    issued: Mapped[int] = _count()
    revoked: Mapped[int] = _count()
    expired: Mapped[int] = _count()
