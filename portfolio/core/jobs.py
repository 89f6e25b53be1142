"""Background jobs on Huey: everything slow or failure-prone runs outside the web request.

Why Huey: one small, well-kept engine whose storage is chosen by configuration, so the same job
code runs on Redis in production (any number of worker processes) and on an SQLite file in the
embedded default (`make run` starts one worker process beside the web server; no extra service).
It brings retries with exponential backoff and a crontab scheduler for periodic jobs.

- A domain declares a job with `@job(...)` (or `@periodic(...)`) on a plain function that takes
  JSON-friendly arguments (public ids, not ORM objects) and is idempotent: running it twice has
  the effect of running it once. Exactly-once facts stay database constraints.
- `enqueue(fn, *args)` queues it **after the current transaction commits**; a rolled-back request
  queues nothing.
- Each run gets its own application context and transaction, committed when the function
  returns, rolled back when it raises. A failure is retried with backoff; when the retries are
  spent, the failure is recorded in `job_failures`, where admins see its error and can run it
  again.
- A worker killed mid-job loses that run (the broker has already handed it out). Jobs therefore
  never hold the only record of work to do: the database does (an award "being signed", a mail
  not yet sent), and a periodic sweep re-queues what is overdue.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.core.db import UTCDateTime, utcnow
from portfolio.core.transaction import after_commit
from portfolio.extensions import db

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: Settings values of JOBS_BACKEND.
BACKENDS = ("sqlite", "redis", "immediate")


@dataclass(frozen=True)
class JobSpec:
    """A registered job: its stable name, function and retry policy."""

    name: str
    func: Callable[..., Any]
    retries: int
    retry_delay: int
    #: crontab keyword arguments for periodic jobs, else None.
    schedule: dict[str, str] | None = None


_REGISTRY: dict[str, JobSpec] = {}


def job(*, retries: int = 5, retry_delay: int = 10) -> Callable[[F], F]:
    """Declare a background job. Retries back off exponentially from `retry_delay` seconds
    (10 s, 20 s, 40 s, ...)."""

    def decorator(func: F) -> F:
        name = f"{func.__module__}.{func.__name__}"
        _REGISTRY[name] = JobSpec(name, func, retries, retry_delay)
        func.job_name = name  # type: ignore[attr-defined]
        return func

    return decorator


def periodic(**crontab: str) -> Callable[[F], F]:
    """Declare a job the scheduler runs on a crontab (`minute="*/5"`, `hour="3"`, ...)."""

    def decorator(func: F) -> F:
        name = f"{func.__module__}.{func.__name__}"
        _REGISTRY[name] = JobSpec(name, func, 0, 0, schedule=dict(crontab))
        func.job_name = name  # type: ignore[attr-defined]
        return func

    return decorator


def registered_jobs() -> dict[str, JobSpec]:
    """Every declared job by name (for the worker, the admin page and tests)."""
    return dict(_REGISTRY)


class JobFailure(db.Model):  # type: ignore[name-defined,misc]
    """A job whose retries are spent. Admins see it and may run it again."""

    __tablename__ = "job_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Registered job name, e.g. `portfolio.awards.jobs.sign_award`.
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: Positional arguments of the run (JSON: public ids and plain values).
    args: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    #: Organization the job worked for, so its admins see the failure; null for system jobs.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    #: Last error: exception type and message, then the traceback.
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: How many runs failed in all (first run and retries).
    attempts: Mapped[int] = mapped_column(nullable=False, default=1)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    #: Set when an admin queued it again (the row stays as history).
    retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# -- queueing after commit ---------------------------------------------------------------------
def enqueue(func: Callable[..., Any], *args: Any, organization_id: int | None = None) -> None:
    """Queue `func(*args)` to run in the background once the current transaction commits."""
    name = getattr(func, "job_name", None)
    if name is None or name not in _REGISTRY:
        raise ValueError(f"{func!r} is not a registered job")
    # Begin the transaction now, so that any rollback (even of a transaction that wrote
    # nothing yet) drops the job with the other effects.
    db.session().connection()
    queue: JobQueue = current_app.extensions["portfolio.jobs"]
    after_commit(lambda: queue.send(name, list(args), organization_id))


# -- the engine --------------------------------------------------------------------------------
class JobQueue:
    """The app's Huey instance with every registered job bound to the app."""

    def __init__(self, app: Flask) -> None:
        from huey import crontab
        from huey.signals import SIGNAL_ERROR

        cfg = app.config["PORTFOLIO"]
        self.app = app
        self.huey = _make_huey(cfg)
        self.tasks: dict[str, Any] = {}
        for spec in _REGISTRY.values():
            runner = self._runner(spec)
            if spec.schedule is not None:
                task = self.huey.periodic_task(crontab(**spec.schedule), name=spec.name)(runner)
            else:
                task = self.huey.task(
                    retries=spec.retries,
                    retry_delay=spec.retry_delay,
                    retry_backoff=2,
                    context=True,
                    name=spec.name,
                )(runner)
            self.tasks[spec.name] = task
        self.huey.signal(SIGNAL_ERROR)(self._on_error)

    def _runner(self, spec: JobSpec) -> Callable[..., Any]:
        app = self.app

        def in_transaction(*args: Any) -> None:
            # A fresh application context: its own database session and transaction.
            with app.app_context():
                try:
                    spec.func(*args)
                    db.session.commit()
                except BaseException:
                    db.session.rollback()
                    raise
                finally:
                    db.session.remove()

        if spec.schedule is not None:

            def run_periodic() -> None:
                in_transaction()

            run_periodic.__name__ = spec.func.__name__
            return run_periodic

        def run_task(*args: Any, task: Any = None) -> None:
            # The last argument is the organization id kept for the failure record.
            in_transaction(*args[:-1])

        run_task.__name__ = spec.func.__name__
        return run_task

    def send(self, name: str, args: list[Any], organization_id: int | None) -> None:
        """Hand one run to the broker (or run it now in immediate mode)."""
        self.tasks[name](*args, organization_id)

    def _on_error(self, signal: str, task: Any, exc: BaseException | None = None) -> None:
        if task.retries:
            return  # retried later with backoff
        spec = _REGISTRY.get(task.name)
        if spec is None or spec.schedule is not None:
            log.error("periodic job %s failed: %s", task.name, exc)
            return
        *args, organization_id = list(task.args)
        detail = "".join(traceback.format_exception(exc)) if exc else ""
        with self.app.app_context():
            db.session.add(
                JobFailure(
                    name=spec.name,
                    args=args,
                    organization_id=organization_id,
                    error=f"{type(exc).__name__}: {exc}\n\n{detail}"[:20000],
                    attempts=spec.retries + 1,
                )
            )
            db.session.commit()
            db.session.remove()


