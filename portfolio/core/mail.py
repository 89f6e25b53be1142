"""Outgoing mail behind one small interface, with the backend chosen by configuration.

- `smtp`: delivers through SMTP_HOST (the default when SMTP_HOST is set);
- `log`: writes each message to the log (the default otherwise: development);
- `memory`: keeps the last messages in `app.extensions["portfolio.outbox"]`, bounded, for tests
  only (refused outside APP_ENV=testing by the settings).

Services never send directly: `send_mail` queues the message to go out after the current
transaction commits (see `portfolio.core.transaction`), so a decision that is rolled back is
never mailed, and no SMTP round trip happens while rows are locked.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from flask import Flask, current_app

from portfolio.core.transaction import after_commit

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


def send_mail(to: str, subject: str, body: str) -> None:
    """Queue a plain-text message to be sent once the current transaction commits."""
    mailer = get_mailer()
    logger = current_app.logger
    message = Message(to, subject, body)

    def deliver() -> None:
        try:
            mailer.send(message)
        except OSError:
            logger.warning("could not send mail to %s", to)

    after_commit(deliver)
