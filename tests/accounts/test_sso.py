"""Single sign-on with OpenID Connect against a real OpenID Provider (`oidc-provider` from npm,
in its own process): the settings page, sign-in that makes or links an account with the
organization's default role, and every refusal a person can meet (a forged `state`, a replayed
code, a `nonce` that is not this sign-in's, an unverified address, an address outside the
allowed domains, password sign-in switched off), each a clear page, never a 500."""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from portfolio.accounts import sso_settings
from portfolio.accounts.models import Organization, Role, SsoConfiguration, SsoIdentity, User
from portfolio.config import Config, ConfigError
from portfolio.core.audit import AuditEvent
from portfolio.extensions import db
from tests.accounts.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    OidcProvider,
    oidc_provider,  # noqa: F401 - a fixture
    path_and_query,
)
from tests.conftest import Client, free_port


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    # The provider runs on 127.0.0.1 over http, which only this setting lets through.
    return {"sso_allow_private_issuers": True}


def _text(resp: Any) -> str:
    return html.unescape(resp.get_data(as_text=True))


def _configure(client: Client, org: Organization, provider: OidcProvider, **fields: Any) -> Any:
    """Save the organization's provider through its settings page (as a signed-in admin)."""
    data = {
        "issuer": provider.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "button_label": "Staff SSO",
        "default_role": "assessor",
        "allowed_domains": "",
        "is_enabled": "y",
    }
    data.update({k: v for k, v in fields.items() if v is not None})
    for name in [k for k, v in fields.items() if v is None]:
        data.pop(name, None)
    return client.submit(f"/o/{org.slug}/settings/sso", data, follow_redirects=True)


@pytest.fixture
def sso_org(make: Any, client: Client, oidc_provider: OidcProvider) -> Organization:
    """Organization "Staff" with single sign-on through the test provider (default role:
    assessor), configured by its admin, who is then signed out."""
    org = make.org("Staff", slug="staff")
    make.user((org, Role.ADMIN), email="admin@staff.example.org")
    client.login("admin@staff.example.org")
    resp = _configure(client, org, oidc_provider)
    assert "Single sign-on settings saved." in _text(resp)
    client.submit("/logout", {}, page="/dashboard")
    return org


def _start(client: Client, org: Organization, **query: str) -> str:
    """Press "Sign in with Staff SSO": the provider's authorization URL the app redirects to."""
    page = _text(client.get("/login"))
    assert "Sign in with Staff SSO" in page
    suffix = ("?" + urlencode(query)) if query else ""
    resp = client.get(f"/login/sso/{org.slug}{suffix}")
    assert resp.status_code == 302, _text(resp)[:500]
    return str(resp.headers["Location"])


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    params[name] = value
    return urlunsplit(parts._replace(query=urlencode(params)))


def _is_signed_in(client: Client) -> bool:
    return bool(client.get("/dashboard").status_code == 200)


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_settings_keep_the_client_secret_encrypted_and_never_show_it(
    client: Client, make: Any, oidc_provider: OidcProvider
) -> None:
    org = make.org("Staff", slug="staff")
    make.user((org, Role.ADMIN), email="admin@staff.example.org")
    make.user((org, Role.ASSESSOR), email="assessor@staff.example.org")
    client.login("admin@staff.example.org")
    page = _text(client.get("/o/staff/settings/sso"))
    assert "http://localhost/sso/callback" in page  # the redirect URI to register

    # A mistyped issuer is refused with the reason; nothing is saved.
    wrong = _configure(client, org, oidc_provider, issuer=oidc_provider.issuer + "/nope")
    assert "answered 404 for its discovery document" in _text(wrong)
    assert db.session.scalar(select(func.count()).select_from(SsoConfiguration)) == 0

    saved = _text(_configure(client, org, oidc_provider))
    assert "Single sign-on settings saved." in saved
    assert CLIENT_SECRET not in saved and "A client secret is stored." in saved
    config = db.session.scalar(select(SsoConfiguration))
    assert config is not None and CLIENT_SECRET.encode() not in config.client_secret_encrypted
    assert sso_settings.client_secret(config) == CLIENT_SECRET
    # Saving again without a secret keeps the stored one.
    _configure(client, org, oidc_provider, client_secret="", button_label="Staff login")
    db.session.expire_all()
    config = db.session.scalar(select(SsoConfiguration))
    assert config is not None and config.button_label == "Staff login"
    assert sso_settings.client_secret(config) == CLIENT_SECRET
    events = _audit("sso.configure")
    assert len(events) == 2 and all(CLIENT_SECRET not in str(e.data) for e in events)

    # Admins only.
    client.submit("/logout", {}, page="/dashboard")
    client.login("assessor@staff.example.org")
    assert client.get("/o/staff/settings/sso").status_code == 403


