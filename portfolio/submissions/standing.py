"""Where a worker stands with one credential, so a page offers the next step that makes sense
("Continue your draft", "In review", "You hold this badge") instead of "Start" for everyone."""

from __future__ import annotations

from dataclasses import dataclass

from portfolio.accounts.models import User
from portfolio.credentials.models import Credential
from portfolio.submissions.access import attempts_of
from portfolio.submissions.models import Submission, SubmissionState


@dataclass(frozen=True)
class Standing:
    """The worker's position: `kind` is one of new, draft, waiting, revise, held, closed."""

    kind: str
    submission: Submission | None = None

    @property
    def can_start(self) -> bool:
        """Whether the page should offer to start (or continue) an attempt."""
        return self.kind in {"new", "draft", "revise"}


def standing(worker: User, credential: Credential) -> Standing:
    """The worker's standing with `credential`, from their attempts (one query)."""
    attempts = attempts_of(worker, credential)
    live = [a for a in attempts if a.state != SubmissionState.WITHDRAWN]
    last = attempts[-1] if attempts else None
    if last is None or (last.state == SubmissionState.WITHDRAWN and not live):
        return Standing("new")
    if last.state == SubmissionState.WITHDRAWN:
        last = live[-1]
    if last.state == SubmissionState.DRAFT:
        return Standing("draft", last)
    if last.state in (SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW):
        return Standing("waiting", last)
    if last.state == SubmissionState.PASSED:
        return Standing("held", last)
    if last.state == SubmissionState.NEEDS_REVISION:
        if credential.max_attempts is not None and len(live) >= credential.max_attempts:
            return Standing("closed", last)
        return Standing("revise", last)
    return Standing("closed", last)
