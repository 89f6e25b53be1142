"""`flask jobs ...`: run a worker, list and re-run failed jobs."""

from __future__ import annotations

import importlib

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portfolio.core.jobs import JobFailure, get_queue, retry_failure
from portfolio.extensions import db


def register_cli(app: Flask) -> None:
    """Attach the job commands to `flask`."""
    group = AppGroup("jobs", help="Background jobs: worker and failures.")

    @group.command("worker")
    @click.option("--workers", default=2, show_default=True, help="Worker threads.")
    @click.option(
        "--import",
        "modules",
        multiple=True,
        help="Extra module declaring jobs (repeatable), imported before the queue is built.",
    )
    def worker(workers: int, modules: tuple[str, ...]) -> None:
        """Run jobs from the configured broker, and the periodic jobs on their schedule."""
        from portfolio.core.jobs import init_jobs

        for name in modules:
            importlib.import_module(name)
        queue = init_jobs(current_app._get_current_object()) if modules else get_queue()  # type: ignore[attr-defined]
        backend = current_app.config["PORTFOLIO"].jobs_backend
        click.echo(f"Job worker on {backend} with {workers} thread(s); Ctrl+C stops.")
        consumer = queue.huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
        consumer.run()

    @group.command("failed")
    def failed() -> None:
        """List jobs whose retries are spent and that nobody has re-run."""
        rows = db.session.scalars(
            select(JobFailure).where(JobFailure.retried_at.is_(None)).order_by(JobFailure.id)
        ).all()
        for row in rows:
            first_line = row.error.splitlines()[0] if row.error else ""
            click.echo(f"{row.id}\t{row.failed_at:%Y-%m-%d %H:%M}\t{row.name}\t{first_line}")
        if not rows:
            click.echo("No failed jobs.")

    @group.command("retry")
    @click.argument("failure_id", type=int)
    def retry(failure_id: int) -> None:
        """Queue a failed job again."""
        row = db.session.get(JobFailure, failure_id)
        if row is None:
            raise click.ClickException(f"No failed job {failure_id}.")
        retry_failure(row)
        db.session.commit()
        click.echo(f"Queued {row.name} again.")

    app.cli.add_command(group)
