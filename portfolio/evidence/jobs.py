"""Background jobs of the evidence library."""

from __future__ import annotations

from datetime import timedelta

from portfolio.core.jobs import job, periodic


@periodic(minute="17")
def reconcile_uploads() -> None:
    """Hourly: remove uploads started more than a day ago and never finished (rows, objects,
    unfinished parts), like `flask evidence cleanup-uploads`."""
    from portfolio.evidence.housekeeping import cleanup_abandoned_uploads

    cleanup_abandoned_uploads(timedelta(hours=24))


@job(retries=4, retry_delay=15)
def make_item_images(item_public_id: str) -> None:
    """Make a finished item's thumbnail and preview image (whatever it still lacks)."""
    from sqlalchemy import select

    from portfolio.evidence import previews
    from portfolio.evidence.models import EvidenceItem, EvidenceState
    from portfolio.extensions import db

    item = db.session.scalar(select(EvidenceItem).where(EvidenceItem.public_id == item_public_id))
    if item is None or item.state != EvidenceState.READY or not item.storage_key:
        return  # deleted or replaced meanwhile
    previews.make_item_images(item)
