"""Ed25519 keys: encryption at rest, Multikey encoding, did:web and controller documents."""

from __future__ import annotations

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portfolio.awards.ob import keys


def test_private_key_is_encrypted_at_rest_and_needs_the_secret() -> None:
    key = keys.generate_private_key()
    pem = keys.encrypt_private_key(key, "configured-secret")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    restored = keys.decrypt_private_key(pem, "configured-secret")
    assert keys.public_key_multibase(restored) == keys.public_key_multibase(key)
    with pytest.raises(ValueError):
        keys.decrypt_private_key(pem, "another-secret")


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="empty secret"):
        keys.encrypt_private_key(keys.generate_private_key(), "")


def test_public_key_multibase_is_ed25519_multikey() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    value = keys.public_key_multibase(key)
    assert value.startswith("z6Mk")
    decoded = base58.b58decode(value[1:])
    assert decoded[:2] == b"\xed\x01" and len(decoded) == 34
    assert keys.public_key_multibase(keys.public_key_from_multibase(value)) == value


def test_known_multikey_vector() -> None:
    # did:key test vector from the W3C did:key / Multikey specifications.
    value = "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    public = keys.public_key_from_multibase(value)
    assert keys.public_key_multibase(public) == value


@pytest.mark.parametrize(
    "bad", ["6Mkabc", "zabc", "z" + base58.b58encode(b"\x12\x00" * 17).decode()]
)
def test_bad_multibase_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        keys.public_key_from_multibase(bad)


def test_did_web_identifiers() -> None:
    assert keys.did_web("example.com") == "did:web:example.com"
    assert keys.did_web("Example.com", ["issuers", "acme"]) == "did:web:example.com:issuers:acme"
    assert keys.did_web("localhost", port=8443) == "did:web:localhost%3A8443"
    assert keys.did_web_from_url("https://ex.org:8443/issuers/a b") == (
        "did:web:ex.org%3A8443:issuers:a%20b"
    )
    assert keys.did_web_document_url("did:web:example.com") == (
        "https://example.com/.well-known/did.json"
    )
    assert keys.did_web_document_url("did:web:ex.org%3A8443:issuers:acme#key") == (
        "https://ex.org:8443/issuers/acme/did.json"
    )
    with pytest.raises(ValueError):
        keys.did_web_from_url("http://example.com/x")
    with pytest.raises(ValueError):
        keys.did_web("evil.com/path")


def test_did_document_lists_keys_as_assertion_methods() -> None:
    old, new = keys.generate_private_key(), keys.generate_private_key()
    did = "did:web:badges.example.org:issuers:acme"
    doc = keys.did_document(did, [old.public_key(), new])
    assert doc["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]
    assert doc["id"] == did
    methods = doc["verificationMethod"]
    assert [m["type"] for m in methods] == ["Multikey", "Multikey"]
    assert all(m["controller"] == did for m in methods)
    assert doc["assertionMethod"] == [m["id"] for m in methods]
    assert methods[1]["id"] == f"{did}#{keys.public_key_multibase(new)}"


def test_controller_document_and_standalone_multikey() -> None:
    key = keys.generate_private_key()
    controller = "https://badges.example.org/issuers/acme"
    doc = keys.controller_document(controller, [key])
    assert doc["id"] == controller
    method = keys.multikey(controller, key, with_context=True)
    assert method["@context"] == "https://w3id.org/security/multikey/v1"
    assert method["id"] == doc["assertionMethod"][0]
