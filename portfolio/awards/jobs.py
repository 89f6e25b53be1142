"""Background jobs of the awards domain: signing awards off the request path (and the sweep that
re-queues any left "being signed": a worker killed mid-job, a lost queue entry), baking badge
images once signed, publishing changed status lists, building portfolio exports, expiry
reminders and export cleanup."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from portfolio.awards import status_lists
from portfolio.awards.models import Award
from portfolio.core.db import utcnow
from portfolio.core.jobs import enqueue, job, periodic
from portfolio.core.transaction import commit, rollback
from portfolio.extensions import db

#: Versions and formats baked ahead of the first download.
BAKED = (("3.0", "png"), ("3.0", "svg"), ("2.0", "png"), ("2.0", "svg"))


@job(retries=5, retry_delay=10)
def bake_award(award_public_id: str) -> None:
    """Bake the award's images into storage (idempotent: the storage key carries the document's
    hash, so a second run finds them there). Downloads serve the stored bytes, and bake on
    demand only what is missing."""
    from portfolio.awards.baking import baked_badge

    award = db.session.scalar(select(Award).where(Award.public_id == award_public_id))
    if award is None:
        return
    for version, fmt in BAKED:
        document = award.ob2_assertion if version == "2.0" else award.ob3_credential
        if not document:  # not signed yet: baked on demand, or when signing finishes
            continue
        baked_badge(award, version, fmt)


@job(retries=5, retry_delay=10)
def publish_status_list(list_public_id: str) -> None:
    """Re-sign a status list that revocations changed, and store it as served. Idempotent: a
    list no longer marked changed is left alone. The list's row is locked (PostgreSQL), so a
    revocation committing meanwhile waits, then marks the list again and queues another run."""
    from portfolio.awards.status_lists import sign_status_list

    query = select(status_lists.StatusList).where(
        status_lists.StatusList.public_id == list_public_id
    )
    if db.session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    lst = db.session.scalar(query)
    if lst is None or lst.changed_at is None:
        return
    sign_status_list(lst)


@periodic(minute="*/5")
def publish_changed_status_lists() -> None:
    """Every 5 minutes: re-sign every status list still marked changed (a publishing job that
    was lost, or failed until its retries were spent)."""
    from portfolio.awards.status_lists import sign_status_list

    changed = db.session.scalars(
        select(status_lists.StatusList)
        .where(status_lists.StatusList.changed_at.is_not(None))
        .order_by(status_lists.StatusList.id)
    ).all()
    for lst in changed:
        sign_status_list(lst)


@periodic(hour="6", minute="5")
def send_expiry_reminders() -> None:
    """Daily at 06:05 UTC: remind earners 30 and 7 days before their badges expire (each
    reminder once per badge and threshold, whatever the reruns)."""
    from portfolio.awards.notices import send_expiry_reminders as send

    base = current_app.config["PORTFOLIO"].public_base_url
    with current_app.test_request_context("/", base_url=base):
        send()


@job(retries=3, retry_delay=30)
def build_export(export_public_id: str) -> None:
    """Build a worker's portfolio ZIP into storage, with progress, then mail them the link.
    Idempotent: a ready export is left alone. The job commits as it goes (the "building"
    state, then each progress step) so the worker's page shows how far it is; a failure is
    committed as such before the job is retried."""
    from portfolio.awards import portability

    export = portability.start_building(export_public_id)
    if export is None:
        return
    export_id = export.id
    # Progress is committed while the ZIP streams; keep the loaded rows usable across commits.
    db.session().expire_on_commit = False
    commit()

    def progress(done: int) -> None:
        portability.record_progress(export_id, done)
        commit()

    try:
        portability.write_export(export, progress)
    except Exception as exc:
        rollback()
        portability.record_failure(export_id, exc)
        commit()
        raise


@periodic(minute="41")
def remove_expired_exports() -> None:
    """Hourly: delete portfolio exports past their expiry (the ZIP, then the row)."""
    from portfolio.awards.portability import remove_expired_exports as remove

    remove(utcnow())


#: An award still unsigned this long after its decision is queued again by the sweep.
SIGNING_GRACE = timedelta(minutes=2)


@job(retries=5, retry_delay=10)
def sign_award(public_id: str) -> None:
    """Sign the award's OB 3.0 credential and store its documents (a no-op once signed)."""
    from portfolio.awards.signing import sign_pending_award

    sign_pending_award(public_id)


@periodic(minute="*")
def sweep_awards_being_signed() -> None:
    """Every minute: queue again the signing of awards unsigned beyond the grace period.
    Queuing twice is harmless: the job signs an award once (row lock, then a no-op)."""
    from portfolio.awards.signing import awards_being_signed

    for public_id in awards_being_signed(utcnow() - SIGNING_GRACE):
        enqueue(sign_award, public_id)
