"""Awards of an organization: keyset pages, one award, revocation, and bulk awards without
rubric assessment."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_

from portfolio.accounts.models import Organization
from portfolio.api import schemas as s
from portfolio.api.blueprint import (
    actor,
    admin,
    bp,
    commit_use,
    need,
    organization,
    problem,
)
from portfolio.api.cursors import decode_cursor, encode_cursor
from portfolio.api.schemas import With
from portfolio.core.errors import NotFound
from portfolio.core.security import public
from portfolio.core.transaction import rollback
from portfolio.extensions import db


@bp.get("/organizations/<slug>/awards")
@bp.arguments(s.PageArgs, location="query")
@bp.response(200, s.AwardPage)
@public
def list_awards(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """Awards of the organization, newest first, in keyset pages (admins)."""
    from portfolio.awards.models import Award

    need("read")
    org = organization(slug)
    admin(org)
    query = select(Award).where(Award.organization_id == org.id)
    if args["cursor"]:
        at, ident = decode_cursor(args["cursor"])
        query = query.where(tuple_(Award.issued_at, Award.id) < tuple_(at, ident))
    limit = args["limit"]
    rows = list(
        db.session.scalars(query.order_by(Award.issued_at.desc(), Award.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": rows,
        "next_cursor": encode_cursor(rows[-1].issued_at, rows[-1].id) if more else None,
    }


def _org_award(org: Organization, award_id: str) -> Any:
    from portfolio.awards import issuance

    award = issuance.get_award(award_id)
    if award.organization_id != org.id:
        raise NotFound("No such badge.")
    return award


@bp.get("/organizations/<slug>/awards/<award_id>")
@bp.response(200, s.AwardOut)
@public
def get_award(slug: str, award_id: str) -> Any:
    """One award (admins of the organization, or its earner)."""
    need("read")
    org = organization(slug)
    award = _org_award(org, award_id)
    if award.recipient_id != actor().id:
        admin(org)
    return award


@bp.post("/organizations/<slug>/awards/<award_id>/revoke")
@bp.arguments(s.RevokeIn)
@bp.response(200, s.AwardOut)
@public
def revoke_award(data: dict[str, Any], slug: str, award_id: str) -> Any:
    """Revoke an award with a reason shown to the earner and to verifiers (admins)."""
    from portfolio.awards import revocation

    need("awards:write")
    org = organization(slug)
    admin(org)
    award = _org_award(org, award_id)
    revocation.revoke_award(actor(), award, data["reason"])
    commit_use("award.revoke", "award", award.public_id)
    return award


# -- bulk awards (without rubric assessment) -----------------------------------------------------
def _batch_out(batch: Any) -> Any:
    from portfolio.awards import bulk

    return With(batch, summary=bulk.batch_summary(batch))


@bp.post("/organizations/<slug>/credentials/<credential_id>/bulk-awards")
@bp.arguments(s.BulkAwardIn)
@bp.response(202, s.BulkAwardBatchOut)
@public
def create_bulk_award(data: dict[str, Any], slug: str, credential_id: str) -> Any:
    """Award a published credential without rubric assessment to a list of recipients
    (recognition of prior learning, imports). The whole list is checked first: any problem
    refuses it all (400, `errors.records` by record number). The awards are then issued by
    jobs; poll the returned batch. Recipients who already hold the badge with the same source
    id get nothing new (admins)."""
    from portfolio.awards import bulk, bulk_upload

    need("awards:write")
    org = organization(slug)
    admin(org)
    cred = bulk.bulk_credential(actor(), org, credential_id)
    rows = [{"line": i, **record} for i, record in enumerate(data["records"], start=1)]
    try:
        records = bulk_upload.check_records(rows)
    except bulk_upload.BulkAwardRefused as exc:
        rollback()
        return problem(
            400,
            "The records have problems; nothing was awarded",
            exc.message.replace("line ", "record "),
            errors={
                "records": [
                    {"record": p.line, "field": p.field, "reason": p.reason} for p in exc.problems
                ]
            },
        )
    batch = bulk.start_bulk_award(actor(), org, cred, records, data["reason"], source="api")
    commit_use("award.bulk_start", "bulk_award_batch", batch.public_id)
    return _batch_out(batch)


@bp.get("/organizations/<slug>/bulk-awards/<batch_id>")
@bp.response(200, s.BulkAwardBatchOut)
@public
def get_bulk_award(slug: str, batch_id: str) -> Any:
    """The progress of a bulk award: issued, already held, invited (admins)."""
    from portfolio.awards import bulk

    need("read")
    org = organization(slug)
    admin(org)
    return _batch_out(bulk.get_batch(actor(), org, batch_id))
