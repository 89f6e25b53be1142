"""Issue 15, finding 17: pathways are edited (stacks already issued keep their version) and
archived through their pages; a worker who already holds every component receives the stack
when the pathway is created or changed; the completion check serializes per worker; `make run`
has a demo pathway."""

from __future__ import annotations

import re
import threading
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import select

from portfolio.accounts.models import Role
from portfolio.awards import issuance, pathways
from portfolio.awards.models import Award
from portfolio.credentials.models import Credential
from portfolio.extensions import db
from portfolio.submissions.models import Review, Submission, SubmissionState
from tests.conftest import DB_KIND, Client, Factory
from tests.pathways.conftest import T0, Stack


def _stacks(stack: Stack, pathway: pathways.Pathway) -> list[Award]:
    db.session.expire_all()
    return list(db.session.scalars(select(Award).where(Award.pathway_id == pathway.id)))


def test_create_edit_archive_through_the_pages(stack: Stack, client: Client) -> None:
    # Wren already holds the first two components before any pathway exists.
    stack.grant(stack.creds[0])
    stack.grant(stack.creds[1], day=1)
    client.login("admin@example.org")
    resp = client.submit(
        "/o/acme/pathways/new",
        {
            "name": "Welding Certificate",
            "component": [stack.creds[0].public_id, stack.creds[1].public_id],
            "rule": "all",
        },
        page="/o/acme/pathways/new",
        follow_redirects=True,
    )
    assert "1 worker(s) who already qualified received it" in resp.get_data(as_text=True)
    pathway = db.session.scalar(select(pathways.Pathway))
    assert pathway is not None
    (first,) = _stacks(stack, pathway)
    assert first.recipient_id == stack.worker.id

    listing = client.get("/o/acme/pathways").get_data(as_text=True)
    edit = f"/o/acme/pathways/{pathway.public_id}/edit"
    assert f'href="{edit}"' in listing
    form = client.get(edit).get_data(as_text=True)
    assert 'value="Welding Certificate"' in form
    assert re.search(rf'value="{stack.creds[1].public_id}" checked', form)
    resp = client.submit(
        edit,
        {
            "name": "Welding Certificate (2 of 3)",
            "component": [c.public_id for c in stack.creds],
            "rule": "n_of",
            "required_count": "2",
        },
        follow_redirects=True,
    )
    assert "saved; 0 worker(s) who now qualify" in resp.get_data(as_text=True)
    # The stack issued before keeps the name it was issued with.
    anon = client.application.test_client()
    page = anon.get(f"/badges/{first.public_id}").get_data(as_text=True)
    assert "<h1>Welding Certificate</h1>" in page

    confirm = f"/confirm/o/acme/pathways/{pathway.public_id}/archive"
    assert confirm in client.get("/o/acme/pathways").get_data(as_text=True)
    assert "Stacks already issued stay valid" in client.get(confirm).get_data(as_text=True)
    client.submit(f"/o/acme/pathways/{pathway.public_id}/archive", {}, page=confirm)
    assert "Archived" in client.get("/o/acme/pathways").get_data(as_text=True)
    # A worker completing it after the archive receives nothing.
    fresh = Factory().user((stack.org, Role.LEARNER), email="lee@example.org", name="Lee")
    stack.grant(stack.creds[0], day=3, worker=fresh)
    stack.grant(stack.creds[2], day=4, worker=fresh)
    assert [a.recipient_id for a in _stacks(stack, pathway)] == [stack.worker.id]


@pytest.mark.skipif(DB_KIND != "postgresql", reason="row locks need PostgreSQL")
def test_two_components_at_the_same_instant_complete_the_stack(stack: Stack) -> None:
    pathway = stack.pathway(creds=stack.creds[:2])
    application = current_app._get_current_object()  # type: ignore[attr-defined]
    cred_ids = [c.id for c in stack.creds[:2]]
    worker_id, assessor_id = stack.worker.id, stack.assessor.id
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def grant(index: int) -> None:
        """Pass one component in a transaction of its own, both at the same moment."""
        try:
            with application.app_context():
                cred = db.session.get(Credential, cred_ids[index])
                assert cred is not None
                sub = Submission(
                    learner_id=worker_id,
                    organization_id=cred.organization_id,
                    credential_id=cred.id,
                    rubric_version_id=cred.rubric_version_id,
                    attempt=1,
                    state=SubmissionState.PASSED,
                    submitted_at=T0,
                    decided_at=T0,
                )
                db.session.add(sub)
                db.session.flush()
                review = Review(
                    submission_id=sub.id,
                    assessor_id=assessor_id,
                    outcome="pass",
                    total_points=Decimal(6),
                    created_at=T0,
                )
                db.session.add(review)
                db.session.flush()
                barrier.wait(10)
                issuance.award_credential(sub, review)
                db.session.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=grant, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(_stacks(stack, pathway)) == 1


def test_demo_has_a_pathway(app) -> None:  # type: ignore[no-untyped-def]
    from portfolio.demo import load_demo

    load_demo()
    load_demo()  # twice: still one pathway
    names = [p.credential.name for p in db.session.scalars(select(pathways.Pathway))]
    assert names == ["Structural Welder"]
