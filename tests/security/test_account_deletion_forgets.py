"""Issue 14, class 12: deleting an account leaves no personal data behind. A worker with a
distinctive email and name joins by invitation, builds a library with titled files (and
deletes one), names a witness who writes about them, submits, is awarded a badge, makes an API
token and leaves a trail of audit events; then deletes the account through the page. Every
text and JSON column of every table is then searched for the email, the name, the titles and
file names and the witness's details: nothing may remain.

What stays, and why it is not personal data: the user row (tombstone address and "Former
member" name), the award (a hashed email in its signed documents), decided submissions with
their scores (the organization's assessment record), the statement digest of the testimony.
"""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Flask
from sqlalchemy import JSON, LargeBinary, String, Text, select

from portfolio.accounts import registration, tokens
from portfolio.accounts.models import Role
from portfolio.awards import issuance, verification
from portfolio.core.audit import AuditEvent
from portfolio.evidence import services as evidence
from portfolio.evidence import uploads as evidence_uploads
from portfolio.extensions import db
from portfolio.submissions import witness
from portfolio.submissions.models import Submission
from tests.awards.conftest import PASSING, award_of, scenario  # noqa: F401 - the fixture
from tests.conftest import PASSWORD, Client
from tests.submissions.conftest import (
    Scenario,
    attach_all,
    build_credential,
    pdf_bytes,
    png_bytes,
    score_form,
    start,
    submit,
)
from tests.submissions.workflow import FAIL, configure

EMAIL = "quentin.zebrafish-7731@mailbox.example"
NAME = "Quentin Zebrafish-Okonkwo"
SURNAME = "Zebrafish-Okonkwo"
TITLES = ["Marmalade Bevel Photo", "Periwinkle Inspection Memo", "Tangerine Site Diary"]
REFLECTION_TITLE = "Lavender Arc Reflection"
FILENAMES = ["quokka-bevel-0457.png", "wombat-inspection-0457.pdf"]
DELETED_TITLE = "Obsidian Draft Sketch"
DELETED_FILENAME = "obsidian-sketch-0457.png"
WITNESS_NAME = "Wilhelmina Fernsby"
WITNESS_EMAIL = "wilhelmina.fernsby@witness.example"
TOKEN_NAME = "Quentin laptop sync"
APPEAL_REASON = "The Saffron Gusset Close-up shows the root was fused."

NEEDLES = [
    EMAIL,
    NAME,
    SURNAME,
    *TITLES,
    REFLECTION_TITLE,
    *FILENAMES,
    DELETED_TITLE,
    DELETED_FILENAME,
    WITNESS_NAME,
    WITNESS_EMAIL,
    TOKEN_NAME,
    "Saffron Gusset Close-up",
]

#: (table, column) -> why the value may stay. Nothing personal has to.
ALLOWED: dict[tuple[str, str], str] = {}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def scan() -> dict[str, set[str]]:
    """Every needle -> the `table.column`s holding it, over every text and JSON column of
    every table the application defines."""
    db.session.expire_all()
    found: dict[str, set[str]] = {}
    for table in db.metadata.sorted_tables:
        columns = [
            c
            for c in table.columns
            if isinstance(c.type, (String, Text, JSON)) and not isinstance(c.type, LargeBinary)
        ]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                text = _text(value).lower()
                for needle in NEEDLES:
                    if needle.lower() in text:
                        found.setdefault(needle, set()).add(f"{table.name}.{column.name}")
    return found


def _join_by_invitation(s: Scenario) -> Any:
    _invitation, link = registration.invite(s.admin, s.org, EMAIL, Role.LEARNER)
    token = link.rsplit("/", 1)[1]
    user = registration.accept_invitation(token, user=None, display_name=NAME, password=PASSWORD)
    db.session.commit()
    return user


def _library(s: Scenario, user: Any) -> None:
    s.items["photo"] = evidence_uploads.upload_stream(
        user,
        io.BytesIO(png_bytes("teal")),
        filename=FILENAMES[0],
        declared_size=None,
        title=TITLES[0],
    )
    s.items["pdf"] = evidence_uploads.upload_stream(
        user, io.BytesIO(pdf_bytes()), filename=FILENAMES[1], declared_size=None, title=TITLES[1]
    )
    s.items["link"] = evidence.create_link(
        user, title=TITLES[2], url="https://diary.example/quokka-0457"
    )
    s.items["text"] = evidence.create_reflection(
        user, title=REFLECTION_TITLE, body=f"I, {NAME}, kept the **arc** short."
    )
    draft = evidence_uploads.upload_stream(
        user,
        io.BytesIO(png_bytes("purple")),
        filename=DELETED_FILENAME,
        declared_size=None,
        title=DELETED_TITLE,
    )
    evidence.delete_item(user, draft)
    db.session.commit()


