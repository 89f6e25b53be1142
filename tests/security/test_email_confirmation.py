"""Issue 14, class 11: self-registration confirms the address before it counts.

What is sent: a registration with a foreign Host header (the link still names PUBLIC_BASE_URL);
a submit before and after confirming; an expired and a forged link; a stranger registering
somebody else's address, then the real owner registering (and resetting) with it; an
unconfirmed account trying to accept an invitation; and the purge of expired registrations.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, current_app
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portfolio.accounts import registration, sign_in
from portfolio.accounts.models import Role, User
from portfolio.core.db import utcnow
from portfolio.extensions import db
from tests.conftest import Client
from tests.submissions.conftest import Scenario, scenario, start, submit  # noqa: F401

PW = "long enough password"
LINK_RE = re.compile(r"(https?://\S+/confirm-email/\S+)")


def outbox(to: str) -> list[dict[str, str]]:
    return [m for m in current_app.extensions.get("portfolio.outbox", []) if m["to"] == to]


def confirmation_link(to: str) -> str:
    mails = [m for m in outbox(to) if "Confirm your email" in m["subject"]]
    assert mails, f"no confirmation mail to {to}"
    match = LINK_RE.search(mails[-1]["body"])
    assert match
    return match.group(1)


def register(client: Client, slug: str, email: str, password: str = PW, **kw: Any) -> Any:
    return client.submit(
        f"/o/{slug}/register",
        {"display_name": "Wren", "email": email, "password": password},
        **kw,
    )


@pytest.fixture
def open_org(scenario: Scenario) -> Scenario:
    scenario.org.allows_self_registration = True
    db.session.commit()
    return scenario


def test_unconfirmed_worker_cannot_submit_until_the_link_is_opened(
    app: Flask, client: Client, open_org: Scenario
) -> None:
    s = open_org
    resp = register(client, s.org.slug, "new@example.org")
    assert resp.status_code == 302
    link = confirmation_link("new@example.org")
    assert link.startswith("http://localhost/confirm-email/")
    # Asked again from a request that names a foreign host: the link still names the
    # configured public address, never the Host the request claimed.
    with app.test_request_context("/account/confirm-email", base_url="http://evil.example"):
        user = sign_in.find_user_by_email("new@example.org")
        assert user is not None
        assert registration.send_confirmation(user).startswith("http://localhost/confirm-email/")
        db.session.rollback()  # only the link was the point: the queued mail is not sent
    assert "evil.example" not in confirmation_link("new@example.org")
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Confirm your email address" in dashboard
    sub = start(
        client,
        Scenario(
            s.org, s.admin, s.assessor, s.assessor2, s.worker, s.credential, s.version, s.items
        ),
    )
    refused = submit(client, sub)
    assert refused.status_code == 422
    assert "Confirm your email address before you submit" in refused.get_data(as_text=True)

    confirmed = client.get(link.removeprefix("http://localhost"))
    assert confirmed.status_code == 302
    assert "new@example.org is confirmed" in client.get("/dashboard").get_data(as_text=True)
    db.session.expire_all()
    user = sign_in.find_user_by_email("new@example.org")
    assert user is not None and user.is_email_confirmed
    # Now the submit goes on to the next rule (evidence for every element).
    after = submit(client, sub)
    assert "Add evidence for every required element" in after.get_data(as_text=True)


def test_expired_and_forged_links_are_refused(
    app: Flask, client: Client, open_org: Scenario
) -> None:
    register(client, open_org.org.slug, "late@example.org")
    user = sign_in.find_user_by_email("late@example.org")
    assert user is not None
    max_age = app.config["PORTFOLIO"].email_confirmation_max_age_seconds

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(utcnow().timestamp()) - max_age - 60

    old = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt="email-confirmation", signer=Past
    ).dumps({"u": user.public_id, "e": user.email})
    resp = client.get(f"/confirm-email/{old}")
    assert resp.status_code == 400 and "has expired" in resp.get_data(as_text=True)
    forged = registration.make_confirmation_token(user)[:-3] + "abc"
    assert client.get(f"/confirm-email/{forged}").status_code == 400
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_email_confirmed  # type: ignore[union-attr]


def test_a_stranger_cannot_take_the_real_owners_address(
    app: Flask, client: Client, other_client: Client, open_org: Scenario
) -> None:
    slug = open_org.org.slug
    # A stranger registers with Olive's address and keeps the session.
    assert register(other_client, slug, "olive@example.org", "stranger password").status_code == 302
    stranger_link = confirmation_link("olive@example.org")
    assert other_client.get("/dashboard").status_code == 200
    # Olive registers with her own address: the unconfirmed account gives way.
    assert register(client, slug, "olive@example.org", "olive's own password").status_code == 302
    owner_link = confirmation_link("olive@example.org")
    assert owner_link != stranger_link
    # The stranger's session, password and link are worth nothing now.
    assert other_client.get("/dashboard").status_code == 302
    assert other_client.get(stranger_link.removeprefix("http://localhost")).status_code == 400
    with pytest.raises(Exception, match="Wrong email or password"):
        sign_in.authenticate("olive@example.org", "stranger password")
    db.session.rollback()
    assert client.get(owner_link.removeprefix("http://localhost")).status_code == 302
    olive = sign_in.find_user_by_email("olive@example.org")
    assert olive is not None and olive.is_email_confirmed
    # Once confirmed, the address is hers: registering again is refused.
    again = register(other_client, slug, "olive@example.org", "stranger password")
    assert "already exists" in again.get_data(as_text=True)


def test_a_reset_link_confirms_the_address(app: Flask, client: Client, open_org: Scenario) -> None:
    register(client, open_org.org.slug, "reset@example.org")
    user = sign_in.find_user_by_email("reset@example.org")
    assert user is not None and not user.is_email_confirmed
    token = sign_in.make_reset_token(user)
    resp = client.submit(
        f"/reset-password/{token}", {"new_password": PW + "2", "confirm": PW + "2"}
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    db.session.expire_all()
    assert sign_in.find_user_by_email("reset@example.org").is_email_confirmed  # type: ignore[union-attr]


def test_unconfirmed_account_cannot_accept_an_invitation(
    app: Flask, client: Client, other_client: Client, open_org: Scenario
) -> None:
    s = open_org
    register(client, s.org.slug, "ivy@example.org")
    with app.test_request_context():
        _, link = registration.invite(s.admin, s.org, "ivy@example.org", Role.ASSESSOR)
    db.session.commit()
    path = link.removeprefix("http://localhost")
    resp = client.submit(path, {}, page=path)
    assert "Confirm your email address before you accept an invitation" in resp.get_data(
        as_text=True
    )
    ivy = sign_in.find_user_by_email("ivy@example.org")
    assert ivy is not None and not ivy.has_role(s.org.id, Role.ASSESSOR)
    # Whoever opens the invitation without signing in holds the mailbox: the unconfirmed
    # registration gives way to the invited, confirmed account.
    resp = other_client.submit(
        path, {"display_name": "Ivy", "password": PW, "confirm": PW}, page=path
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    db.session.expire_all()
    ivy = sign_in.find_user_by_email("ivy@example.org")
    assert ivy is not None and ivy.is_email_confirmed and ivy.has_role(s.org.id, Role.ASSESSOR)
    assert not ivy.has_role(s.org.id, Role.LEARNER)


def test_expired_registrations_are_purged(app: Flask, client: Client, open_org: Scenario) -> None:
    register(client, open_org.org.slug, "gone@example.org")
    max_age = app.config["PORTFOLIO"].email_confirmation_max_age_seconds
    assert registration.purge_unconfirmed_accounts() == 0
    later = utcnow() + timedelta(seconds=max_age + 60)
    assert registration.purge_unconfirmed_accounts(now=later) == 1
    db.session.commit()
    assert sign_in.find_user_by_email("gone@example.org") is None
    # Confirmed accounts stay, however old.
    assert sign_in.find_user_by_email(open_org.worker.email) is not None
    result = app.test_cli_runner().invoke(args=["purge-unconfirmed"])
    assert result.exit_code == 0 and "Removed 0 unconfirmed account(s)." in result.output
