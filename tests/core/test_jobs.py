"""Background jobs: queued after commit; retried with backoff against the real Redis broker that
`make test` starts, by a real `flask jobs worker` process; failures visible to admins; a worker
killed mid-job leaves no half-done effect; the scheduler runs periodic jobs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portfolio.accounts.models import Role
from portfolio.core.audit import AuditEvent
from portfolio.core.jobs import JobFailure, enqueue, get_queue, registered_jobs
from portfolio.extensions import db
from tests.awards.conftest import earned  # noqa: F401 - fixture reused
from tests.conftest import Client
from tests.core import job_samples
from tests.jobworker import JobWorker, redis_overrides
from tests.submissions.conftest import scenario  # noqa: F401 - fixture reused


def _count(action: str, marker: str | None = None) -> int:
    db.session.expire_all()
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    if marker is not None:
        query = query.where(AuditEvent.subject_id == marker)
    return int(db.session.scalar(query) or 0)


def _wait_for(check: Any, timeout: float = 240.0) -> None:
    """Poll until `check()` holds; a generous deadline only catches a hang."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the worker did not get there"
        time.sleep(0.2)


# -- immediate mode (the rest of the suite): after commit, never after rollback -----------------
def test_a_job_runs_only_once_its_transaction_commits(app: Flask, tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    enqueue(job_samples.flaky, marker, str(tmp_path / "n"), 0)
    assert _count("test.effect", marker) == 0  # nothing before the commit
    db.session.commit()
    assert _count("test.effect", marker) == 1


def test_a_rolled_back_transaction_queues_nothing(app: Flask, tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    enqueue(job_samples.flaky, marker, str(tmp_path / "n"), 0)
    db.session.rollback()
    db.session.commit()
    assert _count("test.effect", marker) == 0
    assert not (tmp_path / "n").exists()


def test_only_registered_jobs_can_be_queued(app: Flask) -> None:
    with pytest.raises(ValueError):
        enqueue(print, "x")


# -- the real broker and a real worker process -------------------------------------------------
@pytest.fixture
def config_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return redis_overrides(request) if "worker" in request.fixturenames else {}


@pytest.fixture
def worker(app: Flask, tmp_path: Path) -> Iterator[JobWorker]:
    get_queue().huey.flush()  # an empty queue of this test's own
    w = JobWorker(app, tmp_path, imports=("tests.core.job_samples",))
    yield w
    w.stop()
    get_queue().huey.flush()


def test_a_job_that_fails_twice_then_succeeds_has_its_effect_once(
    app: Flask, worker: JobWorker, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    counter = tmp_path / "attempts"
    enqueue(job_samples.flaky, marker, str(counter), 2)
    db.session.commit()
    assert get_queue().huey.pending_count() == 1  # waiting on the broker, not run here
    worker.start()
    _wait_for(lambda: _count("test.effect", marker) == 1)
    assert counter.read_text() == "3"  # two failures, then the run that worked
    time.sleep(1)
    assert _count("test.effect", marker) == 1
    # The failed runs were rolled back: their partial writes are gone.
    assert _count("test.partial", marker) == 1
    assert db.session.scalar(select(func.count()).select_from(JobFailure)) == 0
    log = worker.log.read_text()
    assert log.count("planned failure for " + marker) >= 2, log[-2000:]


def test_a_job_that_keeps_failing_is_shown_to_admins_who_can_run_it_again(
    app: Flask, worker: JobWorker, tmp_path: Path, make, client: Client
) -> None:
    org = make.org("Acme")
    make.user((org, Role.ADMIN), email="admin@example.org")
    marker = uuid.uuid4().hex
    counter = tmp_path / "attempts"
    enqueue(job_samples.always_fails, marker, str(counter), organization_id=org.id)
    db.session.commit()
    worker.start()
    _wait_for(
        lambda: (
            db.session.scalar(select(func.count()).select_from(JobFailure)) == 1
            or db.session.expire_all()
        )
    )
    failure = db.session.scalars(select(JobFailure)).one()
    assert counter.read_text() == "2"  # the first run and one retry
    assert failure.attempts == 2
    assert "the mail server refused the message" in failure.error

    client.login("admin@example.org")
    page = client.get(f"/o/{org.slug}/jobs").get_data(as_text=True)
    assert "the mail server refused the message" in page
    assert "Never succeeds while the counter file says so." in page
    (tmp_path / "attempts.fixed").write_text("")  # the cause is fixed
    resp = client.submit(f"/o/{org.slug}/jobs/{failure.id}/retry", page=f"/o/{org.slug}/jobs")
    assert resp.status_code == 302
    _wait_for(lambda: _count("test.effect", marker) == 1)
    page = client.get(f"/o/{org.slug}/jobs").get_data(as_text=True)
    assert "Queued again" in page and "Run again" not in page


def test_admins_of_another_organization_do_not_see_the_failure(
    app: Flask, make, client: Client
) -> None:
    org = make.org("Acme")
    other = make.org("Other")
    make.user((other, Role.ADMIN), email="bob@example.org")
    db.session.add(
        JobFailure(
            name=job_samples.always_fails.job_name,
            args=[],
            organization_id=org.id,
            error="secret detail",
        )
    )
    db.session.commit()
    failure_id = db.session.scalars(select(JobFailure.id)).one()
    client.login("bob@example.org")
    assert client.get(f"/o/{org.slug}/jobs").status_code == 403
    assert "secret detail" not in client.get(f"/o/{other.slug}/jobs").get_data(as_text=True)
    resp = client.submit(f"/o/{other.slug}/jobs/{failure_id}/retry", page=f"/o/{other.slug}/jobs")
    assert resp.status_code == 404


def test_a_worker_killed_mid_job_leaves_no_half_done_effect(
    app: Flask, worker: JobWorker, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    started = tmp_path / "started"
    enqueue(job_samples.slow, marker, str(started))
    db.session.commit()
    worker.start()
    _wait_for(started.exists)
    worker.kill()  # in the middle of the job, after its write and before its commit
    assert _count("test.effect", marker) == 0
    # Running it again (as the sweep of overdue work does) has the effect exactly once.
    (tmp_path / "started.quick").write_text("")
    enqueue(job_samples.slow, marker, str(started))
    db.session.commit()
    worker.start()
    _wait_for(lambda: get_queue().huey.pending_count() == 0 and _count("test.effect", marker))
    time.sleep(1)
    assert _count("test.effect", marker) == 1


def test_the_scheduler_runs_periodic_jobs(app: Flask, worker: JobWorker) -> None:
    worker.start()
    _wait_for(lambda: _count("test.periodic") >= 1, timeout=300)


def test_housekeeping_runs_on_a_schedule(app: Flask) -> None:
    from datetime import UTC, datetime

    huey = get_queue().huey
    names = {t.name for t in huey.read_periodic(datetime(2026, 12, 1, 3, 17, tzinfo=UTC))}
    assert "portfolio.evidence.jobs.reconcile_uploads" in names
    assert "portfolio.evidence.jobs.reconcile_uploads" in registered_jobs()


#: Every periodic job and a moment (UTC) the scheduler runs it.
SCHEDULE = {
    "portfolio.evidence.jobs.reconcile_uploads": (3, 17),
    "portfolio.core.mail.requeue_unsent_mail": (3, 10),
    "portfolio.awards.jobs.publish_changed_status_lists": (3, 5),
    "portfolio.awards.jobs.send_expiry_reminders": (6, 5),
    "portfolio.awards.jobs.remove_expired_exports": (3, 41),
    "portfolio.pathways.jobs.sweep_expired_components": (3, 23),
    "portfolio.pathways.jobs.recheck_recent_awards": (4, 35),
    "portfolio.reports.jobs.compact_rollups": (3, 15),
}


def test_every_periodic_job_is_on_the_schedule(app: Flask) -> None:
    from datetime import UTC, datetime

    huey = get_queue().huey
    for name, (hour, minute) in SCHEDULE.items():
        assert registered_jobs()[name].schedule is not None, name
        due = {t.name for t in huey.read_periodic(datetime(2026, 12, 1, hour, minute, tzinfo=UTC))}
        assert name in due, name
    # Reminders go out once a day, not every hour.
    assert "portfolio.awards.jobs.send_expiry_reminders" not in {
        t.name for t in huey.read_periodic(datetime(2026, 12, 1, 7, 5, tzinfo=UTC))
    }


def test_the_scheduled_reminder_job_mails_each_reminder_once(app: Flask, earned) -> None:
    from datetime import timedelta

    from portfolio.core.db import utcnow

    _s, award = earned
    award.expires_at = utcnow() + timedelta(days=5)
    db.session.commit()
    outbox = app.extensions["portfolio.outbox"]
    outbox.clear()
    task = get_queue().tasks["portfolio.awards.jobs.send_expiry_reminders"]
    huey = get_queue().huey
    huey.execute(task.s())  # what the scheduler does at 06:05
    huey.execute(task.s())  # and the next day: nothing new to say
    mails = [m for m in outbox if m["to"] == "wren@example.org"]
    assert len(mails) == 1 and "expires on" in mails[0]["subject"]
