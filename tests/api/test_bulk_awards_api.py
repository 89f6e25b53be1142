"""Bulk awards through the API: the same checks and service as the upload page, a batch id
to poll, nothing new on a second call with the same records, problems named by record."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import func, select

from portfolio.awards.models import Award, BulkAwardBatch
from portfolio.extensions import db
from tests.api.conftest import call, make_token
from tests.security.conftest import World, row_counts

REASON = "imported from the previous records system"


def _records(n: int) -> list[dict[str, str]]:
    return [
        {
            "email": f"api{i}@past.example",
            "name": f"Api Person {i}",
            "narrative": "Finished the course on the old system.",
            "evidence_url": f"https://records.example.org/{i}",
            "issued_on": "2024-01-15",
            "source_id": f"OLD-{i}",
        }
        for i in range(n)
    ]


def _bulk_count() -> int:
    n = db.session.scalar(
        select(func.count()).select_from(Award).where(Award.batch_id.is_not(None))
    )
    db.session.rollback()
    return int(n or 0)


def test_bulk_award_through_the_api_issues_once(world: World, app: Flask) -> None:
    w = world
    raw = make_token(w.s.admin)
    client = app.test_client()
    path = f"/api/v1/organizations/{w.ids['slug']}/credentials/{w.ids['cred']}/bulk-awards"
    resp = call(client, "POST", path, raw, json={"reason": REASON, "records": _records(25)})
    assert resp.status_code == 202, resp.get_data(as_text=True)
    batch = resp.get_json()
    status = call(
        client, "GET", f"/api/v1/organizations/{w.ids['slug']}/bulk-awards/{batch['id']}", raw
    ).get_json()
    assert status["state"] == "done" and status["issued"] == 25 and status["invited"] == 25
    assert _bulk_count() == 25
    # The awards answer through the API with their reason and no recipient until claimed.
    listed = call(client, "GET", f"/api/v1/organizations/{w.ids['slug']}/awards?limit=200", raw)
    bulk_rows = [a for a in listed.get_json()["items"] if a["awarded_without_assessment"]]
    assert len(bulk_rows) == 25
    assert {a["awarded_without_assessment"] for a in bulk_rows} == {REASON}
    assert all(a["recipient"] is None for a in bulk_rows)
    award = db.session.scalar(select(Award).where(Award.source_id == "OLD-3"))
    assert award is not None
    credential = json.loads(award.ob3_credential)
    narratives = [e.get("narrative", "") for e in credential["evidence"]]
    assert f"Awarded without rubric assessment: {REASON}" in narratives[0]
    assert credential["evidence"][1]["id"] == "https://records.example.org/3"
    # The same records again: nothing new, and the batch says so.
    again = call(client, "POST", path, raw, json={"reason": REASON, "records": _records(25)})
    assert again.status_code == 202
    second = again.get_json()
    assert second["issued"] == 0 and second["already_held"] == 25
    assert "Nothing new was issued" in second["summary"]
    assert _bulk_count() == 25


def test_one_bad_record_refuses_all_of_them(world: World, app: Flask) -> None:
    w = world
    raw = make_token(w.s.admin)
    client = app.test_client()
    path = f"/api/v1/organizations/{w.ids['slug']}/credentials/{w.ids['cred']}/bulk-awards"
    records = _records(40)
    records[16]["evidence_url"] = "javascript:alert(1)"
    records[30]["issued_on"] = "2999-01-01"
    before = row_counts()
    resp = call(client, "POST", path, raw, json={"reason": REASON, "records": records})
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    problems = resp.get_json()["errors"]["records"]
    assert [(p["record"], p["field"]) for p in problems] == [
        (17, "evidence_url"),
        (31, "issued_on"),
    ]
    assert "record 17" in resp.get_json()["detail"]
    assert row_counts() == before
    # A draft or unknown credential is refused the same way, nothing written.
    other = call(
        client,
        "POST",
        path.replace(w.ids["cred"], "AAAAAAAAAAAAAAAAAAAAAA"),
        raw,
        json={"reason": REASON, "records": _records(1)},
    )
    assert other.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(BulkAwardBatch)) == 0
    # Without the awards:write scope the token is refused.
    read_only = make_token(w.s.admin, scopes=["read"])
    resp = call(client, "POST", path, read_only, json={"reason": REASON, "records": _records(1)})
    assert resp.status_code == 403 and "awards:write" in resp.get_json()["detail"]
