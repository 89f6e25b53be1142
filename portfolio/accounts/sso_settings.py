"""An organization's single sign-on settings: its provider, the sealed client secret, the
allowed address domains and the default role, as the organization's admin saves them.
"""

from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import select

from portfolio.accounts import organizations
from portfolio.accounts.models import (
    Organization,
    Role,
    SsoConfiguration,
    User,
)
from portfolio.accounts.sso_provider import discover
from portfolio.core import audit, sealed
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.sanitize import clean_text
from portfolio.core.urls import clean_http_url
from portfolio.extensions import db

#: The purpose the client secret is sealed for (bound into its key).
_SECRET_PURPOSE = "sso-client-secret"  # noqa: S105 - a label, not a secret
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


# -- configuration -------------------------------------------------------------------------------
def _secret_key() -> str:
    return str(current_app.config["PORTFOLIO"].signing_key_secret)


def client_secret(config: SsoConfiguration) -> str:
    """The stored client secret, decrypted (for the token request only; never shown)."""
    return sealed.unseal(config.client_secret_encrypted, _secret_key(), _SECRET_PURPOSE)


def get_configuration(org: Organization) -> SsoConfiguration | None:
    """The organization's single sign-on settings, if any were saved."""
    return db.session.scalar(
        select(SsoConfiguration).where(SsoConfiguration.organization_id == org.id)
    )


def enabled_configuration(org: Organization) -> SsoConfiguration:
    """The organization's provider, if single sign-on is switched on; `NotFound` otherwise."""
    config = get_configuration(org)
    if config is None or not config.is_enabled:
        raise NotFound(f"{org.name} does not offer single sign-on. Sign in with your password.")
    return config


def sign_in_options() -> list[SsoConfiguration]:
    """Every organization's enabled provider, by organization name, for the sign-in page."""
    return list(
        db.session.scalars(
            select(SsoConfiguration)
            .join(Organization)
            .where(SsoConfiguration.is_enabled.is_(True))
            .order_by(Organization.name)
        )
    )


def parse_domains(text: str) -> list[str]:
    """`example.org, @staff.example.org` → ["example.org", "staff.example.org"];
    `DomainError` naming the first entry that is not a domain."""
    domains: list[str] = []
    for raw in re.split(r"[\s,;]+", text or ""):
        domain = raw.strip().lower().removeprefix("@").rstrip(".")
        if not domain:
            continue
        if not _DOMAIN_RE.match(domain):
            raise DomainError(f"{raw!r} is not an email domain such as example.org.")
        if domain not in domains:
            domains.append(domain)
    return domains


def save_configuration(
    actor: User,
    org: Organization,
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    button_label: str,
    default_role: Role,
    allowed_domains: str,
    is_enabled: bool,
    is_password_sign_in_disabled: bool,
) -> SsoConfiguration:
    """Create or change the organization's provider (admins only). The discovery document is
    read first, so a mistyped issuer is refused here rather than at the first sign-in. An empty
    `client_secret` keeps the stored one; the secret is stored encrypted and never shown."""
    organizations.require_role(actor, org, Role.ADMIN)
    issuer = clean_http_url(issuer, what="The issuer").strip()
    client_id = client_id.strip()
    if not issuer or not client_id:
        raise DomainError("Give the provider's issuer URL and this service's client id.")
    if is_password_sign_in_disabled and not is_enabled:
        raise DomainError(
            "Password sign-in can only be switched off while single sign-on is switched on: "
            "members would have no way in."
        )
    domains = parse_domains(allowed_domains)
    config = get_configuration(org)
    if config is None and not client_secret:
        raise DomainError("Give the client secret the provider issued for this service.")
    discover(issuer)  # refuses an issuer that does not answer as an OpenID Provider
    if config is None:
        config = SsoConfiguration(organization_id=org.id)
        db.session.add(config)
    if client_secret:
        config.client_secret_encrypted = sealed.seal(
            client_secret.strip(), _secret_key(), _SECRET_PURPOSE
        )
    config.issuer = issuer
    config.client_id = client_id
    config.button_label = clean_text(button_label, 80) or org.name
    config.default_role = Role(default_role)
    config.allowed_domains = domains
    config.is_enabled = is_enabled
    config.is_password_sign_in_disabled = is_password_sign_in_disabled
    db.session.flush()
    audit.record(
        "sso.configure",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="organization",
        subject_id=org.public_id,
        issuer=issuer,
        client_id=client_id,
        secret_changed=bool(client_secret),
        enabled=is_enabled,
        password_sign_in_disabled=is_password_sign_in_disabled,
        default_role=str(config.default_role),
        allowed_domains=domains,
    )
    return config
