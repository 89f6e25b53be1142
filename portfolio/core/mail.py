"""Outgoing mail behind one small interface, with the backend chosen by configuration.

- `smtp`: delivers through SMTP_HOST (the default when SMTP_HOST is set);
- `log`: writes each message to the log (the default otherwise: development);
- `memory`: keeps the last messages in `app.extensions["portfolio.outbox"]`, bounded, for tests
  only (refused outside APP_ENV=testing by the settings).

Services never send directly: `send_mail` writes the message to `outgoing_mails` in the current
transaction and queues the `deliver_mail` job for after the commit (see `portfolio.core.jobs`), so
a decision that is rolled back is never mailed, and no SMTP round trip happens inside a request.
A failing mail server makes the job retry with backoff; when the retries are spent the failure is
shown with the other failed jobs.

Sent once: the row is the idempotency key. The job locks it, sends, and marks it sent in the same
transaction; a retry or a second copy of the job finds it sent and does nothing. One window
remains, as with every SMTP client: a worker killed after the server accepted the message and
before the commit leaves the row unsent, and the sweep (`requeue_unsent_mail`) sends it again, so
such a crash can deliver a message twice; it never loses one.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from flask import Flask, current_app
from sqlalchemy import String, Text, delete, func, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.core.db import UTCDateTime, utcnow
from portfolio.core.jobs import enqueue, job, periodic
from portfolio.extensions import db

#: Messages the in-memory backend keeps; older ones are dropped.
OUTBOX_LIMIT = 200


@dataclass(frozen=True)
class Message:
    """A plain-text mail."""

    to: str
    subject: str
    body: str


class Mailer(Protocol):
    """Delivers one message now (called after commit)."""

    def send(self, message: Message) -> None: ...


class SMTPMailer:
    """Delivers through an SMTP server."""

    def __init__(self, app: Flask) -> None:
        self.cfg = app.config["PORTFOLIO"]

    def send(self, message: Message) -> None:
        cfg = self.cfg
        msg = EmailMessage()
        msg["From"] = cfg.mail_from
        msg["To"] = message.to
        msg["Subject"] = message.subject
        msg.set_content(message.body)
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=10) as smtp:
            if cfg.smtp_use_tls:
                smtp.starttls()
            if cfg.smtp_username:
                smtp.login(cfg.smtp_username, cfg.smtp_password or "")
            smtp.send_message(msg)


class LogMailer:
    """Writes each message to the application log (development without SMTP)."""

    def __init__(self, app: Flask) -> None:
        self.logger = app.logger

    def send(self, message: Message) -> None:
        self.logger.info("Mail to %s: %s\n%s", message.to, message.subject, message.body)


class Outbox(list):  # type: ignore[type-arg]
    """A list of sent messages (dicts with to, subject, body) that keeps only the newest
    `limit`: it can never grow without bound."""

    def __init__(self, limit: int = OUTBOX_LIMIT) -> None:
        super().__init__()
        self.limit = limit

    def append(self, item: object) -> None:
        super().append(item)
        if len(self) > self.limit:
            del self[: len(self) - self.limit]


class MemoryMailer:
    """Keeps messages in `app.extensions["portfolio.outbox"]` (tests only)."""

    def __init__(self, app: Flask) -> None:
        self.outbox: Outbox = app.extensions.setdefault("portfolio.outbox", Outbox())

    def send(self, message: Message) -> None:
        self.outbox.append({"to": message.to, "subject": message.subject, "body": message.body})


BACKENDS: dict[str, type[SMTPMailer] | type[LogMailer] | type[MemoryMailer]] = {
    "smtp": SMTPMailer,
    "log": LogMailer,
    "memory": MemoryMailer,
}


def init_app(app: Flask) -> None:
    """Create the configured mailer."""
    app.extensions["portfolio.mailer"] = BACKENDS[app.config["PORTFOLIO"].mail_backend](app)


def get_mailer() -> Mailer:
    """The application's mailer."""
    return current_app.extensions["portfolio.mailer"]  # type: ignore[no-any-return]


