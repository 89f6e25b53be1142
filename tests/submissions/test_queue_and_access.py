"""Who may see the queue and submissions; keyset pages; constant query count; concurrency."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select

from portfolio.accounts.models import Role
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict
from portfolio.extensions import db
from portfolio.submissions import access, assessor_queue, scoring
from portfolio.submissions.models import Review, Submission, SubmissionState
from tests.conftest import Client
from tests.submissions.conftest import Scenario, attach_all, score_form, start, submit


def _submitted(client: Client, s: Scenario) -> str:
    client.login("wren@example.org")
    pid = start(client, s)
    attach_all(client, s, pid)
    submit(client, pid)
    return pid


def test_outsiders_cannot_see_queue_or_submission(
    app, client: Client, make, scenario: Scenario
) -> None:
    pid = _submitted(client, scenario)
    slug = scenario.org.slug
    other_org = make.org("Other")
    make.user((other_org, Role.ASSESSOR), email="foreign@example.org")
    make.user((other_org, Role.ADMIN), email="foreign-admin@example.org")
    make.user((scenario.org, Role.LEARNER), email="peer@example.org")

    anon = app.test_client()
    for path in (f"/o/{slug}/queue", f"/o/{slug}/review/{pid}", f"/submissions/{pid}"):
        resp = anon.get(path)
        assert resp.status_code == 302 and "/login" in resp.location, path

    for email in ("foreign@example.org", "foreign-admin@example.org", "peer@example.org"):
        c = app.test_client()
        c.login(email)
        assert c.get(f"/o/{slug}/queue").status_code == 403, email
        assert c.get(f"/o/{slug}/review/{pid}").status_code == 403, email
        assert c.get(f"/submissions/{pid}").status_code == 404, email
        link = _sub(pid).evidence_links[0].public_id
        assert c.get(f"/submissions/{pid}/evidence/{link}/file").status_code in (403, 404)
        token = c.csrf_token("/dashboard")
        assert c.post(f"/o/{slug}/queue/{pid}/claim", data={"csrf_token": token}).status_code in (
            403,
            404,
        )
    assert _sub(pid).claimed_by_id is None


def _sub(pid: str) -> Submission:
    db.session.expire_all()
    return db.session.scalar(select(Submission).where(Submission.public_id == pid))


def test_assessor_never_reviews_own_submission(app, client: Client, scenario: Scenario) -> None:
    # The assessor is also a learner of the organization and submits work.
    from portfolio.accounts import organizations

    organizations.add_membership(scenario.assessor, scenario.org, Role.LEARNER)
    db.session.commit()
    client.login("sam@example.org")
    from portfolio.evidence import services as evidence_services

    item = evidence_services.create_reflection(scenario.assessor, title="Mine", body="text")
    db.session.commit()
    pid = start(client, scenario)
    for element in scenario.elements:
        client.submit(
            f"/submissions/{pid}/evidence",
            {"element": element.public_id, "item": item.public_id},
            page=f"/submissions/{pid}",
        )
    submit(client, pid)
    queue = client.get(f"/o/{scenario.org.slug}/queue").get_data(as_text=True)
    assert "Nothing is waiting" in queue
    resp = client.submit(f"/o/{scenario.org.slug}/queue/{pid}/claim", {}, page="/dashboard")
    assert resp.status_code == 403


def _bulk_submissions(s: Scenario, n: int, start: int = 0) -> None:
    now = utcnow()
    users = []
    from portfolio.accounts.models import User

    for i in range(start, start + n):
        users.append(
            {
                "email": f"bulk{i}@example.org",
                "display_name": f"Bulk {i}",
                "password_hash": "x",
                "public_id": f"bulkuser{i:014d}",
                "session_token": f"bulk-session-{i}",
                "is_active_account": True,
                "failed_logins": 0,
                "created_at": now,
            }
        )
    db.session.execute(insert(User), users)
    ids = db.session.scalars(
        select(User.id).where(User.email.like("bulk%")).order_by(User.id)
    ).all()[start:]
    db.session.execute(
        insert(Submission),
        [
            {
                "public_id": f"bulksub{start + i:015d}",
                "learner_id": uid,
                "organization_id": s.org.id,
                "credential_id": s.credential.id,
                "rubric_version_id": s.version.id,
                "attempt": 1,
                "state": SubmissionState.SUBMITTED,
                "note": "",
                "submitted_at": now - timedelta(hours=n - i),
                "created_at": now,
                "updated_at": now,
            }
            for i, uid in enumerate(ids)
        ],
    )
    db.session.commit()


def _count_queries(client: Client, path: str) -> tuple[int, str]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        resp = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert resp.status_code == 200
    return len(statements), resp.get_data(as_text=True)


def test_queue_query_count_is_constant(client: Client, scenario: Scenario) -> None:
    client.login("sam@example.org")
    path = f"/o/{scenario.org.slug}/queue"
    _bulk_submissions(scenario, 5)
    small, page = _count_queries(client, path)
    assert "5 waiting or in review" in page
    _bulk_submissions(scenario, 495, start=5)
    large, page = _count_queries(client, path)
    assert "500 waiting or in review" in page
    assert small == large, f"{small} statements for 5 submissions, {large} for 500"


def test_queue_header_counts_up_to_the_cap(
    client: Client, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assessor_queue, "QUEUE_COUNT_CAP", 3)
    _bulk_submissions(scenario, 3)
    client.login("sam@example.org")
    path = f"/o/{scenario.org.slug}/queue"
    assert "· 3 waiting or in review" in client.get(path).get_data(as_text=True)
    _bulk_submissions(scenario, 2, start=3)
    page = client.get(path).get_data(as_text=True)
    assert "more than 3 waiting or in review" in page
    assert len(re.findall(r"Bulk (\d+)</td>", page)) == 5  # the rows themselves are not capped


def test_queue_keyset_pages_and_filters(client: Client, scenario: Scenario) -> None:
    _bulk_submissions(scenario, 60)
    client.login("sam@example.org")
    slug = scenario.org.slug
    seen: list[str] = []
    path = f"/o/{slug}/queue"

    while path:
        page = client.get(path).get_data(as_text=True)
        seen += re.findall(r"Bulk (\d+)</td>", page)
        nxt = re.search(r'href="([^"]*after=[^"]+)"', page)
        path = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert [int(x) for x in seen] == list(range(60))  # oldest first, each exactly once
    older = client.get(f"/o/{slug}/queue?older=1").get_data(as_text=True)
    assert "Bulk 0<" in older and "Bulk 59<" not in older
    mine = client.get(f"/o/{slug}/queue?mine=y").get_data(as_text=True)
    assert "Nothing is waiting" in mine
    broken = client.get(f"/o/{slug}/queue?after=garbage!!")
    assert broken.status_code == 400 and "page link is broken" in broken.get_data(as_text=True)


def _race(app, n: int, action) -> list[str]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(60)
                action(i)
                db.session.commit()
                outcome = "won"
            except Conflict:
                db.session.rollback()
                outcome = "conflict"
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_parallel_claims_exactly_one_wins(app, make, client: Client, scenario: Scenario) -> None:
    pid = _submitted(client, scenario)
    org_id = scenario.org.id
    assessors = [make.user((scenario.org, Role.ASSESSOR)) for _ in range(6)]
    ids = [a.id for a in assessors]

    def claim(i: int) -> None:
        from portfolio.accounts.models import Organization, User

        user = db.session.get(User, ids[i])
        org = db.session.get(Organization, org_id)
        sub = access.get_submission(pid)
        assessor_queue.claim(user, org, sub)

    results = _race(app, len(ids), claim)
    assert sorted(results) == ["conflict"] * 5 + ["won"]
    assert _sub(pid).claimed_by_id in ids


def test_double_submitted_review_records_one(
    app, client: Client, other_client: Client, scenario: Scenario
) -> None:
    pid = _submitted(client, scenario)
    slug = scenario.org.slug
    other_client.login("sam@example.org")
    other_client.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    org_id, assessor_id = scenario.org.id, scenario.assessor.id
    form = score_form(scenario, ["Meets", "Meets", "Meets", "Meets"])
    inputs = [
        scoring.ScoreInput(e.public_id, int(form[f"level-{e.public_id}"]), "ok")
        for e in scenario.elements
    ]

    def decide(i: int) -> None:
        from portfolio.accounts.models import Organization, User

        with app.test_request_context():
            user = db.session.get(User, assessor_id)
            org = db.session.get(Organization, org_id)
            scoring.record_review(user, org, access.get_submission(pid), inputs, "Good")

    results = _race(app, 4, decide)
    assert sorted(results) == ["conflict"] * 3 + ["won"]
    assert db.session.query(Review).count() == 1
    assert _sub(pid).state == SubmissionState.PASSED
