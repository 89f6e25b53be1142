"""What workers are told about their badges: revocation (a notification, and mail once the
revocation is committed) and expiry reminders 30 and 7 days before a badge's `validUntil`, each
sent exactly once per badge and threshold (a unique row, not job logic)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import ForeignKey, Integer, UniqueConstraint, and_, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.accounts.models import User
from portfolio.awards.models import Award
from portfolio.core.db import UTCDateTime, utcnow
from portfolio.core.errors import NotFound
from portfolio.core.mail import send_mail
from portfolio.extensions import db
from portfolio.submissions.models import Notification, Submission

#: Days before expiry at which the earner is reminded, largest first.
REMINDER_DAYS = (30, 7)


class AwardReminder(db.Model):  # type: ignore[name-defined,misc]
    """One expiry reminder sent for one badge: at most one per badge and threshold."""

    __tablename__ = "award_reminders"
    __table_args__ = (UniqueConstraint("award_id", "days", name="uq_award_reminders_award_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id", ondelete="CASCADE"))
    #: The threshold this reminder stands for (30 or 7 days before expiry).
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


@dataclass(frozen=True)
class Mail:
    """A message to send once the transaction that caused it has committed."""

    to: str
    subject: str
    body: str


def send_after_commit(mails: list[Mail]) -> None:
    """Queue the mails in the current transaction: the mail job sends them once it commits
    (and retries while the mail server fails), never if it rolls back."""
    for mail in mails:
        send_mail(mail.to, mail.subject, mail.body)


def _absolute(path: str) -> str:
    return current_app.config["PORTFOLIO"].public_base_url.rstrip("/") + path


def revocation_notice(award: Award) -> Mail:
    """Tell the earner their badge was revoked (a notification now, the mail after commit)."""
    name = award.credential.name
    reason = award.revocation_reason or ""
    link = url_for("awards.my_badges") + f"#badge-{award.public_id}"
    message = f"Your badge “{name}” was revoked by {award.organization.name}. Reason: {reason}"
    db.session.add(Notification(user_id=award.recipient_id, message=message[:500], link=link))
    assert award.recipient is not None  # callers tell only claimed awards' earners
    return Mail(
        award.recipient.email,
        f"Portfolio: your badge “{name[:60]}” was revoked",
        f"{message}\n\nIt no longer verifies. If you think this is a mistake, contact "
        f"{award.organization.name}"
        + (f" at {award.organization.email}" if award.organization.email else "")
        + f".\n\n{_absolute(link)}\n",
    )


def _days_until(when: datetime, now: datetime) -> int:
    """Whole days left, rounded up: a badge expiring in 19 days and 23 hours has 20 left."""
    return max(1, math.ceil((when - now).total_seconds() / 86400))


def _due(now: datetime, days: int) -> list[Award]:
    """Valid badges expiring within `days` without a reminder for that threshold yet."""
    sent = exists().where(and_(AwardReminder.award_id == Award.id, AwardReminder.days == days))
    return list(
        db.session.scalars(
            select(Award)
            .where(
                Award.revoked_at.is_(None),
                # A bulk award nobody has claimed yet has nobody to remind.
                Award.recipient_id.is_not(None),
                Award.expires_at.is_not(None),
                Award.expires_at > now,
                Award.expires_at <= now + timedelta(days=days),
                ~sent,
            )
            .order_by(Award.id)
        )
    )


def _reminder(award: Award, days_left: int) -> Mail:
    name = award.credential.name
    until = award.expires_at.strftime("%d %B %Y")  # type: ignore[union-attr]
    link = url_for("awards.my_badges") + f"#badge-{award.public_id}"
    message = (
        f"Your badge “{name}” expires on {until} (in {days_left} day"
        f"{'' if days_left == 1 else 's'}). To renew it, start a new attempt from My badges."
    )
    db.session.add(Notification(user_id=award.recipient_id, message=message[:500], link=link))
    assert award.recipient is not None  # `_due` lists claimed awards only
    return Mail(
        award.recipient.email,
        f"Portfolio: “{name[:60]}” expires on {until}",
        f"{message}\n\n{_absolute(link)}\n",
    )


def send_expiry_reminders(now: datetime | None = None) -> int:
    """Remind earners whose badges expire within 30 and within 7 days: the reminder rows,
    notifications and queued mails commit together (the mail job sends them after the commit).
    Running it again sends nothing new: each (badge, threshold) has one row, and a badge first
    seen inside 7 days gets only the 7-day reminder. Returns the number of reminders sent."""
    now = now or utcnow()
    mails: list[Mail] = []
    handled: set[int] = set()
    for days in sorted(REMINDER_DAYS):
        for award in _due(now, days):
            if award.id in handled:
                continue
            claimed = set(
                db.session.scalars(
                    select(AwardReminder.days).where(AwardReminder.award_id == award.id)
                )
            )
            try:
                with db.session.begin_nested():
                    # Claim every larger threshold too: no 30-day reminder after a 7-day one.
                    for d in REMINDER_DAYS:
                        if d >= days and d not in claimed:
                            db.session.add(AwardReminder(award_id=award.id, days=d, sent_at=now))
            except IntegrityError:  # another run claimed it first
                continue
            handled.add(award.id)
            days_left = _days_until(award.expires_at, now)  # type: ignore[arg-type]
            mails.append(_reminder(award, days_left))
    send_after_commit(mails)
    return len(mails)


#: A badge this close to its expiry (or past it) may be renewed with a new attempt.
RENEWAL_WINDOW = timedelta(days=30)


def can_renew(award: Award, now: datetime | None = None) -> bool:
    """Whether the earner may start a new attempt to renew this badge."""
    now = now or utcnow()
    return (
        award.revoked_at is None
        and award.expires_at is not None
        and award.submission_id is not None
        and award.expires_at - now <= RENEWAL_WINDOW
    )


def start_renewal(worker: User, award: Award) -> Submission:
    """A new attempt at the credential of an expiring (or expired) badge of the worker's."""
    from portfolio.core.errors import DomainError
    from portfolio.submissions import services as submissions

    if award.recipient_id != worker.id:
        raise NotFound("No such badge.")
    if not can_renew(award):
        raise DomainError("This badge can be renewed from 30 days before it expires.")
    return submissions.start_submission(worker, award.credential, renewal=True)