def mail_delivers() -> bool:
    """Whether mail reaches somebody (SMTP, or the test outbox standing in for it), as opposed
    to the development log."""
    return current_app.config["PORTFOLIO"].mail_backend != "log"


class OutgoingMail(db.Model):  # type: ignore[name-defined,misc]
    """One message to send: written with the change that caused it, marked when sent."""

    __tablename__ = "outgoing_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(320), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, nullable=False, index=True
    )
    #: Set in the transaction that handed the message to the mail server.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Delivery attempts that failed (the mail server refused or could not be reached).
    failures: Mapped[int] = mapped_column(nullable=False, default=0)
    #: The last delivery error, for admins reading the failed jobs.
    last_error: Mapped[str | None] = mapped_column(Text)


#: Sent mail rows are kept this long (the log of what went out), then removed by the sweep.
KEEP_SENT = timedelta(days=30)
#: An unsent mail that no attempt has touched for this long lost its job (a worker died, the
#: broker was flushed): the sweep queues it again.
REQUEUE_AFTER = timedelta(minutes=15)


def send_mail(to: str, subject: str, body: str) -> None:
    """Queue a plain-text message to be sent by a background job once the current transaction
    commits (nothing is sent if it rolls back)."""
    row = OutgoingMail(to=to[:320], subject=subject[:300], body=body)
    db.session.add(row)
    db.session.flush()
    enqueue(deliver_mail, row.id)


def forget_mail_about(address: str, name: str) -> int:
    """Remove the queued and logged messages that go to `address` or name the person (an
    account being deleted): the mail log must not keep what the account no longer does."""
    needles = [n for n in (address.strip(), name.strip()) if len(n) >= 3]
    if not needles:
        return 0
    match = or_(
        func.lower(OutgoingMail.to) == address.strip().lower(),
        *(OutgoingMail.subject.contains(n, autoescape=True) for n in needles),
        *(OutgoingMail.body.contains(n, autoescape=True) for n in needles),
    )
    result = db.session.execute(delete(OutgoingMail).where(match))
    return int(getattr(result, "rowcount", 0) or 0)


@job(retries=6, retry_delay=30)
def deliver_mail(mail_id: int) -> None:
    """Send one queued message unless it was sent already (30 s, 1, 2, 4, 8, 16 min backoff)."""
    query = select(OutgoingMail).where(OutgoingMail.id == mail_id)
    if db.session.get_bind().dialect.name != "sqlite":
        # Two copies of this job (a retry and a sweep) wait for each other here; the second
        # then sees the message sent. SQLite runs one writer at a time anyway.
        query = query.with_for_update()
    row = db.session.scalar(query)
    if row is None or row.sent_at is not None:
        return
    to = row.to
    try:
        get_mailer().send(Message(to, row.subject, row.body))
    except (OSError, smtplib.SMTPException) as exc:
        db.session.rollback()
        # Counted in a transaction of its own (the job's is rolled back as it raises).
        db.session.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id == mail_id)
            .values(failures=OutgoingMail.failures + 1, last_error=f"{type(exc).__name__}: {exc}")
        )
        db.session.commit()
        current_app.logger.warning("could not send mail %s to %s: %s", mail_id, to, exc)
        raise
    row.sent_at = utcnow()


@periodic(minute="*/10")
def requeue_unsent_mail() -> None:
    """Every 10 minutes: queue again the messages whose job was lost before any attempt (a
    worker killed mid-run, a flushed broker), and forget sent messages after `KEEP_SENT`."""
    now = utcnow()
    lost = db.session.scalars(
        select(OutgoingMail.id).where(
            OutgoingMail.sent_at.is_(None),
            OutgoingMail.failures == 0,
            OutgoingMail.created_at < now - REQUEUE_AFTER,
        )
    ).all()
    for mail_id in lost:
        enqueue(deliver_mail, mail_id)
    db.session.execute(
        OutgoingMail.__table__.delete().where(OutgoingMail.sent_at < now - KEEP_SENT)
    )
