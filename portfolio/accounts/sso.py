"""Single sign-on with OpenID Connect, one provider per organization.

The flow is the authorization-code flow with PKCE (S256), through Authlib:

1. `begin_sign_in` reads the provider's discovery document, makes a fresh `state`, `nonce` and
   code verifier, and returns the authorization URL with what the browser's session must keep.
2. `complete_sign_in`, on the way back, is given what the session kept: the `state` must be one
   this browser started (so nobody can plant their own sign-in on someone else's browser), the
   code is exchanged once with the verifier (a replayed code is refused by the provider), and the
   ID token is checked: signature against the provider's JWKS, `iss`, `aud`, `exp` and the
   `nonce` of this sign-in.
3. The person is found by the provider's stable name for them, (issuer, `sub`), and otherwise by
   their address, which must be VERIFIED (`email_verified` true): an existing account is linked,
   an unknown address gets a new confirmed account, and anyone without a role in the
   organization receives its default role (just-in-time membership).

Who may be linked: an organization's admin chooses its provider, so a provider is trusted for
the addresses it vouches for only within the organization's allowed domains (when set). An
existing account is linked automatically only when it already belongs to the organization, or
when its owner is signed in while they start the sign-in; any other account with the address is
refused with a message (sign in with the password first, then link), so one organization's
provider can never take over the account of a person it does not manage.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portfolio.accounts import services
from portfolio.accounts.models import (
    Organization,
    Role,
    SsoConfiguration,
    SsoIdentity,
    User,
)
from portfolio.core import audit, sealed
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, NotFound
from portfolio.core.sanitize import clean_text
from portfolio.core.urls import clean_http_url
from portfolio.extensions import db

#: The purpose the client secret is sealed for (bound into its key).
_SECRET_PURPOSE = "sso-client-secret"  # noqa: S105 - a label, not a secret
SCOPES = "openid email profile"
HTTP_TIMEOUT_SECONDS = 10
MAX_DOCUMENT_BYTES = 512 * 1024
#: How long a started sign-in may take at the provider before its `state` is no longer taken.
PENDING_MAX_AGE_SECONDS = 15 * 60
#: Clock difference allowed with the provider when checking `exp` and `iat`.
LEEWAY_SECONDS = 60
#: Stored in place of a password hash for accounts made by single sign-on: no password ever
#: matches it (argon2 cannot read it); the owner may set one through "Forgot your password?".
NO_PASSWORD = "!sso"  # noqa: S105 - not a secret: a marker that matches no password
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class SsoRefused(DomainError):
    """A single sign-on was refused; the message says why and what to do. What it recorded
    (the audit of the refusal) is kept."""

    keeps_changes = True

    def __init__(self, message: str, *, link_after_password: str = "") -> None:
        super().__init__(message)
        #: The organization (slug) whose provider the person may link after signing in with
        #: their password: the refusal page offers that way.
        self.link_after_password = link_after_password


class ProviderUnavailable(SsoRefused):
    """The provider could not be reached or answered with something that is not OpenID."""

    status_code = 502


# -- talking to the provider ---------------------------------------------------------------------
def _allow_private() -> bool:
    cfg = current_app.config["PORTFOLIO"]
    return bool(cfg.sso_allow_private_issuers) and not cfg.is_production


def _check_target(url: str) -> None:
    """Refuse URLs the server must not fetch: the provider's addresses are typed by an admin
    and published by the provider itself, and must not become a way into the network the
    server runs in (metadata services, databases). Only https to public addresses, unless
    SSO_ALLOW_PRIVATE_ISSUERS (development and tests) allows http and private ones. (The
    address is checked when resolved; the connection resolves again, so a provider that
    answers DNS differently the second time could still reach inside: the same limit as
    any client library without pinning.)"""
    parts = urlsplit(url)
    allow_private = _allow_private()
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise ProviderUnavailable(f"The provider's address {url} must start with https://.")
    if not parts.hostname or parts.username or parts.password:
        raise ProviderUnavailable(f"The provider's address {url} is not a plain web address.")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ProviderUnavailable(f"The provider's host {parts.hostname} was not found.") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not allow_private and (not ip.is_global or ip.is_multicast):
            raise ProviderUnavailable(
                f"The provider's host {parts.hostname} is not on the public internet."
            )


def _read_json(response: requests.Response, what: str) -> dict[str, Any]:
    body = response.raw.read(MAX_DOCUMENT_BYTES + 1, decode_content=True)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ProviderUnavailable(f"The provider's {what} is larger than 512 KB.")
    try:
        data = json.loads(body)
    except ValueError:
        raise ProviderUnavailable(f"The provider's {what} is not JSON.") from None
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"The provider's {what} is not a JSON object.")
    return data


def _get_json(url: str, what: str, *, bearer: str | None = None) -> dict[str, Any]:
    _check_target(url)
    headers = {"Accept": "application/json", "User-Agent": "Portfolio single sign-on"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    try:
        # No redirects: every address fetched is one that was checked.
        with requests.get(
            url, headers=headers, timeout=HTTP_TIMEOUT_SECONDS, allow_redirects=False, stream=True
        ) as response:
            if response.status_code != 200:
                raise ProviderUnavailable(
                    f"The provider answered {response.status_code} for its {what} ({url})."
                )
            return _read_json(response, what)
    except requests.RequestException as exc:
        raise ProviderUnavailable(
            f"The provider could not be reached for its {what} ({type(exc).__name__})."
        ) from None


@dataclass(frozen=True)
class ProviderMetadata:
    """What the discovery document says, checked."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    id_token_algorithms: list[str] | None


