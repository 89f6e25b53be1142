"""One transaction per request, side effects after commit.

Services change rows and queue their side effects (mail, object deletes, later jobs) with
`after_commit`; they never commit. One place commits: `commit()` here, called by views (through
`portfolio.core.views.run_service`), CLI commands and the demo loader. Queued effects run only
after the database commit succeeded, in the order they were queued; a rollback (a domain error,
a failed commit, an exception that ends the request) drops them, so a rolled-back request sends
no mail and deletes no object. (Warehouse's after-commit hooks, indico's request handler.)

Writes outside the database that a rollback must undo (an object stored before the row that
points at it commits) register an undo with `on_rollback`: it runs when the outermost
transaction ends without committing (a rollback, a failed commit, the session closed at the end
of a request) and is dropped on commit.

The queue lives on the SQLAlchemy session, so it follows the transaction whether a request,
a CLI command or a test opened it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from portfolio.extensions import db

log = logging.getLogger(__name__)

_KEY = "portfolio.after_commit"
_UNDO_KEY = "portfolio.on_rollback"

Effect = Callable[[], Any]


def after_commit(effect: Effect) -> None:
    """Run `effect` (no arguments) once the current transaction has committed; drop it if the
    transaction rolls back. An effect that fails is logged; it cannot undo the commit."""
    db.session().info.setdefault(_KEY, []).append(effect)


def on_rollback(undo: Effect) -> None:
    """Run `undo` (no arguments) if the current transaction ends without committing; drop it
    once it commits. An undo that fails is logged."""
    db.session().info.setdefault(_UNDO_KEY, []).append(undo)


def pending_effects() -> int:
    """How many effects wait for the next commit (for tests and diagnostics)."""
    return len(db.session().info.get(_KEY, []))


def commit() -> None:
    """Commit the current transaction; queued effects then run."""
    db.session.commit()


def rollback() -> None:
    """Roll the current transaction back; queued effects are dropped (also when nothing had
    touched the database yet)."""
    db.session.rollback()
    session = db.session()
    session.info.pop(_KEY, None)
    _run_undos(session)


def _run_effects(session: Session) -> None:
    # SQLAlchemy also calls this when a savepoint (`begin_nested`) is released; that commits
    # nothing yet, so the effects wait for the outermost commit.
    if session.in_nested_transaction():
        return
    session.info.pop(_UNDO_KEY, None)
    effects = session.info.pop(_KEY, [])
    for effect in effects:
        try:
            effect()
        except Exception:  # the data is committed; a failed effect is logged, not undone
            log.exception("after-commit effect %r failed", effect)


def _drop_effects(session: Session, previous: SessionTransaction) -> None:
    # A savepoint rolled back (`begin_nested`) keeps the outer transaction and its effects.
    if not previous.nested:
        session.info.pop(_KEY, None)


def _run_undos(session: Session) -> None:
    for undo in session.info.pop(_UNDO_KEY, []):
        try:
            undo()
        except Exception:  # the rows are gone already; a failed undo leaves an orphan, logged
            log.exception("on-rollback undo %r failed", undo)


def _end_transaction(session: Session, transaction: SessionTransaction) -> None:
    # After a commit `_run_effects` has dropped the undos already; whatever is left belongs to
    # an outermost transaction that ended without committing.
    if transaction.parent is None and not transaction.nested:
        _run_undos(session)


def init_app(app: object) -> None:
    """Install the session hooks (once per process; idempotent)."""
    if not event.contains(Session, "after_commit", _run_effects):
        event.listen(Session, "after_commit", _run_effects)
        event.listen(Session, "after_soft_rollback", _drop_effects)
        event.listen(Session, "after_transaction_end", _end_transaction)
