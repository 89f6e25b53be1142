"""Pathways total the credit of their components (admin and worker pages), and the learner
record (CLR) relates the pathway's achievement to its components with their credit."""

from __future__ import annotations

import json

from portfolio.awards import documents, signing_keys
from portfolio.awards.ob import proof
from portfolio.extensions import db
from tests.conftest import Client
from tests.pathways.conftest import Stack


def _credit(stack: Stack) -> None:
    for cred, value in zip(stack.creds, (3, 1.5, 4.5), strict=True):
        cred.credits_available, cred.credits_unit = value, "credit hours"
    db.session.commit()


def test_pathway_pages_total_the_component_credit(
    stack: Stack, client: Client, other_client: Client
) -> None:
    _credit(stack)
    stack.pathway(rule="n_of", required_count=2)
    stack.grant(stack.creds[0])
    client.login("admin@example.org")
    html = client.get("/o/acme/pathways").get_data(as_text=True)
    assert "Components total: <strong>9 credit hours</strong>." in html
    assert 'Butt Welding <span class="muted">(1.5 credit hours)</span>' in html
    other_client.login("wren@example.org")
    html = other_client.get("/pathways").get_data(as_text=True)
    assert "Components total: <strong>9 credit hours</strong>; you have earned 3 credit hours." in (
        html
    )


def test_learner_record_relates_the_pathway_to_its_components(stack: Stack, client: Client) -> None:
    _credit(stack)
    pathway = stack.pathway(stack.creds[:2])
    stack.grant(stack.creds[0], day=0)
    stack.grant(stack.creds[1], day=1)
    stack.grant(stack.creds[2], day=2)  # not part of the pathway
    client.login("wren@example.org")
    resp = client.get("/badges/learner-record")
    assert resp.status_code == 200
    clr = json.loads(resp.get_data(as_text=True))
    subject = clr["credentialSubject"]
    assert len(subject["verifiableCredential"]) == 4  # three badges and the stack
    by_id = {a["id"]: a for a in subject["achievement"]}
    parent = documents.badge_class_url(pathway.credential)
    fillet, butt, pipe = (documents.badge_class_url(c) for c in stack.creds)
    assert set(by_id) == {parent, fillet, butt, pipe}
    assert by_id[fillet]["creditsAvailable"] == 3 and by_id[butt]["creditsAvailable"] == 1.5
    earned = {
        c["credentialSubject"]["achievement"]["id"]: c["credentialSubject"].get("creditsEarned")
        for c in subject["verifiableCredential"]
    }
    assert earned == {fillet: 3, butt: 1.5, pipe: 4.5, parent: None}
    assert sorted(
        (a["associationType"], a["sourceId"], a["targetId"]) for a in subject["association"]
    ) == sorted(
        [
            ("isParentOf", parent, fillet),
            ("isParentOf", parent, butt),
            ("isChildOf", fillet, parent),
            ("isChildOf", butt, parent),
        ]
    )
    assert all(a["type"] == "Association" for a in subject["association"])
    assert proof.verify_credential(clr, signing_keys.key_resolver_for(stack.org)).valid
