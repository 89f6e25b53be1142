"""What every view does with a service call: call it, commit, flash its result.

    if run_service(lambda: services.publish(current_user, cred), "Published."):
        return redirect(...)

On success the request's transaction is committed (queued effects then run) and the success
message flashed; on a `DomainError` the transaction is rolled back (or committed, for errors
that keep what was done before them, such as a counted failed sign-in) and the error's message
flashed. Views never catch `DomainError` themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import flash

from portfolio.core.errors import DomainError
from portfolio.core.transaction import commit, rollback

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """What `run_service` did: true when the service succeeded and its work was committed."""

    ok: bool
    value: T | None = None
    error: DomainError | None = None

    def __bool__(self) -> bool:
        return self.ok

    @property
    def message(self) -> str:
        return self.error.message if self.error is not None else ""


def finish_failed(exc: DomainError) -> None:
    """End a transaction whose service refused: roll back, or keep what the error says stays."""
    if exc.keeps_changes:
        commit()
    else:
        rollback()


def run_service(
    action: Callable[[], T],
    success: str | Callable[[T], str] | None = None,
    *,
    flash_error: bool = True,
    reraise: Callable[[DomainError], bool] | None = None,
) -> Outcome[T]:
    """Call `action`, commit and flash `success` (a message, or a function of the result);
    on a `DomainError` end the transaction (see `finish_failed`) and flash its message (unless
    `flash_error` is false: the caller shows it, e.g. in the form). `reraise` picks errors that
    should reach the error handlers instead (e.g. a 409 page)."""
    try:
        value = action()
    except DomainError as exc:
        finish_failed(exc)
        if reraise is not None and reraise(exc):
            raise
        if flash_error:
            flash(exc.message, "error")
        return Outcome(False, error=exc)
    commit()
    if success is not None:
        flash(success(value) if callable(success) else success, "success")
    return Outcome(True, value)