@dataclass(frozen=True)
class News:
    """One card on the worker's dashboard."""

    kind: str  #: passed | needs_revision | failed | issued | revoked | expiring | expired
    title: str
    text: str
    link: str
    link_text: str
    when: datetime
    award: Award | None = None


#: How far back the dashboard looks for decisions and badge events.
NEWS_WINDOW = timedelta(days=30)


def recent_news(worker: User, now: datetime | None = None, limit: int = 8) -> list[News]:
    """What happened to the worker's submissions and badges lately, newest first (two
    queries): decisions, badges issued, revoked, expiring soon or just expired."""
    from sqlalchemy.orm import selectinload

    from portfolio.submissions.models import Submission, SubmissionState

    now = now or utcnow()
    since = now - NEWS_WINDOW
    news: list[News] = []
    subs = db.session.scalars(
        select(Submission)
        .where(Submission.learner_id == worker.id, Submission.decided_at >= since)
        .options(selectinload(Submission.credential))
    )
    for sub in subs:
        when = sub.decided_at or now
        show = url_for("submissions.show_submission", public_id=sub.public_id)
        name = sub.credential.name
        if sub.state == SubmissionState.NEEDS_REVISION:
            news.append(
                News(
                    "needs_revision",
                    f"Needs revision: {name}",
                    f"Attempt {sub.attempt} was assessed. Read the remarks on each element, "
                    "then start your next attempt.",
                    show,
                    "Read the feedback",
                    when,
                )
            )
        elif sub.state == SubmissionState.FAILED:
            news.append(
                News(
                    "failed",
                    f"Not passed: {name}",
                    f"Attempt {sub.attempt} did not pass, and no attempts are left.",
                    show,
                    "Read the feedback",
                    when,
                )
            )
        elif sub.state == SubmissionState.PASSED:
            news.append(
                News(
                    "passed",
                    f"Passed: {name}",
                    f"Attempt {sub.attempt} passed. Your badge has been issued.",
                    url_for("awards.my_badges"),
                    "See your badge",
                    when,
                )
            )
    awards = db.session.scalars(
        select(Award)
        .where(Award.recipient_id == worker.id)
        .where(
            (Award.issued_at >= since)
            | (Award.revoked_at >= since)
            | (Award.expires_at <= now + NEWS_WINDOW)
        )
        .options(selectinload(Award.credential))
    )
    mine = url_for("awards.my_badges")
    for award in awards:
        name = award.credential.name
        anchor = f"{mine}#badge-{award.public_id}"
        if award.revoked_at is not None:
            if award.revoked_at >= since:
                news.append(
                    News(
                        "revoked",
                        f"Badge revoked: {name}",
                        f"Reason given: {award.revocation_reason}",
                        anchor,
                        "See the badge",
                        award.revoked_at,
                        award,
                    )
                )
            continue
        if award.expires_at is not None and since <= award.expires_at <= now:
            news.append(
                News(
                    "expired",
                    f"Badge expired: {name}",
                    f"It expired on {award.expires_at:%d %B %Y}. Start a new attempt to renew it.",
                    anchor,
                    "Renew it",
                    award.expires_at,
                    award,
                )
            )
        elif award.expires_at is not None and now < award.expires_at <= now + NEWS_WINDOW:
            days = _days_until(award.expires_at, now)
            news.append(
                News(
                    "expiring",
                    f"Expires in {days} day{'' if days == 1 else 's'}: {name}",
                    f"Valid until {award.expires_at:%d %B %Y}. Renew it with a new attempt.",
                    anchor,
                    "Renew it",
                    now,
                    award,
                )
            )
        if award.issued_at >= since and award.submission_id is None:
            # Badges earned through a pathway: no decision card announces them.
            news.append(
                News(
                    "issued",
                    f"Badge issued: {name}",
                    "Earned by completing a pathway.",
                    anchor,
                    "See the badge",
                    award.issued_at,
                    award,
                )
            )
    news.sort(key=lambda n: n.when, reverse=True)
    return news[:limit]