def discover(issuer: str) -> ProviderMetadata:
    """Read `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0): its
    `issuer` must be exactly the configured one, and it must offer the code flow with S256."""
    doc = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
    if doc.get("issuer") != issuer:
        # A document that names another issuer would let that issuer's tokens pass as ours.
        raise ProviderUnavailable(
            f"The provider's discovery document names the issuer {doc.get('issuer')!r}, not "
            f"{issuer!r}. Enter the issuer exactly as the provider spells it."
        )
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(doc.get(name), str):
            raise ProviderUnavailable(f"The provider's discovery document has no {name}.")
    methods = doc.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ProviderUnavailable("The provider does not support PKCE with S256.")
    algorithms = doc.get("id_token_signing_alg_values_supported")
    algs = [a for a in algorithms if isinstance(a, str) and a != "none"] if algorithms else None
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=doc["authorization_endpoint"],
        token_endpoint=doc["token_endpoint"],
        jwks_uri=doc["jwks_uri"],
        userinfo_endpoint=doc.get("userinfo_endpoint")
        if isinstance(doc.get("userinfo_endpoint"), str)
        else None,
        id_token_algorithms=algs or None,
    )


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
    services.require_role(actor, org, Role.ADMIN)
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


# -- the flow ------------------------------------------------------------------------------------
def _client(config: SsoConfiguration, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=config.client_id,
        client_secret=client_secret(config),
        scope=SCOPES,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        default_timeout=HTTP_TIMEOUT_SECONDS,
    )


def begin_sign_in(
    org: Organization, redirect_uri: str, *, next_url: str = ""
) -> tuple[str, dict[str, Any]]:
    """The provider's authorization URL for a new sign-in, and what the browser's session must
    keep for the way back (its `state`, `nonce` and PKCE verifier, never sent anywhere else)."""
    config = enabled_configuration(org)
    metadata = discover(config.issuer)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128
    with _client(config, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            metadata.authorization_endpoint, state=state, nonce=nonce, code_verifier=verifier
        )
    pending = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "org": org.slug,
        "next": next_url,
        "started": int(time.time()),
    }
    return url, pending


def _refuse(
    org: Organization, reason: str, message: str, *, link: bool = False, **data: Any
) -> SsoRefused:
    audit.record(
        "sso.refused",
        actor_id=None,
        organization_id=org.id,
        subject_type="organization",
        subject_id=org.public_id,
        reason=reason,
        **data,
    )
    return SsoRefused(message, link_after_password=org.slug if link else "")


def _id_token_claims(
    config: SsoConfiguration, metadata: ProviderMetadata, token: dict[str, Any], nonce: str
) -> CodeIDToken:
    """The ID token's claims after checking its signature (the provider's JWKS), `iss`, `aud`,
    `exp`, `iat`, `azp`, `at_hash` and the `nonce` of this sign-in."""
    raw = token.get("id_token")
    if not isinstance(raw, str):
        raise SsoRefused("The provider sent no ID token.")
    keys = KeySet.import_key_set(_get_json(metadata.jwks_uri, "signing keys"))  # type: ignore[arg-type]
    # Only asymmetric algorithms the provider announced ("none" and HMAC keyed with a public
    # value must never pass).
    algorithms = [a for a in (metadata.id_token_algorithms or ["RS256"]) if not a.startswith("HS")]
    decoded = jwt.decode(
        raw, key=keys, registry=JWSRegistry(algorithms=algorithms, strict_check_header=False)
    )
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": config.issuer},
            "aud": {"essential": True, "value": config.client_id},
        },
        {"nonce": nonce, "client_id": config.client_id, "access_token": token.get("access_token")},
    )
    claims.validate(leeway=LEEWAY_SECONDS)
    return claims


