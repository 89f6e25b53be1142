"""Every mail is written with the change that caused it and sent by a job after the commit:
nothing on a rollback, once per message; a mail server that refuses is retried with backoff by
a real worker process, and the message arrives once."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portfolio.core.jobs import enqueue, get_queue
from portfolio.core.mail import OutgoingMail, deliver_mail, send_mail
from portfolio.extensions import db
from tests.jobworker import JobWorker, redis_overrides, wait_for


@pytest.fixture
def config_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return redis_overrides(request) if "job_worker" in request.fixturenames else {}


def _outbox(app: Flask, to: str) -> list[dict[str, str]]:
    return [m for m in app.extensions["portfolio.outbox"] if m["to"] == to]


def test_a_mail_goes_out_once_after_commit(app: Flask) -> None:
    send_mail("ana@example.org", "Hello", "Body")
    assert _outbox(app, "ana@example.org") == []  # nothing before the commit
    db.session.commit()
    assert [m["subject"] for m in _outbox(app, "ana@example.org")] == ["Hello"]
    row = db.session.scalars(select(OutgoingMail)).one()
    assert row.sent_at is not None
    # Running the job again (a retry, the sweep) does not send it again.
    enqueue(deliver_mail, row.id)
    db.session.commit()
    assert len(_outbox(app, "ana@example.org")) == 1


def test_a_rolled_back_transaction_mails_nobody(app: Flask) -> None:
    send_mail("ana@example.org", "Hello", "Body")
    db.session.rollback()
    db.session.commit()
    assert _outbox(app, "ana@example.org") == []
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail)) == 0


# -- a real SMTP conversation with a worker process ----------------------------------------------
class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP: refuses the first `refusals` messages with 451, accepts the rest."""

    def _say(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        server: Any = self.server
        self._say("220 test ESMTP")
        while line := self.rfile.readline():
            verb = line.decode(errors="replace").strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250 test")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                with server.lock:
                    server.attempts += 1
                    if server.attempts <= server.refusals:
                        self._say("451 try again later")
                        continue
                    server.received.append(data.decode(errors="replace"))
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("502 no")


class SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, refusals: int) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.refusals = refusals
        self.attempts = 0
        self.received: list[str] = []
        self.lock = threading.Lock()


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer(refusals=1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def job_worker(app: Flask, tmp_path: Path, smtp: SMTPServer) -> Iterator[JobWorker]:
    get_queue().huey.flush()
    w = JobWorker(
        app,
        tmp_path,
        MAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.server_address[1]),
        SMTP_USE_TLS="false",
        MAIL_FROM="portfolio@example.org",
    )
    yield w
    w.stop()
    get_queue().huey.flush()


def test_a_refused_mail_is_retried_then_arrives_once(
    app: Flask, job_worker: JobWorker, smtp: SMTPServer
) -> None:
    send_mail("ana@example.org", "Your badge", "It was issued.")
    db.session.commit()
    assert get_queue().huey.pending_count() == 1  # on the broker, not sent by this process
    job_worker.start()

    def sent() -> bool:
        db.session.expire_all()
        return db.session.scalar(select(OutgoingMail.sent_at)) is not None

    wait_for(sent)
    row = db.session.scalars(select(OutgoingMail)).one()
    assert row.failures == 1 and "451" in (row.last_error or "")
    assert smtp.attempts == 2
    assert len(smtp.received) == 1 and "Subject: Your badge" in smtp.received[0]
    assert "To: ana@example.org" in smtp.received[0]
    # Queued again by mistake: the worker finds it sent and the server hears nothing more.
    enqueue(deliver_mail, row.id)
    db.session.commit()
    wait_for(lambda: get_queue().huey.pending_count() == 0)
    job_worker.stop()
    assert len(smtp.received) == 1
