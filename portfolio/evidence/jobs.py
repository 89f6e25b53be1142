"""Background jobs of the evidence library."""

from __future__ import annotations

from datetime import timedelta

from portfolio.core.jobs import periodic


@periodic(minute="17")
def reconcile_uploads() -> None:
    """Hourly: remove uploads started more than a day ago and never finished (rows, objects,
    unfinished parts), like `flask evidence cleanup-uploads`."""
    from portfolio.evidence.services import cleanup_abandoned_uploads

    cleanup_abandoned_uploads(timedelta(hours=24))