def _is_verified(value: object) -> bool:
    # Some providers send the boolean as a string; anything else is "not verified".
    return value is True or value == "true"


@dataclass
class SignedIn:
    """The outcome of a completed single sign-on."""

    user: User
    organization: Organization
    #: "new-account", "linked" or "" (an identity linked before).
    linked: str
    next_url: str


def complete_sign_in(
    pending: dict[str, Any] | None,
    params: dict[str, str],
    redirect_uri: str,
    *,
    signed_in: User | None = None,
) -> SignedIn:
    """Finish a sign-in from the provider's redirect (`params`: its query string) with what the
    session kept for it (`pending`, None when the session holds no sign-in with this `state`).
    Returns the user to sign in; raises `SsoRefused` (with a message for the person) for a
    forged or stale `state`, an error from the provider, a code that was already used, an ID
    token that fails a check, an address that is unverified or outside the allowed domains, or
    an account that may not be linked."""
    if pending is None or not secrets.compare_digest(
        str(pending.get("state", "")), params.get("state", "")
    ):
        raise SsoRefused(
            "This sign-in was not started in this browser, or it was already completed. Start "
            "again from the sign-in page."
        )
    if time.time() - int(pending.get("started", 0)) > PENDING_MAX_AGE_SECONDS:
        raise SsoRefused("This sign-in took too long. Start again from the sign-in page.")
    org = services.get_organization(str(pending.get("org", "")))
    config = enabled_configuration(org)
    if params.get("error"):
        description = clean_text(params.get("error_description") or params["error"], 300)
        raise _refuse(
            org,
            "provider-error",
            f"{config.button_label} did not sign you in: {description}",
            error=clean_text(params["error"], 100),
        )
    if "iss" in params and params["iss"] != config.issuer:
        # RFC 9207: the response names the provider that made it; another one's response
        # (a mix-up between providers) must not be taken for ours.
        raise _refuse(
            org,
            "issuer-mismatch",
            "This answer came from another sign-in service than the one the sign-in was "
            "started with. Start again from the sign-in page.",
        )
    code = params.get("code", "")
    if not code:
        raise SsoRefused("The provider sent no authorization code. Start again.")
    metadata = discover(config.issuer)
    _check_target(metadata.token_endpoint)
    try:
        with _client(config, redirect_uri) as client:
            token = dict(
                client.fetch_token(
                    metadata.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.get("verifier"),
                )
            )
    except OAuthError as exc:
        # invalid_grant: the code was used before (a replay), has expired, or does not match
        # this sign-in's PKCE verifier. The provider refuses it; so do we.
        raise _refuse(
            org,
            "token-refused",
            "The provider refused this sign-in's code: it was already used or has expired. "
            "Start again from the sign-in page.",
            error=str(getattr(exc, "error", "") or "")[:100],
        ) from None
    except requests.RequestException as exc:
        raise ProviderUnavailable(
            f"The provider could not be reached to finish the sign-in ({type(exc).__name__})."
        ) from None
    try:
        claims = _id_token_claims(config, metadata, token, str(pending.get("nonce", "")))
    except (JoseError, ValueError) as exc:
        what = getattr(exc, "description", "") or type(exc).__name__
        raise _refuse(
            org,
            "id-token-invalid",
            f"The provider's ID token did not pass the checks ({what}). Nobody was signed in; "
            "start again from the sign-in page.",
            check=str(what)[:100],
        ) from None
    subject = str(claims["sub"])
    profile: dict[str, Any] = dict(claims)
    if "email" not in profile and metadata.userinfo_endpoint and token.get("access_token"):
        info = _get_json(metadata.userinfo_endpoint, "user info", bearer=token["access_token"])
        # OpenID Connect Core 5.3.2: the UserInfo `sub` must be the ID token's, or none of it
        # may be used (it would describe somebody else).
        if info.get("sub") != subject:
            raise _refuse(org, "userinfo-subject", "The provider described another person.")
        profile.update({k: v for k, v in info.items() if k not in claims})
    email = services.normalize_email(str(profile.get("email") or ""))
    if not email or "@" not in email:
        raise _refuse(org, "no-email", f"{config.button_label} did not tell us your email address.")
    if not _is_verified(profile.get("email_verified")):
        raise _refuse(
            org,
            "email-unverified",
            f"{config.button_label} has not verified your email address {email}, so it cannot "
            "be used to sign in here. Verify the address with your organization's sign-in "
            "service, then try again.",
            email=email,
        )
    domain = email.rsplit("@", 1)[1]
    if config.allowed_domains and domain not in config.allowed_domains:
        raise _refuse(
            org,
            "domain-not-allowed",
            f"{org.name} signs in addresses at {', '.join(config.allowed_domains)} only; "
            f"{email} is not one of them.",
            email=email,
        )
    name = clean_text(str(profile.get("name") or ""), 120)
    user, linked = _user_for(org, config, subject, email, name, signed_in)
    if not user.roles_in(org.id):
        services.add_membership(user, org, Role(config.default_role))  # just in time
    now = utcnow()
    user.last_login_at = now
    identity = db.session.scalar(
        select(SsoIdentity).where(
            SsoIdentity.issuer == config.issuer, SsoIdentity.subject == subject
        )
    )
    if identity is not None:
        identity.last_login_at = now
    audit.record(
        "sso.login",
        actor_id=user.id,
        organization_id=org.id,
        subject_type="user",
        subject_id=user.public_id,
        issuer=config.issuer,
    )
    return SignedIn(user, org, linked, str(pending.get("next") or ""))


