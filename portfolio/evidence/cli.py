"""`flask evidence ...` commands: housekeeping for uploads and the bucket's CORS rule."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup


def register_cli(app: Flask) -> None:
    """Attach the evidence commands to `flask`."""
    group = AppGroup("evidence", help="Evidence uploads and storage housekeeping.")

    @group.command("cleanup-uploads")
    @click.option(
        "--older-than-hours",
        type=float,
        default=24.0,
        show_default=True,
        help="Only uploads started, and objects written, longer ago than this are removed.",
    )
    def cleanup_uploads(older_than_hours: float) -> None:
        """Remove uploads that were started but never finished (rows, objects, parts), then
        reconcile the store: delete every object older than the cut-off that no row points to.

        Safe to run from cron at any interval: uploads and objects younger than the cut-off
        are left alone.
        """
        from portfolio.core.transaction import commit
        from portfolio.evidence.housekeeping import (
            cleanup_abandoned_uploads,
            open_upload_ids,
            staged_keys_in_use,
        )
        from portfolio.storage import get_storage
        from portfolio.storage.reconcile import reconcile_store

        grace = timedelta(hours=older_than_hours)
        removed = cleanup_abandoned_uploads(grace)
        commit()  # the rows go, then their objects and parts
        click.echo(f"Removed {removed} abandoned upload(s).")
        result = reconcile_store(
            get_storage(),
            grace,
            keep_keys=staged_keys_in_use(),
            keep_upload_ids=open_upload_ids(),
        )
        click.echo(
            f"Removed {result.objects} object(s) that no row points to, "
            f"{result.multipart_uploads} unfinished multipart upload(s) and "
            f"{result.temporaries} half-written temporary file(s)."
        )

    @group.command("apply-cors")
    @click.option(
        "--origin",
        "origins",
        multiple=True,
        help="Origin allowed to upload (repeatable); defaults to PUBLIC_BASE_URL.",
    )
    def apply_cors(origins: tuple[str, ...]) -> None:
        """Set the bucket's CORS rule so browsers on the app's origin can upload directly."""
        from flask import current_app

        from portfolio.storage import get_storage
        from portfolio.storage.s3 import S3Storage

        storage = get_storage()
        if not isinstance(storage, S3Storage):
            click.echo("Local storage serves uploads from the app's own origin: nothing to do.")
            return
        allowed = list(origins) or [current_app.config["PORTFOLIO"].public_base_url]
        storage.apply_cors(allowed)
        click.echo(f"Bucket {storage.bucket} accepts uploads from: {', '.join(allowed)}")

    app.cli.add_command(group)
