"""The after-commit queue and the mail backends: effects run only once the data is committed,
and the test outbox never grows without bound."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import event

from portfolio.config import Config, ConfigError
from portfolio.core.mail import OUTBOX_LIMIT, send_mail
from portfolio.core.transaction import (
    after_commit,
    commit,
    on_rollback,
    pending_effects,
    rollback,
)
from portfolio.extensions import db


def test_effects_run_after_commit_and_are_dropped_on_rollback(app: Flask) -> None:
    ran: list[str] = []
    after_commit(lambda: ran.append("rolled back"))
    rollback()
    assert ran == [] and pending_effects() == 0
    after_commit(lambda: ran.append("first"))
    after_commit(lambda: ran.append("second"))
    assert ran == []
    commit()
    assert ran == ["first", "second"]
    commit()  # each effect runs once
    assert ran == ["first", "second"]


def test_undos_run_on_rollback_and_are_dropped_on_commit(app: Flask) -> None:
    undone: list[str] = []
    db.session.execute(db.text("SELECT 1"))
    on_rollback(lambda: undone.append("committed"))
    commit()
    assert undone == []
    db.session.execute(db.text("SELECT 1"))
    on_rollback(lambda: undone.append("object"))
    rollback()
    assert undone == ["object"]
    rollback()  # each undo runs once
    assert undone == ["object"]


def test_undos_run_when_the_commit_fails(app: Flask) -> None:
    undone: list[str] = []
    session = db.session()

    def refuse(_session: object) -> None:
        raise RuntimeError("database went away")

    db.session.execute(db.text("SELECT 1"))
    on_rollback(lambda: undone.append("object"))
    event.listen(session, "before_commit", refuse)
    try:
        with pytest.raises(RuntimeError):
            commit()
    finally:
        event.remove(session, "before_commit", refuse)
    rollback()  # what the request's error handling does next
    assert undone == ["object"]


def test_undos_run_when_the_session_closes_uncommitted(app: Flask) -> None:
    undone: list[str] = []
    db.session.execute(db.text("SELECT 1"))
    on_rollback(lambda: undone.append("object"))
    db.session.close()  # the end of a request that never committed
    assert undone == ["object"]


def test_a_rolled_back_savepoint_keeps_the_requests_effects(app: Flask) -> None:
    ran: list[str] = []
    after_commit(lambda: ran.append("kept"))
    with pytest.raises(RuntimeError), db.session.begin_nested():
        raise RuntimeError("inner step failed")
    commit()
    assert ran == ["kept"]


def test_a_released_savepoint_commits_nothing_so_effects_wait(app: Flask) -> None:
    """A badge issued inside `begin_nested` must not mail before the request commits: releasing
    the savepoint is not a commit (and a later rollback still drops the mail)."""
    ran: list[str] = []
    after_commit(lambda: ran.append("mail"))
    with db.session.begin_nested():
        db.session.execute(db.text("SELECT 1"))
    assert ran == []
    rollback()
    assert ran == []
    after_commit(lambda: ran.append("mail"))
    with db.session.begin_nested():
        db.session.execute(db.text("SELECT 1"))
    commit()
    assert ran == ["mail"]


def test_a_failing_effect_does_not_stop_the_others(app: Flask) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise OSError("mail server down")

    after_commit(broken)
    after_commit(lambda: ran.append("after"))
    commit()
    assert ran == ["after"]


def test_mail_is_sent_after_commit_only(app: Flask) -> None:
    outbox = app.extensions["portfolio.outbox"]
    send_mail("a@example.org", "Dropped", "never sent")
    rollback()
    send_mail("b@example.org", "Kept", "sent")
    assert [m["subject"] for m in outbox] == []
    commit()
    assert [m["to"] for m in outbox] == ["b@example.org"]


def test_the_test_outbox_is_bounded(app: Flask) -> None:
    outbox = app.extensions["portfolio.outbox"]
    for n in range(OUTBOX_LIMIT + 50):
        send_mail(f"u{n}@example.org", f"Message {n}", "body")
    commit()
    assert len(outbox) == OUTBOX_LIMIT
    assert outbox[-1]["subject"] == f"Message {OUTBOX_LIMIT + 49}"
    assert outbox[0]["subject"] == "Message 50"


def test_mail_backend_follows_the_settings() -> None:
    key = "k" * 40
    assert Config(env="development").resolved().mail_backend == "log"
    assert Config(env="development", smtp_host="smtp.example.org").resolved().mail_backend == (
        "smtp"
    )
    assert Config(env="testing").resolved().mail_backend == "memory"
    with pytest.raises(ConfigError, match="tests only"):
        Config(env="development", mail_backend="memory").resolved()
    with pytest.raises(ConfigError, match="tests only"):
        Config(
            env="production", secret_key=key, signing_key_secret=key, mail_backend="memory"
        ).resolved()
    with pytest.raises(ConfigError, match="SMTP_HOST"):
        Config(env="development", mail_backend="smtp").resolved()
