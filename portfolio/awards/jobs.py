"""Background jobs of the awards domain: signing awards off the request path, and the sweep
that re-queues any left "being signed" (a worker killed mid-job, a lost queue entry)."""

from __future__ import annotations

from datetime import timedelta

from portfolio.core.jobs import enqueue, job, periodic

#: An award still unsigned this long after its decision is queued again by the sweep.
SIGNING_GRACE = timedelta(minutes=2)


@job(retries=5, retry_delay=10)
def sign_award(public_id: str) -> None:
    """Sign the award's OB 3.0 credential and store its documents (a no-op once signed)."""
    from portfolio.awards.issuance import sign_pending_award

    sign_pending_award(public_id)


@periodic(minute="*")
def sweep_awards_being_signed() -> None:
    """Every minute: queue again the signing of awards unsigned beyond the grace period.
    Queuing twice is harmless: the job signs an award once (row lock, then a no-op)."""
    from portfolio.awards.issuance import awards_being_signed
    from portfolio.core.db import utcnow

    for public_id in awards_being_signed(utcnow() - SIGNING_GRACE):
        enqueue(sign_award, public_id)