def _failed_and_appealed(app: Flask, client: Client, assessor: Client, s: Scenario) -> None:
    """The one attempt a second credential allows, not passed (final), and the worker's appeal
    with a reason."""
    other = Scenario(
        s.org,
        s.admin,
        s.assessor,
        s.assessor2,
        s.worker,
        build_credential(s.org, s.version, name="Pipe Welding", max_attempts=1),
        s.version,
        s.items,
    )
    db.session.commit()
    configure(app, other, appeal_days=30)
    pid = start(client, other)
    attach_all(client, other, pid)
    assert submit(client, pid).status_code == 302
    slug = s.org.slug
    assessor.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    resp = assessor.submit(
        f"/o/{slug}/review/{pid}",
        {**score_form(other, FAIL), "action": "confirm"},
        page=f"/o/{slug}/review/{pid}",
    )
    assert resp.status_code == 302
    resp = client.submit(
        f"/submissions/{pid}/appeal", {"reason": APPEAL_REASON}, page=f"/submissions/{pid}"
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]


def test_deleting_an_account_leaves_no_personal_data_in_any_table(
    app: Flask, client: Client, other_client: Client, scenario: Scenario
) -> None:
    base = scenario
    user = _join_by_invitation(base)
    s = Scenario(
        base.org, base.admin, base.assessor, base.assessor2, user, base.credential, base.version
    )
    _library(s, user)

    client.login(EMAIL)
    other_client.login("sam@example.org")
    pid = start(client, s)
    attach_all(client, s, pid)
    sub = db.session.scalar(select(Submission).where(Submission.public_id == pid))
    assert sub is not None
    testimony = witness.request_testimony(
        user,
        sub,
        s.elements[0].public_id,
        name=WITNESS_NAME,
        role="Site supervisor",
        email=WITNESS_EMAIL,
    )
    witness.respond(
        testimony, confirms=True, statement=f"I watched {NAME} weld the joint to the standard."
    )
    db.session.commit()
    assert submit(client, pid).status_code == 302
    slug = s.org.slug
    other_client.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    resp = other_client.submit(
        f"/o/{slug}/review/{pid}",
        {**score_form(s, PASSING), "action": "confirm"},
        page=f"/o/{slug}/review/{pid}",
    )
    assert resp.status_code == 302
    award = award_of(pid)
    _failed_and_appealed(app, client, other_client, s)
    tokens.create_token(user, TOKEN_NAME, ["read"], 30)
    db.session.commit()
    # A download of the whole record is audited too.
    assert client.get("/badges/learner-record").status_code == 200

    before = scan()
    # (The deleted file's name was never stored: its item is gone and no event names it.)
    missing = [n for n in NEEDLES if n not in before and n != DELETED_FILENAME]
    assert not missing, f"the scenario did not store {missing}: the scan would prove nothing"
    assert any("audit_events.data" in where for where in before.values())
    assert "invitations.email" in before[EMAIL]
    assert "appeals.reason" in before["Saffron Gusset Close-up"]

    resp = client.submit(
        "/account/delete", {"password": PASSWORD, "confirm": "delete"}, page="/account/data"
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]

    after = scan()
    left = {
        needle: sorted(w for w in where if tuple(w.split(".", 1)) not in ALLOWED)
        for needle, where in after.items()
    }
    assert not {n: w for n, w in left.items() if w}, left

    # The badge still verifies; the history of who did what stays, under tombstones.
    award = issuance.get_award(award.public_id)
    assert verification.verify_award(award).valid
    invite = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "membership.invite"))
    assert invite is not None and invite.data["email"] == "[removed: account deleted]"
    removed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "evidence.delete"))
    assert removed is not None and removed.data["title"] == "[removed: account deleted]"
    assert tokens.personal_tokens(user) == []
    page = other_client.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert NAME not in page and "Former member" in page