def _user_for(
    org: Organization,
    config: SsoConfiguration,
    subject: str,
    email: str,
    name: str,
    signed_in: User | None,
) -> tuple[User, str]:
    """The account for this provider's person: the one linked to (issuer, sub); else the
    account with the verified address, linked now if that is allowed (see the module's
    docstring); else a new confirmed account."""
    identity = db.session.scalar(
        select(SsoIdentity).where(
            SsoIdentity.issuer == config.issuer, SsoIdentity.subject == subject
        )
    )
    if identity is not None:
        if signed_in is not None and signed_in.id != identity.user_id:
            raise _refuse(
                org,
                "linked-elsewhere",
                f"This {config.button_label} account is linked to another Portfolio account. "
                "Sign out first, then sign in with it.",
            )
        _check_active(org, identity.user)
        return identity.user, ""
    existing = services.find_user_by_email(email)
    if existing is not None and not existing.is_email_confirmed:
        existing_confirmed = None
    else:
        existing_confirmed = existing
    if signed_in is not None and (
        existing_confirmed is None or existing_confirmed.id != signed_in.id
    ):
        raise _refuse(
            org,
            "signed-in-as-other",
            f"You are signed in as {signed_in.email}, but {config.button_label} signed you in "
            f"as {email}. Sign out first, or use the account with that address.",
            email=email,
        )
    if existing is not None and existing_confirmed is None:
        # An unconfirmed registration does not hold the address; the provider's verified
        # address does (as an invitation to it would).
        services._remove_unconfirmed(existing, reason="signed in through single sign-on")
        existing = None
    if existing is not None:
        _check_active(org, existing)
        if signed_in is None and not existing.roles_in(org.id):
            # The provider is the organization's: it may vouch for the organization's own
            # people, not take over anybody else's account by naming their address.
            raise _refuse(
                org,
                "link-needs-password",
                f"An account with the address {email} already exists. Sign in with its "
                f"password once to link it to {config.button_label}.",
                link=True,
                email=email,
            )
        _link(existing, org, config, subject, email)
        return existing, "linked"
    user = _create_user(email, name)
    _link(user, org, config, subject, email)
    return user, "new-account"


def _check_active(org: Organization, user: User) -> None:
    if not user.is_active_account:
        raise _refuse(
            org,
            "account-disabled",
            "This account has been disabled. Contact your organization's admin.",
        )


def _create_user(email: str, name: str) -> User:
    user = User(
        email=email,
        display_name=name or email,
        password_hash=NO_PASSWORD,
        # The provider verified the address: it is the person's.
        email_confirmed_at=utcnow(),
    )
    db.session.add(user)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # a concurrent sign-in or registration made it first
        # Not a kept refusal: everything this sign-in wrote is rolled back.
        raise Conflict(
            "An account with this address was created at the same moment. Try again."
        ) from None
    audit.record(
        "account.create",
        actor_id=user.id,
        subject_type="user",
        subject_id=user.public_id,
        via="sso",
    )
    return user


def _link(user: User, org: Organization, config: SsoConfiguration, sub: str, email: str) -> None:
    identity = SsoIdentity(
        user_id=user.id,
        organization_id=org.id,
        issuer=config.issuer,
        subject=sub,
        email=email,
    )
    db.session.add(identity)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # the same provider account linked at the same moment
        raise Conflict("This sign-in was completed at the same moment elsewhere.") from None
    audit.record(
        "sso.link",
        actor_id=user.id,
        organization_id=org.id,
        subject_type="user",
        subject_id=user.public_id,
        issuer=config.issuer,
        email=email,
    )
