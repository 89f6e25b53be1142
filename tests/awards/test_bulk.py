"""Bulk and prior-learning awards through the admin's upload page: the whole file is checked
first (a malformed line refuses it all, naming the line), the awards are issued by jobs (run at
once on commit in the tests' immediate mode), a second upload of the same file issues nothing
new, every badge states why it was awarded without assessment, in its page and in both of its
documents, its credential verifies, and a recipient without an account claims theirs."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portfolio.accounts.models import Invitation, User
from portfolio.awards import bulk_upload, verification
from portfolio.awards.models import Award, BulkAwardBatch
from portfolio.awards.ob import proof
from portfolio.core.audit import AuditEvent
from portfolio.core.db import utcnow
from portfolio.extensions import db
from tests.awards.ob.test_independent_verifier import (  # noqa: F401 - fixture reused
    node_verifier,
    run_verifier,
)
from tests.awards.ob.test_ob3 import assert_schema_valid
from tests.conftest import PASSWORD, Client
from tests.submissions.conftest import Scenario

REASON = "recognition of prior learning"
STATEMENT = f"Awarded without rubric assessment: {REASON}"
LINK_RE = re.compile(r"http://localhost/invitations/\S+")


def csv_bytes(
    rows: list[list[str]], header: str = "email,name,narrative,issued_on,source_id"
) -> bytes:
    out = io.StringIO()
    out.write(header + "\r\n")
    for row in rows:
        out.write(",".join(f'"{c}"' if "," in c else c for c in row) + "\r\n")
    return out.getvalue().encode("utf-8")


def people(n: int, domain: str = "past.example") -> list[list[str]]:
    return [
        [
            f"person{i}@{domain}",
            f"Person {i}",
            f"Completed the course in 2023 (record {i})",
            "2023-06-30",
            f"HR-{i}",
        ]
        for i in range(n)
    ]


def upload(admin: Client, s: Scenario, data: bytes, reason: str = REASON) -> Any:
    """Post the upload form as the admin; the response (a redirect to the progress page, or
    the form again with the problems)."""
    page = f"/o/{s.org.slug}/awards/bulk"
    return admin.submit(
        page,
        {
            "credential": s.credential.public_id,
            "reason": reason,
            "csv_file": (io.BytesIO(data), "awards.csv"),
        },
        page=page,
        content_type="multipart/form-data",
    )


def counts() -> tuple[int, int, int, int]:
    row = db.session.execute(
        select(
            select(func.count()).select_from(Award).scalar_subquery(),
            select(func.count()).select_from(BulkAwardBatch).scalar_subquery(),
            select(func.count()).select_from(Invitation).scalar_subquery(),
            select(func.count()).select_from(AuditEvent).scalar_subquery(),
        )
    ).one()
    db.session.rollback()
    return tuple(row)  # type: ignore[return-value]


@pytest.fixture
def admin(client: Client, scenario: Scenario) -> Client:
    client.login("admin@example.org")
    return client


def bulk_awards() -> list[Award]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(Award).where(Award.batch_id.is_not(None)).order_by(Award.id))
    )


def test_small_upload_issues_states_reason_and_verifies(
    app: Flask, admin: Client, scenario: Scenario, tmp_path: Path, node_verifier: Path
) -> None:
    s = scenario
    data = csv_bytes(
        [
            ["wren@example.org", "Wren Worker", "Ten years of site welding", "2022-03-01", "A-1"],
            ["new.person@past.example", "New Person", "", "", "A-2"],
        ]
    )
    resp = upload(admin, s, data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = admin.get(resp.location).get_data(as_text=True)
    assert "2 badges issued" in page and "1 invited to claim theirs" in page
    wren_award, new_award = bulk_awards()
    # The worker with a confirmed account holds theirs at once; the other waits to claim it.
    assert wren_award.recipient_id == s.worker.id
    assert new_award.recipient_id is None and new_award.recipient_email == "new.person@past.example"
    assert wren_award.issued_at.date().isoformat() == "2022-03-01"
    # The public page states the reason and shows no rubric results.
    public = Client(app, app.response_class).get(f"/badges/{wren_award.public_id}")
    html = public.get_data(as_text=True)
    assert STATEMENT in html and "Ten years of site welding" in html
    assert "Level achieved" not in html
    assert "Earned by <strong>Wren Worker</strong>" in html
    # Both documents say it too, and have no rubric results.
    assertion = json.loads(wren_award.ob2_assertion)
    assert any(STATEMENT in (e.get("narrative") or "") for e in assertion["evidence"])
    credential = json.loads(wren_award.ob3_credential)
    assert any(STATEMENT in (e.get("narrative") or "") for e in credential["evidence"])
    assert not credential["credentialSubject"].get("result")
    # The credential is valid against the schema and verifies with ours and the independent
    # verifier, with the issuer's keys as served.
    assert_schema_valid(credential)
    controller = Client(app, app.response_class).get(f"/issuers/{s.org.public_id}/keys").get_json()
    report = proof.verify_credential(credential, proof.key_resolver([controller]), now=utcnow())
    assert report.valid, report.reasons
    code, node = run_verifier(node_verifier, tmp_path, credential, controller)
    assert code == 0 and node["verified"] is True, node
    assert verification.verify_award(wren_award).status == "valid"


def test_thousand_lines_issue_thousand_awards_and_a_second_upload_issues_nothing(
    app: Flask, admin: Client, scenario: Scenario
) -> None:
    s = scenario
    data = csv_bytes(people(1000))
    resp = upload(admin, s, data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = admin.get(resp.location).get_data(as_text=True)
    assert "1000 badges issued" in page and "1000 invited to claim theirs" in page
    assert 'value="1000"' in page  # the progress bar is full
    awards = bulk_awards()
    assert len(awards) == 1000
    assert len({(a.recipient_email, a.source_id) for a in awards}) == 1000
    assert {a.issued_at.date().isoformat() for a in awards} == {"2023-06-30"}
    status = admin.get(resp.location + "/status").get_json()
    assert status["state"] == "done" and status["issued"] == 1000 and status["percent"] == 100
    before = counts()
    # The same file again: the page says so at once, and its batch issues nothing.
    again = upload(admin, s, data)
    assert again.status_code == 302
    second = admin.get(again.location).get_data(as_text=True)
    assert "already holds this badge" in second and "nothing new will be issued" in second
    assert "Nothing new was issued" in second
    assert len(bulk_awards()) == 1000
    after = counts()
    assert after[0] == before[0] and after[2] == before[2]  # no award, no invitation more


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("not-an-address,Bad Email,,,X-1", "email"),
        (
            "person3@past.example,Person 3 again,,2023-06-30,HR-3",
            "the same recipient and source id as line 5",
        ),
        ("late@past.example,Late,,2023-02-30,X-1", "is not a date"),
        ("late@past.example,Late,,{future},X-1", "is in the future"),
        ("link@past.example,Link,,,X-1", None),
        ('formula@past.example,=HYPERLINK("http://evil"),,,X-1', "runs as a formula"),
    ],
)
def test_one_malformed_line_refuses_the_whole_file_naming_it(
    app: Flask, admin: Client, scenario: Scenario, line: str, needle: str | None
) -> None:
    s = scenario
    future = (utcnow().date() + timedelta(days=2)).isoformat()
    header = "email,name,narrative,issued_on,source_id"
    rows = [",".join(r) for r in people(800)]
    if needle is None:  # a javascript: evidence address
        header = "email,name,narrative,issued_on,source_id,evidence_url"
        rows = [r + "," for r in rows]
        line, needle = "link@past.example,Link,,,X-1,javascript:alert(1)", "https://"
    rows.insert(700, line.replace("{future}", future))
    data = (header + "\n" + "\n".join(rows) + "\n").encode()
    before = counts()
    resp = upload(admin, s, data)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Nothing was awarded: 1 problem" in html
    # The header is line 1: the 701st record is on line 702.
    assert "<td>702</td>" in html and needle in html, html[html.find("problems-h") :][:1500]
    assert counts() == before


def test_file_level_problems_are_refused(app: Flask, admin: Client, scenario: Scenario) -> None:
    s = scenario
    before = counts()
    latin = "email,name\nzoe@past.example,Zoë\n".encode("latin-1")
    html = upload(admin, s, latin).get_data(as_text=True)
    assert "not UTF-8" in html and "<td>2</td>" in html
    too_many = ("email,name\n" + "".join(f"p{i}@x.example,P {i}\n" for i in range(5001))).encode()
    assert f"more than {bulk_upload.MAX_RECORDS} recipients" in upload(admin, s, too_many).get_data(
        as_text=True
    )
    huge = (
        b"email,name,narrative\n" + b"a@x.example,A," + b"x" * (bulk_upload.MAX_BYTES + 10) + b"\n"
    )
    assert "larger than 2 MiB" in upload(admin, s, huge).get_data(as_text=True)
    unknown = b"email,name,password\na@x.example,A,secret\n"
    assert "unknown column" in upload(admin, s, unknown).get_data(as_text=True)
    no_reason = upload(admin, s, csv_bytes(people(2)), reason="")
    assert no_reason.status_code == 200 and "Give the reason" in no_reason.get_data(as_text=True)
    assert counts() == before


def test_invited_recipient_claims_the_badge(app: Flask, admin: Client, scenario: Scenario) -> None:
    s = scenario
    outbox: list[dict[str, str]] = app.extensions.setdefault("portfolio.outbox", [])
    start = len(outbox)
    data = csv_bytes([["Nia.New@Past.Example", "Nia New", "Ran the store for 5 years", "", ""]])
    assert upload(admin, s, data).status_code == 302
    [award] = bulk_awards()
    assert award.recipient_id is None and award.recipient_email == "nia.new@past.example"
    [mail] = [m for m in outbox[start:] if m["to"] == "nia.new@past.example"]
    assert "awarded you the badge “Fillet Welding”" in mail["body"] and STATEMENT in mail["body"]
    link = LINK_RE.search(mail["body"])
    assert link
    # Until claimed, the public page names the uploaded name; the badge verifies already.
    anyone = Client(app, app.response_class)
    assert "Nia New" in anyone.get(f"/badges/{award.public_id}").get_data(as_text=True)
    path = link.group(0).removeprefix("http://localhost")
    newcomer = Client(app, app.response_class)
    resp = newcomer.submit(path, {"display_name": "Nia N.", "password": PASSWORD}, page=path)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == "nia.new@past.example"))
    assert user is not None
    claimed = db.session.get(Award, award.id)
    assert claimed is not None and claimed.recipient_id == user.id
    badges = newcomer.get("/badges").get_data(as_text=True)
    assert "Fillet Welding" in badges
    assert "Earned by <strong>Nia N.</strong>" in anyone.get(f"/badges/{award.public_id}").get_data(
        as_text=True
    )


def test_self_registered_recipient_claims_on_confirming(
    app: Flask, admin: Client, scenario: Scenario
) -> None:
    s = scenario
    s.org.allows_self_registration = True
    db.session.commit()
    assert (
        upload(admin, s, csv_bytes([["reg@past.example", "Reg", "", "", "R-1"]])).status_code == 302
    )
    outbox: list[dict[str, str]] = app.extensions.setdefault("portfolio.outbox", [])
    start = len(outbox)
    visitor = Client(app, app.response_class)
    page = f"/o/{s.org.slug}/register"
    resp = visitor.submit(
        page,
        {
            "email": "reg@past.example",
            "display_name": "Reg",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
        page=page,
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
    [award] = bulk_awards()
    assert award.recipient_id is None  # an unconfirmed account does not hold the address
    [mail] = [m for m in outbox[start:] if m["to"] == "reg@past.example"]
    confirm = re.search(r"http://localhost(/confirm\S+)", mail["body"])
    assert confirm, mail["body"]
    visitor.get(confirm.group(1))
    [award] = bulk_awards()
    assert award.recipient is not None and award.recipient.email == "reg@past.example"


def test_unclaimed_award_can_be_revoked(app: Flask, admin: Client, scenario: Scenario) -> None:
    s = scenario
    assert (
        upload(admin, s, csv_bytes([["gone@past.example", "Gone", "", "", "G-1"]])).status_code
        == 302
    )
    [award] = bulk_awards()
    page = f"/o/{s.org.slug}/awards"
    resp = admin.submit(
        f"{page}/{award.public_id}/revoke", {"reason": "Issued in error"}, page=page
    )
    assert resp.status_code == 302
    [award] = bulk_awards()
    assert award.is_revoked
    assert verification.verify_award(award).status == "revoked"
