"""Small secrets kept in the database encrypted (an OpenID client secret): AES-256-GCM under a
key derived, for one purpose, from the configured SIGNING_KEY_SECRET."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


def _key(secret: str, purpose: str) -> bytes:
    # Derived per purpose: a leaked sealed value says nothing about the signing keys (or any
    # other use) protected by the same configured secret.
    if not secret:
        raise ValueError("an empty secret cannot protect anything")
    return hmac.new(
        secret.encode("utf-8"), f"portfolio.sealed.{purpose}".encode(), hashlib.sha256
    ).digest()


def seal(plaintext: str, secret: str, purpose: str) -> bytes:
    """Encrypt `plaintext`; `purpose` is bound into the key and the associated data."""
    nonce = os.urandom(12)
    box = AESGCM(_key(secret, purpose))
    return _VERSION + nonce + box.encrypt(nonce, plaintext.encode("utf-8"), purpose.encode())


def unseal(sealed: bytes, secret: str, purpose: str) -> str:
    """Decrypt what `seal` made; `ValueError` when the secret or the purpose differ, or the
    bytes were changed."""
    if len(sealed) < 1 + 12 + 16 or sealed[:1] != _VERSION:
        raise ValueError("not a sealed value")
    nonce, body = sealed[1:13], sealed[13:]
    try:
        return AESGCM(_key(secret, purpose)).decrypt(nonce, body, purpose.encode()).decode("utf-8")
    except InvalidTag as exc:
        raise ValueError("the sealed value cannot be opened with this secret") from exc
