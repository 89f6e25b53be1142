"""Jobs used by the job tests. The worker process imports this module with `--import`.

Each job records its effect as an audit event whose subject is the marker it was given, so a
test can count effects in the database; attempts are counted in a file, outside any transaction.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from portfolio.core import audit
from portfolio.core.audit import AuditEvent
from portfolio.core.jobs import job, periodic
from portfolio.extensions import db


def _count_attempt(counter: str) -> int:
    path = Path(counter)
    n = int(path.read_text() or 0) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


def _effect(marker: str) -> None:
    """Record the effect once: a second run finds it and does nothing (idempotent)."""
    done = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "test.effect", AuditEvent.subject_id == marker)
    )
    if not done:
        audit.record("test.effect", actor_id=None, subject_type="marker", subject_id=marker)


@job(retries=3, retry_delay=1)
def flaky(marker: str, counter: str, failures: int) -> None:
    """Fails its first `failures` runs, then has its effect."""
    audit.record(
        "test.partial", actor_id=None, subject_type="partial", subject_id=marker
    )  # rolled back on failure
    if _count_attempt(counter) <= failures:
        raise RuntimeError(f"planned failure for {marker}")
    _effect(marker)


@job(retries=1, retry_delay=1)
def always_fails(marker: str, counter: str) -> None:
    """Never succeeds while the counter file says so."""
    _count_attempt(counter)
    if Path(counter + ".fixed").exists():
        _effect(marker)
        return
    raise ValueError("the mail server refused the message")


@job(retries=0)
def slow(marker: str, started: str) -> None:
    """Has its effect, then takes long to finish (the test kills the worker meanwhile)."""
    _effect(marker)
    db.session.flush()
    Path(started).write_text("started")
    if not Path(started + ".quick").exists():
        time.sleep(120)


@periodic(minute="*")
def every_minute() -> None:
    """A periodic job: records that the scheduler ran it."""
    audit.record("test.periodic", actor_id=None, subject_type="marker", subject_id="every-minute")
