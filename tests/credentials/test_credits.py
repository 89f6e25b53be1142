"""Credits: an admin gives a credential a credit value with the unit the organization counts in;
the catalogue shows it, a badge earned carries it (OB 3.0 `creditsAvailable` on the achievement,
`creditsEarned` on the subject) and keeps it when the credential's credit changes later."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from portfolio.extensions import db
from tests.awards.conftest import award_of, pass_submission, scenario  # noqa: F401 - fixture
from tests.conftest import Client
from tests.submissions.conftest import Scenario


def _edit(admin: Client, s: Scenario, credit: str, unit: str) -> Any:
    return admin.submit(
        f"/o/{s.org.slug}/credentials/{s.credential.public_id}/edit",
        {
            "name": s.credential.name,
            "description": s.credential.description,
            "criteria_md": s.credential.criteria_md,
            "rubric_version": str(s.version.id),
            "tags": "",
            "expiry_months": "",
            "max_attempts": "2",
            "credits_available": credit,
            "credits_unit": unit,
        },
    )


def test_credit_is_set_in_the_form_carried_by_badges_and_versioned(
    app: Flask, client: Client, other_client: Client, scenario: Scenario
) -> None:
    s = scenario
    admin: Client = app.test_client()  # type: ignore[assignment]
    admin.login("admin@example.org")
    form = admin.get(f"/o/{s.org.slug}/credentials/{s.credential.public_id}/edit")
    assert 'name="credits_available"' in form.get_data(as_text=True)
    resp = _edit(admin, s, "-1", "credit hours")
    assert resp.status_code == 200 and "Number must be between 0 and 9999" in resp.get_data(
        as_text=True
    )
    assert _edit(admin, s, "1.5", "credit hours").status_code == 302
    db.session.expire_all()
    assert s.credential.credits_available == 1.5 and s.credential.credits_unit == "credit hours"
    anon: Client = app.test_client()  # type: ignore[assignment]
    catalogue = anon.get(f"/o/{s.org.slug}/catalogue/{s.credential.public_id}")
    assert "Worth 1.5 credit hours." in catalogue.get_data(as_text=True)

    client.login("wren@example.org")
    other_client.login("sam@example.org")
    award = award_of(pass_submission(client, other_client, s))
    assert award.credits_earned == 1.5
    credential = json.loads(award.ob3_credential)
    assert credential["credentialSubject"]["achievement"]["creditsAvailable"] == 1.5
    assert credential["credentialSubject"]["creditsEarned"] == 1.5
    assert "Credit earned: 1.5 credit hours." in client.get("/badges").get_data(as_text=True)

    # The credential is worth more from now on; the badge issued before keeps what it earned.
    assert _edit(admin, s, "3", "CPD points").status_code == 302
    page = anon.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert "Credit earned: <strong>1.5 credit hours</strong>" in page
    assert "CPD points" not in page
    catalogue = anon.get(f"/o/{s.org.slug}/catalogue/{s.credential.public_id}")
    assert "Worth 3 CPD points." in catalogue.get_data(as_text=True)


def test_no_credit_means_no_credit_terms(
    app: Flask, client: Client, other_client: Client, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    award = award_of(pass_submission(client, other_client, scenario))
    credential = json.loads(award.ob3_credential)
    assert "creditsAvailable" not in credential["credentialSubject"]["achievement"]
    assert "creditsEarned" not in credential["credentialSubject"]
    assert "Credit earned" not in client.get("/badges").get_data(as_text=True)
