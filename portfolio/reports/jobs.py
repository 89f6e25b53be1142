"""Background work of the reports: folding the rollups' appended rows."""

from __future__ import annotations

import logging

from portfolio.core.jobs import periodic
from portfolio.extensions import db

log = logging.getLogger(__name__)


@periodic(minute="*/5")
def compact_rollups() -> None:
    """Every five minutes: fold the rows the triggers appended since the last run into one row
    per organization, credential and day (the figures do not change; they get cheaper)."""
    from portfolio.reports import rollups

    fewer = rollups.compact(db.session.connection())
    log.info("report rollups compacted: %d rows fewer", fewer)