@pytest.mark.parametrize("claims_in_id_token", [False, True], ids=["userinfo", "id-token"])
def test_sign_in_makes_a_confirmed_account_with_the_default_role(
    client: Client, make: Any, app: Flask, claims_in_id_token: bool
) -> None:
    # With the package's default the email comes from the UserInfo endpoint; some providers put
    # it in the ID token: both are read.
    provider = OidcProvider(
        ["http://localhost/sso/callback"], conform_id_token_claims=not claims_in_id_token
    )
    provider.start()
    try:
        org = make.org("Staff", slug="staff")
        make.user((org, Role.ADMIN), email="admin@staff.example.org")
        client.login("admin@staff.example.org")
        _configure(client, org, provider)
        client.submit("/logout", {}, page="/dashboard")

        back = provider.sign_in(_start(client, org, next="/account/tokens"), "ada")
        assert back.startswith("http://localhost/sso/callback?")
        resp = client.get(path_and_query(back))
        assert resp.status_code == 302 and resp.headers["Location"] == "/account/tokens"
        dashboard = _text(client.get("/dashboard"))
        assert "Your account was made with ada@staff.example.org" in dashboard
        assert "joined Staff (assessor)" in dashboard

        user = db.session.scalar(select(User).where(User.email == "ada@staff.example.org"))
        assert user is not None and user.display_name == "Ada Lovelace"
        assert user.is_email_confirmed and user.roles_in(org.id) == {Role.ASSESSOR}
        identity = db.session.scalar(select(SsoIdentity))
        assert identity is not None
        assert (identity.issuer, identity.subject, identity.user_id) == (
            provider.issuer,
            "ada",
            user.id,
        )
        assert [e.actor_id for e in _audit("sso.link")] == [user.id]

        # Next time: the same account, found by the provider's id, nothing new made.
        client.submit("/logout", {}, page="/dashboard")
        client.get(path_and_query(provider.sign_in(_start(client, org), "ada")))
        assert "Welcome, Ada Lovelace." in _text(client.get("/dashboard"))
        assert db.session.scalar(select(func.count()).select_from(SsoIdentity)) == 1
        assert db.session.scalar(select(func.count()).select_from(User)) == 2
        assert len(_audit("sso.login")) == 2
    finally:
        provider.stop()


def test_a_member_is_linked_by_verified_email(
    client: Client, make: Any, sso_org: Organization, oidc_provider: OidcProvider
) -> None:
    grace = make.user((sso_org, Role.LEARNER), email="grace@example.org", name="Grace")
    client.get(path_and_query(oidc_provider.sign_in(_start(client, sso_org), "grace")))
    assert "now linked to single sign-on of Staff" in _text(client.get("/dashboard"))
    identity = db.session.scalar(select(SsoIdentity))
    assert identity is not None and identity.user_id == grace.id
    db.session.expire_all()
    # A member already: no second role, no second account.
    assert db.session.get(User, grace.id).roles_in(sso_org.id) == {Role.LEARNER}  # type: ignore[union-attr]
    assert db.session.scalar(select(func.count()).select_from(User)) == 2


def test_an_account_outside_the_organization_is_linked_only_by_its_signed_in_owner(
    client: Client, make: Any, sso_org: Organization, oidc_provider: OidcProvider
) -> None:
    other = make.org("Elsewhere", slug="elsewhere")
    grace = make.user((other, Role.ADMIN), email="grace@example.org", name="Grace")
    # The organization's provider may not take over somebody else's account by its address.
    resp = client.get(path_and_query(oidc_provider.sign_in(_start(client, sso_org), "grace")))
    assert resp.status_code == 400
    assert "An account with the address grace@example.org already exists" in _text(resp)
    assert not _is_signed_in(client)
    assert db.session.scalar(select(func.count()).select_from(SsoIdentity)) == 0
    assert [e.data["reason"] for e in _audit("sso.refused")] == ["link-needs-password"]

    # The refusal offers the way: sign in with the password, then straight on to link.
    link = re.search(r'href="([^"]+)">Sign in with your password and link', _text(resp))
    assert link and link.group(1) == "/login?next=/login/sso/staff"
    signed = client.submit(
        link.group(1), {"email": "grace@example.org", "password": "correct horse battery"}
    )
    assert signed.status_code == 302 and signed.headers["Location"] == "/login/sso/staff"
    start = client.get(signed.headers["Location"])
    assert start.status_code == 302
    client.get(path_and_query(oidc_provider.sign_in(start.headers["Location"], "grace")))
    assert "now linked to single sign-on of Staff" in _text(client.get("/dashboard"))
    identity = db.session.scalar(select(SsoIdentity))
    assert identity is not None and identity.user_id == grace.id
    db.session.expire_all()
    assert db.session.get(User, grace.id).roles_in(sso_org.id) == {Role.ASSESSOR}  # type: ignore[union-attr]


