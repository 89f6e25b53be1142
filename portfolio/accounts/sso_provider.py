"""Talking to an organization's OpenID Connect provider: discovery and JSON documents fetched
with a time limit, a size limit and only from public addresses; and the refusals of single
sign-on (`SsoRefused`, `ProviderUnavailable`).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app

from portfolio.core.errors import DomainError

HTTP_TIMEOUT_SECONDS = 10
MAX_DOCUMENT_BYTES = 512 * 1024


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


def check_target(url: str) -> None:
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


def get_json(url: str, what: str, *, bearer: str | None = None) -> dict[str, Any]:
    check_target(url)
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
    doc = get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery document")
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
