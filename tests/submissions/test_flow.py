"""The worker's and the assessor's side of a submission, through the pages."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from portfolio.core.audit import AuditEvent
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.storage import get_storage
from portfolio.submissions.models import Review, Submission, SubmissionState
from tests.conftest import Client
from tests.submissions.conftest import Scenario, attach_all, score_form, start, submit


def _sub(public_id: str) -> Submission:
    db.session.expire_all()
    return db.session.scalar(select(Submission).where(Submission.public_id == public_id))


def test_worker_sees_rubric_guidance_and_descriptors(client: Client, scenario: Scenario) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    page = client.get(f"/submissions/{pid}").get_data(as_text=True)
    assert "Show us: weld the joint." in page
    assert "Weld the joint at Meets." in page
    assert "Draft" in page


def test_submit_requires_evidence_for_every_required_element(
    client: Client, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    client.submit(
        f"/submissions/{pid}/evidence",
        {"element": scenario.elements[0].public_id, "item": scenario.items["photo"].public_id},
        page=f"/submissions/{pid}",
    )
    resp = submit(client, pid)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "Add evidence for every required element" in page
    # The message itself names the required elements still missing, and only those (the page
    # shows every element's title elsewhere too).
    message = page.split("Add evidence for every required element")[1].split("</p>")[0]
    assert "“Weld the joint”" in message and "“Inspect the weld”" in message
    assert "Tidy the workplace" not in message and "Prepare the joint" not in message
    assert _sub(pid).state == SubmissionState.DRAFT


def test_submit_needs_confirmation(client: Client, scenario: Scenario) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    resp = client.submit(
        f"/submissions/{pid}/submit", {}, page=f"/submissions/{pid}", follow_redirects=True
    )
    assert "Tick the box to confirm" in resp.get_data(as_text=True)
    assert _sub(pid).state == SubmissionState.DRAFT


def test_submit_freezes_evidence_and_copies_files(client: Client, scenario: Scenario) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    assert submit(client, pid).status_code == 302
    sub = _sub(pid)
    assert sub.state == SubmissionState.SUBMITTED and sub.submitted_at is not None
    storage = get_storage()
    files = [link for link in sub.evidence_links if link.frozen_key]
    assert len(files) == 2
    for link in files:
        data = b"".join(storage.iter_chunks(link.frozen_key))
        assert hashlib.sha256(data).hexdigest() == link.sha256
    photo = scenario.items["photo"]
    photo_id = photo.id
    # The worker still manages their library (issue 15, finding 21): deleting the item leaves
    # the submission's frozen copy and snapshot as they were.
    page = client.get(f"/portfolio/items/{photo.public_id}").get_data(as_text=True)
    assert "each submission keeps its own copy" in page
    assert f"/confirm/portfolio/items/{photo.public_id}/delete" in page
    resp = client.submit(
        f"/portfolio/items/{photo.public_id}/delete",
        {},
        page=f"/confirm/portfolio/items/{photo.public_id}/delete",
        follow_redirects=True,
    )
    assert "was deleted" in resp.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(EvidenceItem.id).where(EvidenceItem.id == photo_id)) is None
    kept = next(lk for lk in _sub(pid).evidence_links if lk.title == "Joint photo")
    assert kept.frozen_key and storage.exists(kept.frozen_key)
    assert b"".join(storage.iter_chunks(kept.frozen_key))
    # The mapping cannot change either.
    resp = client.submit(
        f"/submissions/{pid}/evidence",
        {"element": scenario.elements[3].public_id, "item": scenario.items["pdf"].public_id},
        page="/submissions",
        follow_redirects=True,
    )
    assert "can no longer be changed" in resp.get_data(as_text=True)
    # A second submit (double click) changes nothing.
    resp = client.submit(
        f"/submissions/{pid}/submit", {"confirm": "y"}, page="/submissions", follow_redirects=True
    )
    assert "already been submitted" in resp.get_data(as_text=True)


def test_frozen_copy_still_matches_after_library_edits(
    app, client: Client, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    submit(client, pid)
    sub = _sub(pid)
    link = next(lk for lk in sub.evidence_links if lk.frozen_key and lk.media_type == "image/png")
    # Even if the library object were overwritten behind the app's back, the frozen copy holds.
    import io

    storage = get_storage()
    storage.put(scenario.items["photo"].storage_key, io.BytesIO(b"tampered"), "image/png")
    data = b"".join(storage.iter_chunks(link.frozen_key))
    assert hashlib.sha256(data).hexdigest() == link.sha256


def test_assessor_claims_scores_and_worker_sees_feedback(
    client: Client, other_client: Client, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    submit(client, pid)

    other_client.login("sam@example.org")
    queue = other_client.get(f"/o/{scenario.org.slug}/queue").get_data(as_text=True)
    assert "Wren Worker" in queue and "Fillet Welding" in queue
    resp = other_client.submit(
        f"/o/{scenario.org.slug}/queue/{pid}/claim", {}, page=f"/o/{scenario.org.slug}/queue"
    )
    assert resp.status_code == 302 and resp.location.endswith(f"/review/{pid}")
    review_page = other_client.get(resp.location).get_data(as_text=True)
    assert "joint.png" in review_page and "What I learned" in review_page
    assert "https://example.org/log" in review_page

    data = score_form(
        scenario,
        ["Meets", "Developing", "Meets", "Not yet"],
        feedback="Your weld needs *more* penetration.",
    )
    preview = other_client.submit(
        f"/o/{scenario.org.slug}/review/{pid}",
        {**data, "action": "preview"},
        page=f"/o/{scenario.org.slug}/review/{pid}",
    )
    text = preview.get_data(as_text=True)
    assert "The pass rule gives: Needs revision" in text
    assert "“Weld the joint” is below Meets." in text
    assert _sub(pid).review is None

    done = other_client.submit(
        f"/o/{scenario.org.slug}/review/{pid}",
        {**data, "action": "confirm"},
        page=f"/o/{scenario.org.slug}/review/{pid}",
    )
    assert done.status_code == 302
    sub = _sub(pid)
    assert sub.state == SubmissionState.NEEDS_REVISION
    assert [s.level.name for s in sub.review.scores] == ["Meets", "Developing", "Meets", "Not yet"]

    page = client.get(f"/submissions/{pid}").get_data(as_text=True)
    assert "Needs revision" in page
    assert "Level achieved: Developing" in page and "Remark on Weld the joint" in page
    assert "<em>more</em>" in page
    assert "has been decided" in client.get("/notifications").get_data(as_text=True)
    actions = [
        e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.subject_id == pid))
    ]
    assert actions == ["submission.start", "submission.submit", "submission.claim", "review.record"]


def test_revision_then_pass_and_attempt_limit(
    client: Client, other_client: Client, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    slug = scenario.org.slug
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    submit(client, pid)
    other_client.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    other_client.submit(
        f"/o/{slug}/review/{pid}",
        {**score_form(scenario, ["Not yet"] * 4), "action": "confirm"},
        page=f"/o/{slug}/review/{pid}",
    )

    resp = client.submit(f"/submissions/{pid}/retry", {}, page=f"/submissions/{pid}")
    second = resp.location.rsplit("/", 1)[1]
    assert second != pid
    sub2 = _sub(second)
    assert sub2.attempt == 2 and sub2.state == SubmissionState.DRAFT
    assert len(sub2.evidence_links) == 4  # pre-filled from the last attempt
    submit(client, second)
    other_client.submit(f"/o/{slug}/queue/{second}/claim", {}, page=f"/o/{slug}/queue")
    other_client.submit(
        f"/o/{slug}/review/{second}",
        {**score_form(scenario, ["Developing"] * 4), "action": "confirm"},
        page=f"/o/{slug}/review/{second}",
    )
    final = _sub(second)
    assert final.state == SubmissionState.FAILED  # max_attempts=2 used up
    page = client.get(f"/submissions/{second}").get_data(as_text=True)
    assert "You have used every attempt" in page and "badges@acme.example" in page
    resp = client.submit(
        f"/o/{slug}/credentials/{scenario.credential.public_id}/start",
        {},
        page="/dashboard",
        follow_redirects=True,
    )
    assert "used every attempt" in resp.get_data(as_text=True)


def test_pass_decides_passed(client: Client, other_client: Client, scenario: Scenario) -> None:
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    slug = scenario.org.slug
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    submit(client, pid)
    other_client.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    other_client.submit(
        f"/o/{slug}/review/{pid}",
        {**score_form(scenario, ["Meets", "Exceeds", "Meets", "Not yet"]), "action": "confirm"},
        page=f"/o/{slug}/review/{pid}",
    )
    assert _sub(pid).state == SubmissionState.PASSED
    # A retried confirm records nothing more.
    resp = other_client.submit(
        f"/o/{slug}/review/{pid}",
        {**score_form(scenario, ["Not yet"] * 4), "action": "confirm"},
        page=f"/o/{slug}/review/{pid}",
        follow_redirects=True,
    )
    assert "already been decided" in resp.get_data(as_text=True)
    assert db.session.query(Review).count() == 1
    assert _sub(pid).state == SubmissionState.PASSED


def test_unscored_element_is_named_and_nothing_recorded(
    client: Client, other_client: Client, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    slug = scenario.org.slug
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    submit(client, pid)
    other_client.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    data = score_form(scenario, ["Meets"] * 4)
    del data[f"level-{scenario.elements[2].public_id}"]
    resp = other_client.submit(
        f"/o/{slug}/review/{pid}", {**data, "action": "confirm"}, page=f"/o/{slug}/review/{pid}"
    )
    assert resp.status_code == 200
    assert "Choose a level for every element: Inspect the weld." in resp.get_data(as_text=True)
    # What the assessor typed is still there.
    assert "Remark on Weld the joint" in resp.get_data(as_text=True)
    assert db.session.query(Review).count() == 0


def test_second_assessor_is_told_it_is_claimed(
    client: Client, other_client: Client, app, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    submit(client, pid)
    other_client.login("sam@example.org")
    slug = scenario.org.slug
    other_client.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    third = app.test_client()
    third.login("sue@example.org")
    resp = third.submit(
        f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue", follow_redirects=True
    )
    assert "Sam Assessor is already reviewing this submission." in resp.get_data(as_text=True)
    # Nor can she record a review.
    resp = third.submit(
        f"/o/{slug}/review/{pid}",
        {**score_form(scenario, ["Meets"] * 4), "action": "confirm"},
        page=f"/o/{slug}/queue",
        follow_redirects=True,
    )
    assert "Claim this submission before recording a review" in resp.get_data(as_text=True)
    # Worker cannot withdraw once claimed.
    resp = client.submit(
        f"/submissions/{pid}/withdraw", {}, page=f"/submissions/{pid}", follow_redirects=True
    )
    assert "can no longer be withdrawn" in resp.get_data(as_text=True)
    # Release returns it to the queue; then Sue can claim.
    other_client.submit(f"/o/{slug}/queue/{pid}/release", {}, page=f"/o/{slug}/queue")
    resp = third.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    assert resp.location.endswith(f"/review/{pid}")
    assert _sub(pid).claimed_by_id == scenario.assessor2.id


def test_expired_lease_returns_to_queue(
    client: Client, other_client: Client, app, scenario: Scenario
) -> None:
    from datetime import timedelta

    from portfolio.core.db import utcnow

    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    submit(client, pid)
    other_client.login("sam@example.org")
    slug = scenario.org.slug
    other_client.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    sub = _sub(pid)
    sub.claim_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    third = app.test_client()
    third.login("sue@example.org")
    resp = third.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    assert resp.location.endswith(f"/review/{pid}")


def test_withdraw_before_claim(client: Client, scenario: Scenario) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    submit(client, pid)
    resp = client.submit(
        f"/submissions/{pid}/withdraw", {}, page=f"/submissions/{pid}", follow_redirects=True
    )
    assert "has been withdrawn" in resp.get_data(as_text=True)
    assert _sub(pid).state == SubmissionState.WITHDRAWN


def test_admin_reads_history(client: Client, other_client: Client, scenario: Scenario) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    submit(client, pid)
    other_client.login("admin@example.org")
    page = other_client.get(f"/o/{scenario.org.slug}/submissions/{pid}/history")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # In plain words, with the person's name, not raw action codes.
    assert "Wren Worker</strong> started attempt 1" in text
    assert "Wren Worker</strong> submitted the evidence" in text
    assert "submission.start" not in text


def test_demo_has_work_waiting_in_the_queue(app, client: Client) -> None:
    from portfolio.demo import DEMO_ORG_SLUG, DEMO_PASSWORD, load_demo

    load_demo()
    load_demo()
    client.login("assessor@northwind.example", DEMO_PASSWORD)
    page = client.get(f"/o/{DEMO_ORG_SLUG}/queue").get_data(as_text=True)
    assert "Wren Worker" in page and "1 waiting or in review" in page