def test_a_forged_state_is_refused(
    client: Client, sso_org: Organization, oidc_provider: OidcProvider
) -> None:
    back = oidc_provider.sign_in(_start(client, sso_org), "ada")
    resp = client.get(path_and_query(_with_param(back, "state", "forged-" + "x" * 30)))
    assert resp.status_code == 400
    assert "This sign-in was not started in this browser" in _text(resp)
    assert not _is_signed_in(client)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    # A browser that never started a sign-in cannot finish one either (login CSRF).
    stranger = client.application.test_client()
    resp = stranger.get(path_and_query(back))
    assert resp.status_code == 400 and "not started in this browser" in _text(resp)


def test_a_replayed_code_is_refused(
    client: Client, other_client: Client, sso_org: Organization, oidc_provider: OidcProvider
) -> None:
    authorization_url = _start(client, sso_org)
    # A copy of the browser's session cookie, taken before the sign-in ends (the session is
    # a signed cookie: the copy still holds this sign-in's state and verifier).
    cookie = client.get_cookie("session")
    assert cookie is not None
    other_client.set_cookie("session", cookie.value)
    back = oidc_provider.sign_in(authorization_url, "ada")
    assert client.get(path_and_query(back)).status_code == 302
    assert _is_signed_in(client)

    # The same browser again: its state was used up.
    again = client.get(path_and_query(back))
    assert again.status_code == 400 and "already completed" in _text(again)
    # The copy: state and verifier match, but the provider refuses a code used once.
    replay = other_client.get(path_and_query(back))
    assert replay.status_code == 400
    assert "refused this sign-in's code: it was already used" in _text(replay)
    assert not _is_signed_in(other_client)
    assert [e.data["reason"] for e in _audit("sso.refused")] == ["token-refused"]


def test_an_id_token_with_another_nonce_is_refused(
    client: Client, sso_org: Organization, oidc_provider: OidcProvider
) -> None:
    # The authorization request is changed on its way to the provider: the code it gives is
    # good, its ID token carries a nonce that is not this sign-in's.
    url = _with_param(_start(client, sso_org), "nonce", "n-" + "y" * 40)
    resp = client.get(path_and_query(oidc_provider.sign_in(url, "ada")))
    assert resp.status_code == 400
    assert "ID token did not pass the checks" in _text(resp) and "nonce" in _text(resp)
    assert not _is_signed_in(client)
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert [e.data["check"] for e in _audit("sso.refused")] == ["Invalid claim: 'nonce'"]


def test_an_unverified_email_is_refused(
    client: Client, sso_org: Organization, oidc_provider: OidcProvider
) -> None:
    resp = client.get(path_and_query(oidc_provider.sign_in(_start(client, sso_org), "unverified")))
    assert resp.status_code == 400
    text = _text(resp)
    assert "has not verified your email address mallory@staff.example.org" in text
    assert not _is_signed_in(client)
    assert db.session.scalar(select(User).where(User.email.like("mallory%"))) is None
    assert [e.data["reason"] for e in _audit("sso.refused")] == ["email-unverified"]


def test_addresses_outside_the_allowed_domains_are_refused(
    client: Client, make: Any, oidc_provider: OidcProvider
) -> None:
    org = make.org("Staff", slug="staff")
    make.user((org, Role.ADMIN), email="admin@staff.example.org")
    client.login("admin@staff.example.org")
    saved = _configure(client, org, oidc_provider, allowed_domains="@Staff.example.org, bad!")
    assert "'bad!' is not an email domain" in _text(saved)
    _configure(client, org, oidc_provider, allowed_domains="@Staff.example.org")
    client.submit("/logout", {}, page="/dashboard")

    resp = client.get(path_and_query(oidc_provider.sign_in(_start(client, org), "grace")))
    assert resp.status_code == 400
    assert "signs in addresses at staff.example.org only" in _text(resp)
    client.get(path_and_query(oidc_provider.sign_in(_start(client, org), "ada")))
    assert _is_signed_in(client)


