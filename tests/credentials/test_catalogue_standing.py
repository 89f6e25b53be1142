"""Issue 15, finding 13: the catalogue offers "Start a submission" only to workers who can start
one; holders, and workers with a submission in review, are shown where they stand instead."""

from __future__ import annotations

from typing import Any

from tests.awards.conftest import earned, scenario  # noqa: F401 - shared fixtures
from tests.conftest import Client
from tests.submissions.conftest import attach_all, start, submit


def test_start_is_not_offered_to_holders_or_workers_in_review(
    client: Client, other_client: Client, earned: Any
) -> None:
    s, _award = earned
    url = f"/o/{s.org.slug}/catalogue/{s.credential.public_id}"
    page = client.get(url).get_data(as_text=True)
    assert "You have earned this credential." in page and "See it in My badges" in page
    assert "Start a submission" not in page


def test_draft_and_review_are_named(app, scenario) -> None:  # type: ignore[no-untyped-def]
    app.test_client_class = Client
    worker: Client = app.test_client()  # type: ignore[assignment]
    worker.login("wren@example.org")
    s = scenario
    url = f"/o/{s.org.slug}/catalogue/{s.credential.public_id}"
    assert "Start a submission" in worker.get(url).get_data(as_text=True)
    pid = start(worker, s)
    page = worker.get(url).get_data(as_text=True)
    assert "Continue your draft" in page and "Start a submission" not in page
    attach_all(worker, s, pid)
    submit(worker, pid)
    page = worker.get(url).get_data(as_text=True)
    assert "is submitted, waiting for an assessor" in page
    assert "Start a submission" not in page and "Open your submission" in page