def _make_huey(cfg: Any) -> Any:
    from huey import RedisHuey, SqliteHuey

    backend = cfg.jobs_backend
    if backend == "redis":
        return RedisHuey("portfolio", url=cfg.jobs_url, utc=True)
    if backend == "immediate":
        # Tests: each job runs at once when its transaction commits, same code path.
        return SqliteHuey("portfolio", filename=":memory:", immediate=True, utc=True)
    path = cfg.jobs_url or str(Path(cfg.instance_path) / "jobs.sqlite3")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("portfolio", filename=path, utc=True)


def init_jobs(app: Flask) -> JobQueue:
    """Build the app's job queue (call after every module that declares jobs is imported)."""
    queue = JobQueue(app)
    app.extensions["portfolio.jobs"] = queue
    return queue


def get_queue() -> JobQueue:
    """The job queue of the current app."""
    return current_app.extensions["portfolio.jobs"]  # type: ignore[no-any-return]


def retry_failure(failure: JobFailure) -> None:
    """Queue a failed job again (after commit) and mark the failure as retried."""
    spec = _REGISTRY.get(failure.name)
    if spec is None:
        raise ValueError(f"unknown job {failure.name}")
    failure.retried_at = utcnow()
    enqueue(spec.func, *failure.args, organization_id=failure.organization_id)
