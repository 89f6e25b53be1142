"""eddsa-rdfc-2022 Data Integrity proofs: sign, verify, and detect any tampering."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portfolio.awards.ob import keys, proof


def resolver(did_document: dict[str, Any]) -> proof.KeyResolver:
    return proof.key_resolver([did_document])


def test_signed_credential_verifies(
    signed_credential: dict[str, Any], did_document: dict[str, Any], verification_method: str
) -> None:
    report = proof.verify_credential(
        signed_credential, resolver(did_document), now=datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert report.valid, report.reasons
    assert report.reasons == ()
    assert report.verification_method == verification_method
    assert report.issuer == signed_credential["issuer"]["id"]


def test_proof_shape(signed_credential: dict[str, Any], verification_method: str) -> None:
    (p,) = signed_credential["proof"]
    assert p["type"] == "DataIntegrityProof"
    assert p["cryptosuite"] == "eddsa-rdfc-2022"
    assert p["proofPurpose"] == "assertionMethod"
    assert p["verificationMethod"] == verification_method
    assert p["created"] == "2024-05-01T09:31:00Z"
    assert p["proofValue"].startswith("z")
    assert len(base58.b58decode(p["proofValue"][1:])) == 64


def test_signature_follows_the_cryptosuite_algorithm(
    signed_credential: dict[str, Any], signing_key: Ed25519PrivateKey
) -> None:
    """Recompute hashData by hand: SHA-256(canonical proof config) || SHA-256(canonical doc)."""
    (p,) = signed_credential["proof"]
    document = {k: v for k, v in signed_credential.items() if k != "proof"}
    config = {"@context": document["@context"], **{k: v for k, v in p.items() if k != "proofValue"}}
    hash_data = (
        hashlib.sha256(proof.canonicalize(config).encode()).digest()
        + hashlib.sha256(proof.canonicalize(document).encode()).digest()
    )
    signature = base58.b58decode(p["proofValue"][1:])
    signing_key.public_key().verify(signature, hash_data)  # raises if it does not match
    # Ed25519 is deterministic: the same input gives the same proof.
    assert signing_key.sign(hash_data) == signature


def test_canonical_form_is_rdfc_nquads(signed_credential: dict[str, Any]) -> None:
    nquads = proof.canonicalize({k: v for k, v in signed_credential.items() if k != "proof"})
    lines = nquads.splitlines()
    assert lines == sorted(lines)
    assert all(line.endswith(" .") for line in lines)
    assert "_:c14n0" in nquads
    assert "<https://purl.imsglobal.org/spec/vc/ob/vocab.html#achievedLevel>" in nquads


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


TAMPERINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "name": _set(("name",), "Master welder"),
    "validFrom": _set(("validFrom",), "2023-05-01T09:30:00Z"),
    "validUntil": _set(("validUntil",), "2099-05-01T09:30:00Z"),
    "result level": _set(
        ("credentialSubject", "result", 0, "achievedLevel"),
        "https://badges.example.org/rubrics/rv1/elements/prep/levels/exceeds",
    ),
    "evidence hash": _set(
        ("evidence", 0, "digestSRI"), "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    ),
    "evidence url": _set(("evidence", 0, "id"), "https://evil.example/e1"),
    "issuer name": _set(("issuer", "name"), "Acme Diploma Mill"),
    "recipient hash": _set(
        ("credentialSubject", "identifier", 0, "identityHash"), "sha256$" + "0" * 64
    ),
    "achievement criteria": _set(
        ("credentialSubject", "achievement", "criteria", "narrative"), "Nothing at all."
    ),
    "status": _set(("credentialStatus", "id"), "https://evil.example/never-revoked"),
    "proof created": _set(("proof", 0, "created"), "2024-05-02T09:31:00Z"),
    "proof purpose": _set(("proof", 0, "proofPurpose"), "authentication"),
    "added property": _set(("credentialSubject", "achievement", "humanCode"), "W-1"),
    "removed evidence": lambda doc: doc["evidence"].pop(),
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_any_change_breaks_verification(
    name: str, signed_credential: dict[str, Any], did_document: dict[str, Any]
) -> None:
    tampered = copy.deepcopy(signed_credential)
    TAMPERINGS[name](tampered)
    assert tampered != signed_credential
    report = proof.verify_credential(tampered, resolver(did_document))
    assert not report.valid
    assert report.reasons


def test_a_different_key_does_not_verify(
    signed_credential: dict[str, Any], verification_method: str
) -> None:
    other = keys.generate_private_key().public_key()
    report = proof.verify_credential(signed_credential, lambda _: other)
    assert report.reasons == ("the signature does not match the document",)


def test_unknown_verification_method(signed_credential: dict[str, Any]) -> None:
    report = proof.verify_credential(signed_credential, lambda _: None)
    assert not report.valid
    assert any("unknown" in r for r in report.reasons)


def test_key_of_another_controller_is_refused(
    unsigned_credential: dict[str, Any], signing_key: Ed25519PrivateKey
) -> None:
    other_controller = "did:web:impostor.example"
    signed = proof.sign_credential(
        unsigned_credential, signing_key, keys.verification_method_id(other_controller, signing_key)
    )
    report = proof.verify_credential(signed, lambda _: signing_key.public_key())
    assert not report.valid
    assert any("not controlled by issuer" in r for r in report.reasons)


def test_key_resolver_needs_assertion_method(
    did_document: dict[str, Any], verification_method: str
) -> None:
    assert proof.key_resolver([did_document])(verification_method) is not None
    without = {**did_document, "assertionMethod": []}
    assert proof.key_resolver([without])(verification_method) is None


def test_validity_period_is_checked_when_asked(
    signed_credential: dict[str, Any], did_document: dict[str, Any]
) -> None:
    early = proof.verify_credential(
        signed_credential, resolver(did_document), now=datetime(2020, 1, 1, tzinfo=UTC)
    )
    late = proof.verify_credential(
        signed_credential, resolver(did_document), now=datetime(2040, 1, 1, tzinfo=UTC)
    )
    assert any("not valid yet" in r for r in early.reasons)
    assert any("expired" in r for r in late.reasons)


def test_undefined_terms_are_refused_when_signing(
    unsigned_credential: dict[str, Any], signing_key: Ed25519PrivateKey, verification_method: str
) -> None:
    # A 1EdTech-only type without the extensions context that defines it.
    undefined = {
        **unsigned_credential,
        "credentialStatus": {"id": "https://badges.example.org/r", "type": "1EdTechRevocationList"},
    }
    with pytest.raises(proof.UndefinedTermError):
        proof.sign_credential(undefined, signing_key, verification_method)
    with pytest.raises(proof.UndefinedTermError):
        proof.sign_credential(
            {**unsigned_credential, "creditHours": 3}, signing_key, verification_method
        )


def test_already_signed_is_refused(
    signed_credential: dict[str, Any], signing_key: Ed25519PrivateKey, verification_method: str
) -> None:
    with pytest.raises(ValueError, match="already signed"):
        proof.sign_credential(signed_credential, signing_key, verification_method)


@pytest.mark.parametrize(
    "proofs", [None, [], "x", [{"type": "DataIntegrityProof"}, {"type": "DataIntegrityProof"}]]
)
def test_missing_or_odd_proofs_are_reported(
    proofs: Any, signed_credential: dict[str, Any], did_document: dict[str, Any]
) -> None:
    document = {k: v for k, v in signed_credential.items() if k != "proof"}
    if proofs is not None:
        document["proof"] = proofs
    report = proof.verify_credential(document, resolver(did_document))
    assert not report.valid and report.reasons
