"""Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (W3C vc-di-eddsa), and the
project's verifier for them.

Signing: the proof configuration (the proof without `proofValue`, with the document's
`@context`) and the document without its proof are each canonicalized with RDFC-1.0 (pyld's
URDNA2015, N-Quads); hashData = SHA-256(canonical config) || SHA-256(canonical document); the
Ed25519 signature over hashData, multibase base58btc-encoded, is the `proofValue`.

Every JSON-LD call gets the local document loader explicitly: no context is ever fetched.
"""

from __future__ import annotations

import copy
import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

from portfolio.awards.ob.common import format_datetime
from portfolio.awards.ob.keys import public_key_from_multibase
from portfolio.awards.ob.loader import DocumentLoader, document_loader

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"

#: pyld keeps module-level context caches (cachetools LRUCache) that are not thread-safe:
#: concurrent use from threads can corrupt them (KeyError). Every pyld call goes through this lock.
_PYLD_LOCK = threading.Lock()
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

KeyResolver = Callable[[str], Ed25519PublicKey | None]


class UndefinedTermError(ValueError):
    """Raised when a document uses a property or type that its contexts do not define.

    JSON-LD expansion silently drops such terms, so they would not be covered by the signature;
    strict verifiers (for example Digital Bazaar's, in safe mode) reject them outright.
    """


@dataclass(frozen=True)
class VerificationReport:
    """Outcome of `verify_credential`: `valid` only when `reasons` is empty."""

    valid: bool
    reasons: tuple[str, ...]
    verification_method: str | None = None
    issuer: str | None = None


def canonicalize(document: Mapping[str, Any], loader: DocumentLoader | None = None) -> str:
    """Canonicalize a JSON-LD document with RDFC-1.0 into N-Quads, using only local contexts."""
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": loader or document_loader,
        # No base IRI: relative IRIs must stay relative (and be refused), not be resolved
        # against a made-up base as pyld does by default; other implementations use null too.
        "base": None,
    }
    with _PYLD_LOCK:
        result: str = jsonld.normalize(copy.deepcopy(dict(document)), options)
    return result


def _count_input_values(value: Any) -> int:
    if isinstance(value, Mapping):
        return sum(_count_input_values(v) for k, v in value.items() if k != "@context")
    if isinstance(value, list):
        return sum(_count_input_values(v) for v in value)
    return 0 if value is None else 1


def _is_absolute(iri: Any) -> bool:
    return isinstance(iri, str) and (iri.startswith("_:") or bool(_SCHEME.match(iri)))


def _count_expanded_values(value: Any) -> int:
    if isinstance(value, list):
        return sum(_count_expanded_values(v) for v in value)
    if not isinstance(value, Mapping):
        return 0
    if "@value" in value:
        return 1
    # Relative IRIs (an undefined type such as "1EdTechRevocationList" without a @vocab) survive
    # expansion but vanish from the RDF that is signed, so they count as dropped.
    count = 1 if _is_absolute(value.get("@id")) else 0
    count += sum(1 for t in value.get("@type", []) if _is_absolute(t))
    for key, item in value.items():
        if key not in ("@id", "@type"):
            count += _count_expanded_values(item)
    return count


def check_defined_terms(document: Mapping[str, Any], loader: DocumentLoader | None = None) -> None:
    """Raise `UndefinedTermError` if JSON-LD expansion would drop any value of `document`.

    Every scalar in the compact document must appear in the expanded form as an `@id`, an
    `@type` entry or an `@value`; a shortfall means a term (or a relative IRI) was dropped.
    """
    options = {"documentLoader": loader or document_loader, "base": None}
    with _PYLD_LOCK:
        expanded = jsonld.expand(copy.deepcopy(dict(document)), options)
    given, kept = _count_input_values(document), _count_expanded_values(expanded)
    if given != kept:
        raise UndefinedTermError(
            f"{given - kept} value(s) use terms the document's @context does not define"
        )


def _hash_data(
    document: Mapping[str, Any], proof_config: Mapping[str, Any], loader: DocumentLoader | None
) -> bytes:
    config = {"@context": document["@context"], **proof_config}
    config.pop("proofValue", None)
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config_hash = hashlib.sha256(canonicalize(config, loader).encode("utf-8")).digest()
    document_hash = hashlib.sha256(canonicalize(unsecured, loader).encode("utf-8")).digest()
    return config_hash + document_hash


def hash_data(
    document: Mapping[str, Any],
    proof_config: Mapping[str, Any],
    loader: DocumentLoader | None = None,
) -> bytes:
    """The eddsa-rdfc-2022 hashData of `document` under `proof_config` (any proof purpose,
    e.g. a presentation's `authentication` proof with its challenge and domain)."""
    return _hash_data(document, proof_config, loader)


def sign_credential(
    credential: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    *,
    created: datetime | None = None,
    loader: DocumentLoader | None = None,
) -> dict[str, Any]:
    """Return a copy of `credential` with an `eddsa-rdfc-2022` DataIntegrityProof (as a
    one-element `proof` array, which the OB 3.0 schema requires).

    Refuses a document that already carries a proof, or that uses undefined terms.
    """
    if "proof" in credential:
        raise ValueError("the credential is already signed")
    unsecured = copy.deepcopy(dict(credential))
    check_defined_terms(unsecured, loader)
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_datetime(created or datetime.now(UTC)),
        "verificationMethod": verification_method,
        "proofPurpose": PROOF_PURPOSE,
    }
    signature = private_key.sign(_hash_data(unsecured, proof, loader))
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    return {**unsecured, "proof": [proof]}


