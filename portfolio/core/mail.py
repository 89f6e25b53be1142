"""Outgoing mail: SMTP when configured, otherwise written to the log (development)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text message, or log it when no SMTP server is configured."""
    cfg = current_app.config["PORTFOLIO"]
    if not cfg.smtp_host:
        current_app.logger.info("Mail to %s: %s\n%s", to, subject, body)
        current_app.extensions.setdefault("portfolio.outbox", []).append(
            {"to": to, "subject": subject, "body": body}
        )
        return
    msg = EmailMessage()
    msg["From"] = cfg.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=10) as smtp:
        if cfg.smtp_use_tls:
            smtp.starttls()
        if cfg.smtp_username:
            smtp.login(cfg.smtp_username, cfg.smtp_password or "")
        smtp.send_message(msg)
