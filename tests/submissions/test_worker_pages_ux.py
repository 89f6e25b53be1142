"""Issue 15 on the worker's submission pages: plain words for states, types and recorded
actions (finding 7); a refused submit comes back at its own form with the error beside the tick
(25); coverage of the elements is always in view (4)."""

from __future__ import annotations

import io

from flask import Flask

from portfolio.evidence import uploads as evidence_uploads
from portfolio.extensions import db
from tests.awards.conftest import award_of
from tests.conftest import Client
from tests.evidence import samples
from tests.submissions.conftest import Scenario, attach_all, score_form, start, submit


def test_plain_words_for_states_types_and_history(
    app: Flask, client: Client, other_client: Client, scenario: Scenario
) -> None:
    s = scenario
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    # A Word document goes to the first element: employers must read "Word document".
    doc = evidence_uploads.upload_stream(
        s.worker,
        io.BytesIO(samples.docx()),
        filename="method.docx",
        declared_size=None,
        title="Method statement",
    )
    db.session.commit()
    pid = start(client, s)
    attach_all(client, s, pid)
    client.submit(
        f"/submissions/{pid}/evidence",
        {"element": s.elements[0].public_id, "item": doc.public_id},
        page=f"/submissions/{pid}",
    )
    submit(client, pid)
    slug = s.org.slug
    other_client.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    other_client.submit(
        f"/o/{slug}/review/{pid}",
        {**score_form(s, ["Not yet"] * 4), "action": "confirm"},
        page=f"/o/{slug}/review/{pid}",
    )
    mine = client.get("/submissions").get_data(as_text=True)
    assert "Needs revision" in mine and "needs_revision" not in mine.replace(
        "state-needs_revision", ""
    )
    pid2 = start(client, s)
    submit(client, pid2)
    other_client.submit(f"/o/{slug}/queue/{pid2}/claim", {}, page=f"/o/{slug}/queue")
    other_client.submit(
        f"/o/{slug}/review/{pid2}",
        {**score_form(s, ["Meets", "Meets", "Meets", "Meets"]), "action": "confirm"},
        page=f"/o/{slug}/review/{pid2}",
    )
    award = award_of(pid2)
    entry = next(e for e in award.evidence if e.name == "Method statement")
    anon = app.test_client()
    page = anon.get(f"/badges/{award.public_id}/evidence/{entry.public_id}").get_data(as_text=True)
    assert "Word document" in page and "application/vnd.openxml" not in page

    admin = app.test_client()
    admin.login("admin@example.org")  # type: ignore[attr-defined]
    awards = admin.get(f"/o/{slug}/awards").get_data(as_text=True)
    history_url = f"/o/{slug}/submissions/{pid2}/history"
    assert history_url in awards  # linked, not only reachable by typing
    history = admin.get(history_url).get_data(as_text=True)
    assert "recorded the decision: passed" in history
    assert "review.record" not in history


def test_refused_submit_returns_to_its_form(client: Client, scenario: Scenario) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    attach_all(client, scenario, pid)
    page = client.get(f"/submissions/{pid}").get_data(as_text=True)
    assert f'action="/submissions/{pid}/submit#submit"' in page
    resp = client.submit(
        f"/submissions/{pid}/submit#submit", {"note": "Bay 3 job"}, page=f"/submissions/{pid}"
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    form = html.split('id="submit"', 1)[1]
    assert 'class="error" id="confirm-error">Tick the box to confirm' in form
    assert "Bay 3 job" in form  # what was typed is kept


def test_coverage_is_counted(client: Client, scenario: Scenario) -> None:
    client.login("wren@example.org")
    pid = start(client, scenario)
    page = client.get(f"/submissions/{pid}").get_data(as_text=True)
    assert "0 of 4 elements covered" in page
    client.submit(
        f"/submissions/{pid}/evidence",
        {"element": scenario.elements[0].public_id, "item": scenario.items["photo"].public_id},
        page=f"/submissions/{pid}",
    )
    page = client.get(f"/submissions/{pid}").get_data(as_text=True)
    assert "1 of 4 elements covered" in page
    assert "/static/js/submission.js" in page  # attaching in place, keeping the place
    attach_all(client, scenario, pid)
    page = client.get(f"/submissions/{pid}").get_data(as_text=True)
    assert "4 of 4 elements covered" in page and "ready to submit" in page
