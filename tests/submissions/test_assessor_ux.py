"""Issue 15, finding 22: assessors look at a submission before claiming it, and have a list of
their own past decisions."""

from __future__ import annotations

from tests.conftest import Client
from tests.submissions.conftest import Scenario, attach_all, score_form, start, submit


def test_look_before_claiming_and_past_decisions(
    client: Client, other_client: Client, scenario: Scenario
) -> None:
    s = scenario
    client.login("wren@example.org")
    pid = start(client, s)
    attach_all(client, s, pid)
    submit(client, pid)
    other_client.login("sam@example.org")
    slug = s.org.slug
    queue = other_client.get(f"/o/{slug}/queue").get_data(as_text=True)
    assert f'href="/o/{slug}/review/{pid}">Look first' in queue
    look = other_client.get(f"/o/{slug}/review/{pid}").get_data(as_text=True)
    assert "Joint photo" in look and "Inspection report" in look  # the evidence, unclaimed
    assert "Claim this submission to score it." in look
    assert f'href="/o/{slug}/reviews/mine"' in queue
    empty = other_client.get(f"/o/{slug}/reviews/mine").get_data(as_text=True)
    assert "You have not recorded a decision here yet." in empty

    other_client.submit(f"/o/{slug}/queue/{pid}/claim", {}, page=f"/o/{slug}/queue")
    other_client.submit(
        f"/o/{slug}/review/{pid}",
        {**score_form(s, ["Meets", "Exceeds", "Meets", "Not yet"]), "action": "confirm"},
        page=f"/o/{slug}/review/{pid}",
    )
    mine = other_client.get(f"/o/{slug}/reviews/mine").get_data(as_text=True)
    assert "Wren Worker" in mine and s.credential.name in mine and "Passed" in mine
    assert f'href="/o/{slug}/review/{pid}"' in mine
    # Another assessor's list does not show Sam's decision.
    other = client.__class__(client.application, client.response_wrapper)
    other.login("sue@example.org")
    assert "Wren Worker" not in other.get(f"/o/{slug}/reviews/mine").get_data(as_text=True)
