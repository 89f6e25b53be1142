"""Background jobs of pathways: completion checks after a badge is issued or revoked, the
sweep of expired components, and a re-check of recent badges (for checks that were lost)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portfolio.awards.models import Award
from portfolio.core.db import utcnow
from portfolio.core.jobs import job, periodic
from portfolio.extensions import db

#: The periodic re-check looks at badges issued this recently.
RECHECK_WINDOW = timedelta(days=2)


def _award(public_id: str) -> Award | None:
    return db.session.scalar(select(Award).where(Award.public_id == public_id))


@job(retries=5, retry_delay=10)
def check_completion(award_public_id: str) -> None:
    """Issue the stacked credentials that a newly issued badge completes. Idempotent: each
    stack exists at most once per pathway and worker (a unique constraint), and the worker's
    row is locked FOR NO KEY UPDATE (PostgreSQL) so two checks of the same worker run one after
    the other and the second sees the first's stack."""
    from portfolio.pathways.services import check_pathways

    award = _award(award_public_id)
    if award is None or award.revoked_at is not None:
        return
    check_pathways(award)


@job(retries=5, retry_delay=10)
def mark_component_revoked(award_public_id: str) -> None:
    """Mark the stacks built on a revoked badge as affected and tell their admins (once: only
    links not yet marked are touched)."""
    from portfolio.pathways.lapses import component_lapsed

    award = _award(award_public_id)
    if award is None or award.revoked_at is None:
        return
    component_lapsed(award, f"revoked: {award.revocation_reason or ''}")


@periodic(minute="23")
def sweep_expired_components() -> None:
    """Hourly: mark stacks whose component badges have expired (and tell their admins)."""
    from portfolio.pathways.lapses import mark_expired_components

    mark_expired_components()


@periodic(hour="4", minute="35")
def recheck_recent_awards() -> None:
    """Daily at 04:35 UTC: run the completion check again for badges issued in the last two
    days, in case a check job was lost. Checks that find nothing to do change nothing."""
    from portfolio.pathways.models import PathwayComponent
    from portfolio.pathways.services import check_pathways

    since = utcnow() - RECHECK_WINDOW
    components = select(PathwayComponent.credential_id)
    awards = db.session.scalars(
        select(Award)
        .where(
            Award.issued_at >= since,
            Award.revoked_at.is_(None),
            Award.credential_id.in_(components),
        )
        .order_by(Award.id)
    ).all()
    for award in awards:
        check_pathways(award)