def test_password_sign_in_switched_off_sends_members_to_single_sign_on(
    client: Client, make: Any, oidc_provider: OidcProvider
) -> None:
    org = make.org("Staff", slug="staff")
    make.user((org, Role.ADMIN), email="admin@staff.example.org")
    make.user((org, Role.LEARNER), email="wren@staff.example.org")
    outsider = make.org("Elsewhere", slug="elsewhere")
    make.user((outsider, Role.LEARNER), email="sam@example.org")
    client.login("admin@staff.example.org")
    _configure(client, org, oidc_provider, is_password_sign_in_disabled="y")
    client.submit("/logout", {}, page="/dashboard")

    page = _text(client.get("/login?org=staff"))
    assert "Sign in with Staff SSO" in page and "only its admins may use a password" in page
    resp = client.submit(
        "/login", {"email": "wren@staff.example.org", "password": "correct horse battery"}
    )
    assert resp.status_code == 200
    assert "Staff signs its members in with single sign-on" in _text(resp)
    assert "Sign in with Staff SSO" in _text(resp)
    assert not _is_signed_in(client)
    assert [e.data["reason"] for e in _audit("account.login_refused")] == [
        "password sign-in disabled"
    ]
    # A wrong password gets the usual answer: the switch is told only to the password's owner.
    wrong = client.submit("/login", {"email": "wren@staff.example.org", "password": "x" * 12})
    assert "Wrong email or password" in _text(wrong)

    # Break-glass: the organization's admins keep their password, and it is audited.
    client.login("admin@staff.example.org")
    logins = [e for e in _audit("account.login") if e.data.get("break_glass")]
    assert [e.data["break_glass"] for e in logins] == [["staff"]]
    client.submit("/logout", {}, page="/dashboard")
    # People of other organizations are not affected.
    client.login("sam@example.org")


def test_a_provider_that_is_down_gets_a_clear_page(
    client: Client, make: Any, sso_org: Organization, oidc_provider: OidcProvider
) -> None:
    # The provider moved away (or is down): nothing answers at the configured issuer.
    config = db.session.scalar(select(SsoConfiguration))
    assert config is not None
    config.issuer = f"http://127.0.0.1:{free_port()}"
    db.session.commit()
    resp = client.get(f"/login/sso/{sso_org.slug}")
    assert resp.status_code == 502
    assert "The provider could not be reached for its discovery document" in _text(resp)
    # An organization without single sign-on: said on its sign-in page, a clear 404 page.
    make.org("Plain", slug="plain")
    assert "Plain does not offer single sign-on" in _text(client.get("/login?org=plain"))
    resp = client.get("/login/sso/plain")
    assert resp.status_code == 404 and "Plain does not offer single sign-on" in _text(resp)


def test_providers_on_private_addresses_or_plain_http_are_refused_outside_development(
    client: Client, make: Any, app: Flask, oidc_provider: OidcProvider
) -> None:
    # The server fetches the addresses an admin types and the provider publishes: without the
    # development setting, nothing inside the network, and nothing without TLS.
    app.config["PORTFOLIO"] = dataclasses.replace(
        app.config["PORTFOLIO"], sso_allow_private_issuers=False
    )
    org = make.org("Staff", slug="staff")
    make.user((org, Role.ADMIN), email="admin@staff.example.org")
    client.login("admin@staff.example.org")
    plain = _text(_configure(client, org, oidc_provider))
    assert "must start with https://" in plain
    private = _text(_configure(client, org, oidc_provider, issuer="https://127.0.0.1:9"))
    assert "is not on the public internet" in private
    assert db.session.scalar(select(func.count()).select_from(SsoConfiguration)) == 0


def test_production_refuses_the_private_issuer_setting() -> None:
    cfg = Config.from_env(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "Zx8-k2Lq9vR4tYpW7nB3mC6dF1gH5jK0sA",
            "SIGNING_KEY_SECRET": "Qw2-e4R6t8Y0u1I3o5P7a9S2d4F6g8H0jK",
            "SSO_ALLOW_PRIVATE_ISSUERS": "1",
            "PUBLIC_BASE_URL": "https://portfolio.example.org",
        }
    )
    with pytest.raises(ConfigError, match="SSO_ALLOW_PRIVATE_ISSUERS"):
        cfg.resolved()


def test_a_deleted_account_is_unlinked_and_a_new_sign_in_starts_afresh(
    client: Client, make: Any, sso_org: Organization, oidc_provider: OidcProvider
) -> None:
    from portfolio.accounts import account_settings

    grace = make.user((sso_org, Role.LEARNER), email="grace@example.org", name="Grace")
    client.get(path_and_query(oidc_provider.sign_in(_start(client, sso_org), "grace")))
    assert db.session.scalar(select(SsoIdentity.user_id)) == grace.id
    account_settings.delete_account(grace, "correct horse battery")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(SsoIdentity)) == 0

    fresh = Client(client.application, client.response_wrapper)
    fresh.get(path_and_query(oidc_provider.sign_in(_start(fresh, sso_org), "grace")))
    assert "Your account was made with grace@example.org" in _text(fresh.get("/dashboard"))
    user = db.session.scalar(select(User).where(User.email == "grace@example.org"))
    assert user is not None and user.id != grace.id