def _issuer_id(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _check_proof_fields(proof: Mapping[str, Any], reasons: list[str]) -> None:
    if proof.get("type") != PROOF_TYPE:
        reasons.append(f"proof type is {proof.get('type')!r}, expected {PROOF_TYPE!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        reasons.append(f"cryptosuite is {proof.get('cryptosuite')!r}, expected {CRYPTOSUITE!r}")
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        reasons.append(f"proofPurpose is {proof.get('proofPurpose')!r}, expected assertionMethod")
    if "created" in proof and _parse_datetime(proof["created"]) is None:
        reasons.append("proof.created is not a date-time with a time zone")


def _check_validity_period(document: Mapping[str, Any], now: datetime, reasons: list[str]) -> None:
    valid_from = _parse_datetime(document.get("validFrom"))
    if valid_from is None:
        reasons.append("validFrom is missing or not a date-time with a time zone")
    elif valid_from > now:
        reasons.append("the credential is not valid yet (validFrom is in the future)")
    if "validUntil" in document:
        valid_until = _parse_datetime(document["validUntil"])
        if valid_until is None:
            reasons.append("validUntil is not a date-time with a time zone")
        elif valid_until <= now:
            reasons.append("the credential has expired (validUntil is in the past)")


def _check_signature(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_key: Ed25519PublicKey,
    loader: DocumentLoader | None,
    reasons: list[str],
) -> None:
    proof_value = proof.get("proofValue")
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        reasons.append("proofValue is missing or not multibase base58btc")
        return
    try:
        signature = base58.b58decode(proof_value[1:])
        check_defined_terms({k: v for k, v in document.items() if k != "proof"}, loader)
        public_key.verify(signature, _hash_data(document, proof, loader))
    except InvalidSignature:
        reasons.append("the signature does not match the document")
    except UndefinedTermError as exc:
        reasons.append(str(exc))
    except (ValueError, jsonld.JsonLdError) as exc:
        reasons.append(f"the document cannot be canonicalized: {exc}")


def controlled_by(method: str, issuer: str) -> bool:
    """Whether verification method `method` is named under `issuer`: a fragment of it (a DID
    URL, or the older `<controller>#<key>` form) or a key URL of its own below it."""
    return method.split("#", 1)[0] == issuer or (
        "://" in issuer and method.startswith(issuer.rstrip("/") + "/")
    )


def verify_credential(
    document: Mapping[str, Any],
    resolve_key: KeyResolver,
    *,
    now: datetime | None = None,
    loader: DocumentLoader | None = None,
) -> VerificationReport:
    """Verify the `eddsa-rdfc-2022` proof of a credential and report why it fails, if it does.

    `resolve_key` maps a verification method id to the issuer's public key (None if unknown).
    The verification method must belong to the credential's issuer (`controlled_by`). With
    `now`, the validity period (`validFrom`/`validUntil`) is checked too. Revocation status is
    not checked here: it needs the issuer's live status list.
    """
    reasons: list[str] = []
    proofs = document.get("proof")
    proofs = [proofs] if isinstance(proofs, Mapping) else proofs
    issuer = _issuer_id(document)
    if not isinstance(proofs, list) or len(proofs) != 1 or not isinstance(proofs[0], Mapping):
        return VerificationReport(False, ("expected exactly one proof",), None, issuer)
    proof = proofs[0]
    method = proof.get("verificationMethod")
    method = method.get("id") if isinstance(method, Mapping) else method
    if not isinstance(method, str):
        return VerificationReport(False, ("proof has no verificationMethod",), None, issuer)

    _check_proof_fields(proof, reasons)
    if issuer is None:
        reasons.append("the credential has no issuer id")
    elif not controlled_by(method, issuer):
        reasons.append(f"verification method {method} is not controlled by issuer {issuer}")
    if now is not None:
        _check_validity_period(document, now, reasons)
    public_key = resolve_key(method)
    if public_key is None:
        reasons.append(f"verification method {method} is unknown")
    else:
        _check_signature(document, proof, public_key, loader, reasons)
    return VerificationReport(not reasons, tuple(reasons), method, issuer)


def key_resolver(controller_documents: Iterable[Mapping[str, Any]]) -> KeyResolver:
    """A `KeyResolver` over controller/DID documents: a method resolves only when its document
    lists it under `assertionMethod` and it is a Multikey with a `publicKeyMultibase`."""
    keys: dict[str, Ed25519PublicKey] = {}
    for doc in controller_documents:
        allowed = {m if isinstance(m, str) else m.get("id") for m in doc.get("assertionMethod", [])}
        for method in doc.get("verificationMethod", []):
            if (
                isinstance(method, Mapping)
                and method.get("id") in allowed
                and method.get("type") == "Multikey"
                and method.get("controller") == doc.get("id")
            ):
                keys[method["id"]] = public_key_from_multibase(method["publicKeyMultibase"])
    return keys.get
