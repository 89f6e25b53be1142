"""A badge earned through the pages: the submissions scenario, passed by an assessor."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from portfolio.awards import signing
from portfolio.awards.models import Award
from portfolio.extensions import db
from portfolio.submissions.models import Submission
from tests.conftest import Client
from tests.submissions.conftest import (  # noqa: F401 - the scenario fixture is reused here
    Scenario,
    attach_all,
    scenario,
    score_form,
    start,
    submit,
)

PASSING = ["Meets", "Exceeds", "Meets", "Not yet"]


def pass_submission(
    worker: Client, assessor: Client, s: Scenario, levels: list[str] | None = None
) -> str:
    """Start, map evidence, submit, claim and pass through the pages; the submission's id."""
    slug = s.org.slug
    pid = start(worker, s)
    attach_all(worker, s, pid)
    submit(worker, pid)
    assessor.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    resp = assessor.submit(
        f"/o/{slug}/review/{pid}",
        {**score_form(s, levels or PASSING), "action": "confirm"},
        page=f"/o/{slug}/review/{pid}",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return pid


def award_of(sub_public_id: str) -> Award:
    db.session.expire_all()
    award = db.session.scalar(
        select(Award)
        .join(Submission, Award.submission_id == Submission.id)
        .where(Submission.public_id == sub_public_id)
    )
    assert award is not None, "no award was issued"
    return award


@pytest.fixture
def earned(client: Client, other_client: Client, scenario: Scenario) -> Any:
    """(scenario, award): the worker (logged in on `client`) holds a freshly issued badge."""
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    pid = pass_submission(client, other_client, scenario)
    award = award_of(pid)
    if award.signed_at is None:
        # On the real broker the signing job waits for a worker: run it here, as one would.
        signing.sign_pending_award(award.public_id)
        db.session.commit()
        award = award_of(pid)
    return scenario, award
