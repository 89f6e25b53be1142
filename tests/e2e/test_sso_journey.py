"""Single sign-on in Chromium against a real OpenID Provider (`oidc-provider` from npm, in its
own process, configured here): an admin sets the provider up on the settings page; a person
presses "Sign in with Staff SSO", signs in and consents at the provider and comes back signed
in, with an account made (or linked) and the organization's default role. A person whose
address the provider has not verified gets a clear page. axe-core checks our pages."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portfolio.accounts.models import Role, SsoIdentity, User
from portfolio.extensions import db
from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider
from tests.conftest import PASSWORD, browser_storage_overrides
from tests.e2e.axe import Auditor
from tests.e2e.conftest import DESKTOP, watch

pytestmark = pytest.mark.browser


@pytest.fixture
def config_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    # The provider listens on 127.0.0.1 over http: allowed by this development setting only.
    return {**browser_storage_overrides(request, "e2e"), "sso_allow_private_issuers": True}


@pytest.fixture
def provider(site: str) -> Any:
    server = OidcProvider([site + "/sso/callback"])
    server.start()
    yield server
    server.stop()


def _new_page(browser: Any, site: str, provider: OidcProvider, errors: list[str]) -> Any:
    context = browser.new_context(**DESKTOP)
    # Only the app and the provider: the provider's pages ask for a web font from the internet.
    allowed = (site, provider.issuer)
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(allowed) else route.abort(),
    )
    page = context.new_page()
    page.set_default_timeout(20000)
    watch(page, errors)
    return page


def _sign_in_at_provider(page: Any, login: str) -> None:
    """The provider's own login page (its development login form), then its consent page."""
    page.get_by_placeholder("Enter any login").fill(login)
    page.get_by_placeholder("and password").fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def test_sign_in_with_the_organizations_provider(
    site: str, browser: Any, make: Any, auditor: Auditor, provider: OidcProvider
) -> None:
    org = make.org("Staff", slug="staff")
    make.user((org, Role.ADMIN), email="admin@staff.example.org")
    errors: list[str] = []

    # The admin sets the provider up.
    admin = _new_page(browser, site, provider, errors)
    admin.goto(site + "/login")
    admin.get_by_label("Email").fill("admin@staff.example.org")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Sign in", exact=True).click()
    admin.wait_for_url("**/dashboard")
    admin.goto(site + "/o/staff/settings/sso")
    expect(admin.locator("#redirect-uri")).to_have_text(site + "/sso/callback")
    admin.get_by_label("Issuer URL").fill(provider.issuer)
    admin.get_by_label("Client id").fill(CLIENT_ID)
    admin.get_by_label("Client secret").fill(CLIENT_SECRET)
    admin.get_by_label("Button label").fill("Staff SSO")
    admin.get_by_label("Role for people who join by signing in").select_option(label="Assessor")
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_text("Single sign-on settings saved.")).to_be_visible()
    expect(admin.get_by_label("Client secret")).to_have_value("")  # never shown again
    auditor.check(admin, "sso-settings")
    admin.context.close()

    # A person presses the button on the sign-in page.
    page = _new_page(browser, site, provider, errors)
    page.goto(site + "/login")
    auditor.check(page, "login-with-sso")
    page.get_by_role("link", name="Sign in with Staff SSO").click()
    page.wait_for_url(provider.issuer + "/**")
    _sign_in_at_provider(page, "ada")
    page.wait_for_url(site + "/dashboard")
    expect(page.get_by_text("Your account was made with ada@staff.example.org")).to_be_visible()
    expect(page.get_by_text("joined Staff (assessor)")).to_be_visible()
    auditor.check(page, "signed-in-by-sso")
    # The assessor's queue of Staff opens: the role is real.
    page.goto(site + "/o/staff/queue")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.url == site + "/o/staff/queue"

    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == "ada@staff.example.org"))
    assert user is not None and user.roles_in(org.id) == {Role.ASSESSOR}
    identity = db.session.scalar(select(SsoIdentity).where(SsoIdentity.user_id == user.id))
    assert identity is not None and (identity.issuer, identity.subject) == (provider.issuer, "ada")
    page.context.close()

    # Someone whose address the provider has not verified: a clear page, nobody signed in.
    page = _new_page(browser, site, provider, errors)
    page.goto(site + "/login?org=staff")
    page.get_by_role("link", name="Sign in with Staff SSO").click()
    _sign_in_at_provider(page, "unverified")
    expect(page.get_by_role("heading", name="Single sign-on did not work")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("has not verified your email address")
    auditor.check(page, "sso-unverified-email")
    page.goto(site + "/dashboard")
    assert "/login" in page.url
    page.context.close()

    auditor.assert_clean()
    ours = [e for e in errors if e.startswith(site)]
    assert not ours, ours
