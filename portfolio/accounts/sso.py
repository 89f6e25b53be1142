"""Single sign-on with OpenID Connect, one provider per organization: the sign-in flow.

Kept whole at a little over 400 lines because the flow and the account-linking rules it enforces
are one security decision, best read in one place. Talking to the provider is in
`portfolio.accounts.sso_provider`, the organization's settings in `portfolio.accounts.sso_settings`.

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

import secrets
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portfolio.accounts import organizations, registration, sign_in
from portfolio.accounts.models import (
    Organization,
    Role,
    SsoConfiguration,
    SsoIdentity,
    User,
)
from portfolio.accounts.sso_provider import (
    ProviderMetadata,
    ProviderUnavailable,
    SsoRefused,
    check_target,
    discover,
    get_json,
)
from portfolio.accounts.sso_settings import client_secret, enabled_configuration
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict
from portfolio.core.sanitize import clean_text
from portfolio.extensions import db

SCOPES = "openid email profile"
HTTP_TIMEOUT_SECONDS = 10
#: How long a started sign-in may take at the provider before its `state` is no longer taken.
PENDING_MAX_AGE_SECONDS = 15 * 60
#: Clock difference allowed with the provider when checking `exp` and `iat`.
LEEWAY_SECONDS = 60
#: Stored in place of a password hash for accounts made by single sign-on: no password ever
#: matches it (argon2 cannot read it); the owner may set one through "Forgot your password?".
NO_PASSWORD = "!sso"  # noqa: S105 - not a secret: a marker that matches no password


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
    keys = KeySet.import_key_set(get_json(metadata.jwks_uri, "signing keys"))  # type: ignore[arg-type]
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
    org = organizations.get_organization(str(pending.get("org", "")))
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
    check_target(metadata.token_endpoint)
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
        info = get_json(metadata.userinfo_endpoint, "user info", bearer=token["access_token"])
        # OpenID Connect Core 5.3.2: the UserInfo `sub` must be the ID token's, or none of it
        # may be used (it would describe somebody else).
        if info.get("sub") != subject:
            raise _refuse(org, "userinfo-subject", "The provider described another person.")
        profile.update({k: v for k, v in info.items() if k not in claims})
    email = sign_in.normalize_email(str(profile.get("email") or ""))
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
        organizations.add_membership(user, org, Role(config.default_role))  # just in time
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
    existing = sign_in.find_user_by_email(email)
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
        registration.remove_unconfirmed(existing, reason="signed in through single sign-on")
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
