"""In-app notifications: send one, list the unread, mark them read."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select, update

from portfolio.accounts.models import User
from portfolio.core.db import utcnow
from portfolio.core.mail import mail_delivers, send_mail
from portfolio.evidence.validation import inline_kind as inline_kind  # used by the pages
from portfolio.extensions import db
from portfolio.submissions.models import (
    Notification,
)


# -- notifications and history ---------------------------------------------------------------
def notify(user: User, message: str, link: str = "") -> None:
    """An in-app notification, and an email (sent after commit) when mail is delivered."""
    db.session.add(Notification(user_id=user.id, message=message[:500], link=link))
    if mail_delivers():
        send_mail(
            user.email,
            "Portfolio: " + message[:80],
            f"{message}\n\n{current_app.config['PORTFOLIO'].public_base_url}{link}\n",
        )


def unread_notifications(user: User) -> list[Notification]:
    """Unread notifications, newest first."""
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .order_by(Notification.created_at.desc())
            .limit(20)
        )
    )


def mark_notifications_read(user: User) -> None:
    """Mark every notification of the user read."""
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
