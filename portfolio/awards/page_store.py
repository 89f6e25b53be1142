"""The stored public badge page: what is kept on the award, and every change that clears it.

The page an anonymous visitor gets for a badge is rendered once (by `portfolio.verify.pages`)
and kept in `awards.page_html` with the key it was rendered for and its hash (the ETag). Here
is the other half: anything written through the ORM that changes what the page shows clears
the stored copy of the affected awards in the same flush, so the next view renders it again:

- the award itself (revocation, hiding, expiry, the credential version it shows), also through
  an ORM `update(Award)` statement (`revoke_award`, freezing a credential version);
- its evidence snapshots (withheld, withdrawn when the earner deletes the account);
- the recipient's display name, the issuing organization, the credential and its alignments
  and frozen versions.

An expiry passing by changes no row: the verdict is part of the key, and the key is checked on
every view (`page_key`), so an expired badge is rendered again once, as expired.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from portfolio.accounts.models import Organization, User
from portfolio.awards.models import Award, AwardEvidence
from portfolio.credentials.models import Credential, CredentialAlignment
from portfolio.extensions import db

PAGE_COLUMNS = frozenset({"page_html", "page_key", "page_etag", "updated_at"})
CLEARED = {"page_html": None, "page_key": None, "page_etag": None}
#: Execution option of the statement that stores a page (never clears itself).
STORE_OPTION = "badge_page_store"
_PENDING = "badge_pages_to_clear"


def stored_page(aid: str) -> Any:
    """The one query behind an anonymous badge view: the verdict's inputs and the stored page
    (a row, or None for an unknown id)."""
    return db.session.execute(
        select(
            Award.id,
            Award.revoked_at,
            Award.expires_at,
            Award.pathway_id,
            Award.signed_at,
            Award.page_html,
            Award.page_key,
            Award.page_etag,
        ).where(Award.public_id == aid)
    ).one_or_none()


def store_page(award_id: int, html: str, key: str, etag: str) -> None:
    """Keep the rendered page (the caller commits)."""
    db.session.execute(
        update(Award)
        .where(Award.id == award_id)
        .values(page_html=html, page_key=key, page_etag=etag)
        .execution_options(synchronize_session=False, **{STORE_OPTION: True})
    )


def _changed(obj: Any) -> set[str]:
    from sqlalchemy import inspect

    state = inspect(obj)
    return {a.key for a in state.attrs if a.history.has_changes()}


def _collect(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    pending: dict[str, set[int]] = session.info.setdefault(_PENDING, {})

    def add(kind: str, value: int | None) -> None:
        if value is not None:
            pending.setdefault(kind, set()).add(value)

    for obj in session.dirty:
        if isinstance(obj, Award):
            if _changed(obj) - PAGE_COLUMNS:
                add("award", obj.id)
        elif isinstance(obj, AwardEvidence):
            add("award", obj.award_id)
        elif isinstance(obj, User):
            if "display_name" in _changed(obj):
                add("recipient", obj.id)
        elif isinstance(obj, Organization):
            if _changed(obj):
                add("organization", obj.id)
        elif isinstance(obj, Credential):
            if _changed(obj):
                add("credential", obj.id)
        elif isinstance(obj, CredentialAlignment):
            add("credential", obj.credential_id)
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, AwardEvidence):
            add("award", obj.award_id)
        elif isinstance(obj, CredentialAlignment):
            add("credential", obj.credential_id)


def _clear(session: Session, flush_context: UOWTransaction) -> None:
    pending: dict[str, set[int]] = session.info.pop(_PENDING, {})
    if not pending:
        return
    table = Award.__table__
    column = {
        "award": table.c.id,
        "recipient": table.c.recipient_id,
        "organization": table.c.organization_id,
        "credential": table.c.credential_id,
    }
    where = [column[kind].in_(sorted(ids)) for kind, ids in pending.items()]
    # Core, on the flush's own connection: part of the same transaction, no ORM events.
    session.connection().execute(
        update(table).where(table.c.page_key.is_not(None), or_(*where)).values(**CLEARED)
    )


def _on_update_statement(state: ORMExecuteState) -> None:
    """An ORM `update(Award)` (revocation, freezing a credential version) clears the pages of
    the rows it changes, in the same statement."""
    if not state.is_update or state.execution_options.get(STORE_OPTION):
        return
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ is not Award:
        return
    state.statement = state.statement.values(**CLEARED)  # type: ignore[attr-defined]


def install() -> None:
    """Listen on every session (idempotent)."""
    if not event.contains(Session, "before_flush", _collect):
        event.listen(Session, "before_flush", _collect)
        event.listen(Session, "after_flush", _clear)
        event.listen(Session, "do_orm_execute", _on_update_statement)
