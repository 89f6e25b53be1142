"""Ed25519 signing keys: generation, encryption at rest, Multikey encoding and the documents
(did:web DID document, Multikey controller document) that publish the public keys."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import base58
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from portfolio.awards.ob import common

#: Multicodec prefix of an Ed25519 public key (varint of 0xed), see the multicodec table.
ED25519_PUB_MULTICODEC = b"\xed\x01"
_PASSPHRASE_LABEL = b"portfolio.badges.signing-key.v1"


def generate_private_key() -> Ed25519PrivateKey:
    """Generate a new Ed25519 signing key."""
    return Ed25519PrivateKey.generate()


def _passphrase(secret: str | bytes) -> bytes:
    # The configured secret is not used as the passphrase directly: a key derived for this one
    # purpose means a leak of encrypted keys says nothing about other uses of the same secret.
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not raw:
        raise ValueError("an empty secret cannot protect a signing key")
    return hmac.new(raw, _PASSPHRASE_LABEL, hashlib.sha256).hexdigest().encode("ascii")


def encrypt_private_key(key: Ed25519PrivateKey, secret: str | bytes) -> bytes:
    """Serialize a private key as encrypted PKCS#8 PEM, protected by a passphrase derived from
    `secret` (the configured key-encryption secret). Store only this form, never the raw key."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.BestAvailableEncryption(_passphrase(secret)),
    )


def decrypt_private_key(pem: bytes, secret: str | bytes) -> Ed25519PrivateKey:
    """Load a private key stored by `encrypt_private_key`; raises ValueError on a wrong secret."""
    key = serialization.load_pem_private_key(pem, password=_passphrase(secret))
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the stored key is not an Ed25519 key")
    return key


def public_key_multibase(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Encode a public key as Multikey `publicKeyMultibase`: "z" + base58btc(0xed01 + raw key)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58.b58encode(ED25519_PUB_MULTICODEC + raw).decode("ascii")


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    """Decode a Multikey `publicKeyMultibase` (z6Mk...) into an Ed25519 public key."""
    if not value.startswith("z"):
        raise ValueError("publicKeyMultibase must be base58btc ('z' prefix)")
    decoded = base58.b58decode(value[1:])
    if len(decoded) != 34 or not decoded.startswith(ED25519_PUB_MULTICODEC):
        raise ValueError("publicKeyMultibase is not an Ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(decoded[2:])


def verification_method_id(controller: str, key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The fragment id of a key under its controller: `<controller>#<publicKeyMultibase>`.

    Right for a DID (a DID URL with a fragment resolves through the DID document). Under an
    http(s) controller URL, verifiers dereference the URL without the fragment and get the whole
    controller document rather than the key: use `key_url` there. Credentials signed before
    keys had URLs of their own name this form; controller documents keep listing it.
    """
    return f"{controller}#{public_key_multibase(key)}"


def key_url(controller: str, key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The URL of a key of its own under an http(s) controller: `<controller>/<multibase>`.

    Dereferencing it answers the Multikey document itself (`multikey(..., with_context=True)`),
    which is what verifiers such as DCC's and Digital Bazaar's expect of a verification method.
    """
    return f"{controller.rstrip('/')}/{public_key_multibase(key)}"


def multikey(
    controller: str,
    key: Ed25519PublicKey | Ed25519PrivateKey,
    *,
    with_context: bool = False,
    method_id: str | None = None,
) -> dict[str, Any]:
    """A Multikey verification method for `key` controlled by `controller`.

    `method_id` defaults to the fragment form. With `with_context`, the result is a standalone
    JSON-LD document (what the key's own URL serves).
    """
    method: dict[str, Any] = {
        "id": method_id or verification_method_id(controller, key),
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": public_key_multibase(key),
    }
    if with_context:
        return {"@context": common.MULTIKEY_V1_CONTEXT, **method}
    return method


def controller_document(
    controller: str,
    keys: Iterable[Ed25519PublicKey | Ed25519PrivateKey],
    *,
    own_urls: bool = False,
) -> dict[str, Any]:
    """A controller document listing `keys` as Multikey verification and assertion methods.

    Served at `controller` (an http(s) issuer URL or resolved from a DID). With `own_urls`
    (http(s) controllers), each key is listed under its own URL (`key_url`) and, for what was
    signed before, under its fragment id too. The DID v1 context is first because it defines
    `assertionMethod`/`verificationMethod` and is what verifiers such as jsonld-signatures
    recognise without framing; Multikey v1 defines the key terms.
    """
    methods = []
    for key in keys:
        if own_urls:
            methods.append(multikey(controller, key, method_id=key_url(controller, key)))
        methods.append(multikey(controller, key))
    ids = [m["id"] for m in methods]
    return {
        "@context": [common.DID_V1_CONTEXT, common.MULTIKEY_V1_CONTEXT],
        "id": controller,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
    }


def did_web(host: str, path: Iterable[str] = (), port: int | None = None) -> str:
    """Build a did:web identifier: `did:web:<host>[%3A<port>][:<path segment>...]`.

    Per the did:web method, the port colon is percent-encoded and path segments are joined with
    colons; each segment is percent-encoded so it cannot smuggle in a colon or slash.
    """
    host = host.lower().strip()
    if not host or any(c in host for c in "/:@"):
        raise ValueError(f"invalid did:web host {host!r}")
    authority = host if port is None else f"{host}%3A{int(port)}"
    segments = [quote(s, safe="") for s in path if s]
    return ":".join(["did:web", authority, *segments])


def did_web_from_url(url: str) -> str:
    """The did:web identifier for an https URL, e.g. https://ex.org:8443/issuers/a ->
    did:web:ex.org%3A8443:issuers:a (its DID document lives at <url>/did.json)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("did:web requires an https URL")
    return did_web(parts.hostname, [unquote(s) for s in parts.path.split("/")], parts.port)


def did_web_document_url(did: str) -> str:
    """The https URL where a did:web DID document is published."""
    if not did.startswith("did:web:"):
        raise ValueError(f"not a did:web identifier: {did!r}")
    authority, *segments = did[len("did:web:") :].split("#", 1)[0].split(":")
    host = unquote(authority)
    if not segments:
        return f"https://{host}/.well-known/did.json"
    return f"https://{host}/" + "/".join(segments) + "/did.json"


def did_document(did: str, keys: Iterable[Ed25519PublicKey | Ed25519PrivateKey]) -> dict[str, Any]:
    """The DID document for a did:web issuer listing `keys` as Multikey assertion methods."""
    if not did.startswith("did:"):
        raise ValueError(f"not a DID: {did!r}")
    return controller_document(did, keys)
