"""Regressions for defects found in review: each test is the scenario that showed the defect."""

from __future__ import annotations

import io
import json
import struct
import zlib

from flask import Flask
from sqlalchemy import select

from portfolio.awards.models import Award
from portfolio.extensions import db
from portfolio.storage import get_storage
from portfolio.submissions.models import Submission, SubmissionState
from tests.awards.conftest import award_of, pass_submission
from tests.conftest import Client
from tests.submissions.conftest import Scenario, attach_all, score_form, start, submit


def _sub(pid: str) -> Submission:
    db.session.expire_all()
    sub = db.session.scalar(select(Submission).where(Submission.public_id == pid))
    assert sub is not None
    return sub


def test_assessor_cannot_open_a_draft(client: Client, other_client: Client, scenario) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    other_client.login("sam@example.org")
    resp = other_client.get(f"/o/{scenario.org.slug}/review/{pid}")
    assert resp.status_code == 404
    assert "I kept the" not in resp.get_data(as_text=True)  # the draft's reflection


def test_a_withdrawn_attempt_does_not_use_up_an_attempt(
    client: Client, other_client: Client, scenario: Scenario
) -> None:
    slug = scenario.org.slug
    client.login("wren@example.org")
    first = start(client, scenario)
    attach_all(client, scenario, first)
    submit(client, first)
    client.submit(f"/submissions/{first}/withdraw", {}, page=f"/submissions/{first}")
    second = start(client, scenario)
    assert second != first and _sub(second).attempt == 2
    attach_all(client, scenario, second)
    submit(client, second)
    other_client.login("sam@example.org")
    other_client.submit(f"/o/{slug}/queue/{second}/claim", {}, page=f"/o/{slug}/queue")
    other_client.submit(
        f"/o/{slug}/review/{second}",
        {**score_form(scenario, ["Not yet"] * 4), "action": "confirm"},
        page=f"/o/{slug}/review/{second}",
    )
    # max_attempts is 2, but only one attempt was assessed: the worker may revise.
    assert _sub(second).state == SubmissionState.NEEDS_REVISION


def test_a_file_replaced_after_its_check_is_not_frozen(client: Client, scenario) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    # The library object is replaced behind the app's back (e.g. a still-valid upload URL).
    get_storage().put(
        scenario.items["photo"].storage_key, io.BytesIO(b"<html>swapped</html>"), "text/html"
    )
    resp = submit(client, pid)
    page = (
        resp.get_data(as_text=True)
        if resp.status_code != 302
        else client.get(resp.location).get_data(as_text=True)
    )
    assert "changed after it was checked" in page
    assert _sub(pid).state == SubmissionState.DRAFT


def test_an_upload_link_works_once(app: Flask, client: Client, make) -> None:
    make.user(email="wren@example.org")
    client.login("wren@example.org")
    headers = {"X-CSRFToken": client.csrf_token("/portfolio/upload"), "Accept": "application/json"}
    from tests.evidence import samples

    png = samples.png((4, 4))  # a whole image: photos are decoded to remove their metadata
    ticket = client.post(
        "/portfolio/uploads", json={"filename": "a.png", "size": len(png)}, headers=headers
    ).get_json()
    path = ticket["url"].split("localhost", 1)[-1]
    assert client.put(path, data=png, headers=ticket.get("headers") or {}).status_code == 200
    again = client.put(path, data=b"<html>x</html>", headers=ticket.get("headers") or {})
    assert again.status_code == 409
    finalized = client.post(f"/portfolio/uploads/{ticket['id']}/finalize", headers=headers)
    assert finalized.status_code == 200  # the first bytes are still there, and still a PNG


def _png_with_chunk(keyword: bytes, text: bytes, compressed: bool) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    body = keyword + b"\x00" + (b"\x01\x00" if compressed else b"\x00\x00") + b"\x00\x00" + text
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"iTXt", body) + chunk(b"IEND", b"")


def test_verify_refuses_a_compressed_badge_bomb(client: Client) -> None:
    bomb = zlib.compress(b"{" + b" " * (50 * 1024 * 1024) + b"}", 9)
    image = _png_with_chunk(b"openbadgecredential", bomb, compressed=True)
    assert len(image) < 200_000
    resp = client.post(
        "/verify",
        data={"file": (io.BytesIO(image), "badge.png")},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert resp.status_code == 400
    assert "too large" in resp.get_data(as_text=True)


def test_an_altered_copy_of_our_credential_is_reported_altered(
    client: Client, other_client: Client, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    award = award_of(pass_submission(client, other_client, scenario))
    document = json.loads(award.ob3_credential)
    document["credentialSubject"]["achievement"]["name"] = "Master Welder"
    resp = client.post("/verify", json=document, headers={"Accept": "application/json"})
    body = resp.get_json()
    assert body["status"] == "invalid"
    assert "altered" in json.dumps(body)
    same = client.post(
        "/verify", json=json.loads(award.ob3_credential), headers={"Accept": "application/json"}
    ).get_json()
    assert same["status"] == "valid"


def test_deleting_the_account_withdraws_work_waiting_in_the_queue(
    client: Client, other_client: Client, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    submit(client, pid)
    resp = client.submit(
        "/account/delete",
        {"password": "correct horse battery", "confirm": "delete"},
        page="/account/data",
    )
    assert resp.status_code == 302
    other_client.login("sam@example.org")
    queue = other_client.get(f"/o/{scenario.org.slug}/queue").get_data(as_text=True)
    assert "Nothing is waiting" in queue
    assert db.session.scalar(select(Award.id)) is None


def test_a_competency_used_by_a_published_credential_cannot_be_deleted(client: Client) -> None:
    from portfolio.demo import DEMO_ORG_SLUG, DEMO_PASSWORD, load_demo
    from portfolio.frameworks.models import Competency, Framework

    load_demo()
    framework = db.session.scalar(select(Framework))
    used = db.session.scalar(select(Competency).where(Competency.code == "WLD-2.3.1"))
    client.login("admin@northwind.example", DEMO_PASSWORD)
    page = f"/o/{DEMO_ORG_SLUG}/frameworks/{framework.public_id}"
    resp = client.submit(
        f"{page}/competencies/{used.public_id}/delete", {}, page=page, follow_redirects=True
    )
    refusal = resp.get_data(as_text=True)
    assert "is used by the published rubric" in refusal and "Nothing was deleted" in refusal
    resp = client.submit(f"{page}/delete", {}, page=page, follow_redirects=True)
    refusal = resp.get_data(as_text=True)
    assert "is used by the published rubric" in refusal and "Nothing was deleted" in refusal
    db.session.expire_all()
    assert db.session.get(Competency, used.id) is not None


def test_withdrawing_removes_the_frozen_copies(client: Client, scenario: Scenario) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    submit(client, pid)
    keys = [link.frozen_key for link in _sub(pid).evidence_links if link.frozen_key]
    assert keys and all(get_storage().exists(k) for k in keys)
    client.submit(f"/submissions/{pid}/withdraw", {}, page=f"/submissions/{pid}")
    assert _sub(pid).state == SubmissionState.WITHDRAWN
    assert not any(get_storage().exists(k) for k in keys)
    # The library items themselves are untouched.
    assert get_storage().exists(scenario.items["photo"].storage_key)
