"""Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (W3C vc-di-eddsa), and the
project's verifier for them.

Signing: the proof configuration (the proof without `proofValue`, with the document's
`@context`) and the document without its proof are each canonicalized with RDFC-1.0 (N-Quads);
hashData = SHA-256(canonical config) || SHA-256(canonical document); the Ed25519 signature over
hashData, multibase base58btc-encoded, is the `proofValue`.

JSON-LD -> RDF and RDFC-1.0 are pyoxigraph's (Oxigraph's native JSON-LD parser and
canonicalizer). pyoxigraph never loads documents: every context URL is replaced by its vendored
copy before parsing (`loader.inline_contexts`), so no context is ever fetched, and unknown
contexts are refused. Signing and verifying parse the document and its proof configuration
together (one context processing, the dominant cost) and split the quads after; the check for
undefined terms rides on the same parse (see `_SENTINEL_VOCAB`). The result equals pyld's
URDNA2015 N-Quads (tests/awards/ob/test_canonical_parity.py).

An OB 3.0 credential's achievement (its criteria, alignments and rubric: most of its typed
nodes) is the same in every award of a credential version, and it is a node of its own (an IRI
`id`; no scoped context reaches into it from the subject): when signing, its quads are parsed
once and kept (`_achievement_quads`), and each signature parses the award's own nodes with a
link to it (verifying parses the whole document: what it reads is not ours to keep). The
canonical form is computed over both together, so it is exactly the whole document's.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import base58
import pyoxigraph as ox
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

from portfolio.awards.ob.common import format_datetime
from portfolio.awards.ob.keys import public_key_from_multibase
from portfolio.awards.ob.loader import (
    DocumentLoader,
    collect_strings,
    context_for_terms,
    inline_contexts,
)

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"

#: Undefined terms. JSON-LD expansion silently drops a property or type its contexts do not
#: define, and a node or link whose id is a relative IRI (there is no base IRI). For the check,
#: each `@context` of the document gets a last entry with this `@vocab` (unless the document
#: sets a `@vocab` of its own, which defines every term) and parsing uses `_SENTINEL_BASE` as
#: base IRI: whatever would have been dropped turns into an IRI under one of the two, and
#: anything else expands exactly as without them.
_SENTINEL_VOCAB = "urn:x-portfolio-undefined-term:"
_SENTINEL_BASE = "https://relative-iri.invalid/"
_SENTINEL_CONTEXT = {"@vocab": _SENTINEL_VOCAB}

KeyResolver = Callable[[str], Ed25519PublicKey | None]


class UndefinedTermError(ValueError):
    """Raised when a document uses a property or type that its contexts do not define.

    JSON-LD expansion silently drops such terms, so they would not be covered by the signature;
    strict verifiers (for example Digital Bazaar's, in safe mode) reject them outright.
    """


class CanonicalizationError(ValueError):
    """Raised when a document is not valid JSON-LD (pyoxigraph refuses to parse it)."""


@dataclass(frozen=True)
class VerificationReport:
    """Outcome of `verify_credential`: `valid` only when `reasons` is empty."""

    valid: bool
    reasons: tuple[str, ...]
    verification_method: str | None = None
    issuer: str | None = None


def _with_sentinel(context: Any) -> Any:
    entries = context if isinstance(context, list) else [context]
    if any(isinstance(c, Mapping) and "@vocab" in c for c in entries):
        return context
    return [*entries, _SENTINEL_CONTEXT]


def _mark_contexts(value: Any) -> Any:
    """A copy of an inlined document with the sentinel `@vocab` after each `@context`."""
    if isinstance(value, Mapping):
        return {
            k: (_with_sentinel(v) if k == "@context" and v is not None else _mark_contexts(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mark_contexts(v) for v in value]
    return value


def _parse_text(text: str, *, check: bool) -> list[ox.Quad]:
    try:
        quads = list(
            ox.parse(text, ox.RdfFormat.JSON_LD, base_iri=_SENTINEL_BASE if check else None)
        )
    except SyntaxError as exc:
        raise CanonicalizationError(str(exc.msg if hasattr(exc, "msg") else exc)) from exc
    if check and _mentions_sentinel(quads):
        dropped = sum(1 for q in quads if _is_sentinel(q))
        if dropped:
            raise UndefinedTermError(
                f"{dropped} value(s) use terms the document's @context does not define"
            )
    return quads


def _jsonld_text(
    context: Any, nodes: list[Mapping[str, Any]], loader: DocumentLoader | None, *, check: bool
) -> str:
    """The JSON-LD text pyoxigraph parses: `nodes` (without `@context`) under `context`, every
    context inlined (and, with `check`, followed by the sentinel `@vocab`).

    The usual case (vendored context URLs, no `@context` deeper in the nodes) takes the cached
    context cut to the terms the nodes can use (`loader.context_for_terms`): Oxigraph copies
    the active context at each typed node, so its size is what signing costs."""
    body = ",".join(json.dumps(node, ensure_ascii=False) for node in nodes)
    urls = (context,) if isinstance(context, str) else context
    if (
        loader is None
        and isinstance(urls, list | tuple)
        and urls
        and all(isinstance(u, str) for u in urls)
        and '"@context"' not in body
    ):
        used: set[str] = set()
        for node in nodes:
            collect_strings(node, used)
        ctx_text = context_for_terms(
            tuple(urls), frozenset(used), _SENTINEL_VOCAB if check else None
        )
    else:
        inlined = inline_contexts({"@context": context, "@graph": list(nodes)}, loader)
        if check:
            inlined = _mark_contexts(inlined)
        ctx_text = json.dumps(inlined["@context"], ensure_ascii=False)
        body = ",".join(json.dumps(n, ensure_ascii=False) for n in inlined["@graph"])
    if len(nodes) == 1:
        rest = body[1:].lstrip()
        return '{"@context":' + ctx_text + ("" if rest.startswith("}") else ",") + rest
    return '{"@context":' + ctx_text + ',"@graph":[' + body + "]}"


def _mentions_sentinel(quads: list[ox.Quad]) -> bool:
    """A quick look at the N-Quads text (an IRI under a sentinel, or a literal quoting one)."""
    text = (ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"").decode("utf-8")
    return "<" + _SENTINEL_VOCAB in text or "<" + _SENTINEL_BASE in text


def _is_sentinel(quad: ox.Quad) -> bool:
    for term in (quad.subject, quad.predicate, quad.object, quad.graph_name):
        if isinstance(term, ox.Literal):
            term = term.datatype
        if isinstance(term, ox.NamedNode) and term.value.startswith(
            (_SENTINEL_VOCAB, _SENTINEL_BASE)
        ):
            return True
    return False


def _canonical_nquads(quads: Iterable[ox.Quad]) -> str:
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    # Canonical N-Quads: one statement a line, lines in code point order.
    text = (ox.serialize(dataset, format=ox.RdfFormat.N_QUADS) or b"").decode("utf-8")
    return "".join(sorted(line + "\n" for line in text.splitlines() if line))


#: Achievements whose quads are kept (per process): a worker signs for a few credential
#: versions at a time.
ACHIEVEMENT_CACHE_SIZE = 256


@functools.lru_cache(maxsize=ACHIEVEMENT_CACHE_SIZE)
def _achievement_quads(context_json: str, achievement_json: str, check: bool) -> tuple[Any, ...]:
    text = _jsonld_text(json.loads(context_json), [json.loads(achievement_json)], None, check=check)
    return tuple(_parse_text(text, check=check))


def _detach_achievement(
    context: Any, unsecured: dict[str, Any], loader: DocumentLoader | None, *, check: bool
) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """When signing: `unsecured` with its subject's achievement replaced by a link to it, and
    the achievement's quads (kept). Otherwise, or when the achievement is not a node of its own
    with an absolute IRI, or contexts come from a custom loader: `unsecured` and no quads."""
    subject = unsecured.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    ident = achievement.get("id") if isinstance(achievement, Mapping) else None
    if (
        loader is not None
        or not check  # only signing (our own documents) keeps achievements, never a verification
        or not isinstance(subject, Mapping)
        or not isinstance(achievement, Mapping)
        or not isinstance(ident, str)
        or ":" not in ident
        or "@context" in json.dumps(achievement)
    ):
        return unsecured, ()
    quads = _achievement_quads(
        json.dumps(context), json.dumps(achievement, ensure_ascii=False), check
    )
    linked = {**subject, "achievement": {"id": ident}}
    return {**unsecured, "credentialSubject": linked}, quads


def _split(document: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    return document.get("@context"), {k: v for k, v in document.items() if k != "@context"}


def canonicalize(document: Mapping[str, Any], loader: DocumentLoader | None = None) -> str:
    """Canonicalize a JSON-LD document with RDFC-1.0 into N-Quads, using only local contexts.

    No base IRI: relative IRIs stay relative and are dropped, as other implementations do.
    """
    context, node = _split(document)
    return _canonical_nquads(
        _parse_text(_jsonld_text(context, [node], loader, check=False), check=False)
    )


def check_defined_terms(document: Mapping[str, Any], loader: DocumentLoader | None = None) -> None:
    """Raise `UndefinedTermError` if JSON-LD expansion would drop any value of `document`: a
    property or type its contexts do not define, or a relative IRI."""
    context, node = _split(document)
    _parse_text(_jsonld_text(context, [node], loader, check=True), check=True)


def _hash_data(
    document: Mapping[str, Any],
    proof_config: Mapping[str, Any],
    loader: DocumentLoader | None,
    *,
    check: bool = False,
) -> bytes:
    """hashData, with the document and the proof configuration in one parse: both share the
    document's `@context`, processed once, under a top-level `@graph` (which puts its nodes in
    the default graph, as each would be alone). The configuration node gets a fresh blank node
    label, so its quads are told apart; canonicalization relabels blank nodes anyway."""
    context, unsecured = _split({k: v for k, v in document.items() if k != "proof"})
    config = {k: v for k, v in proof_config.items() if k not in ("proofValue", "@context")}
    own_context = proof_config.get("@context", context)
    if "@id" in config or "id" in config or own_context != context or "@graph" in unsecured:
        # Not the usual shape: canonicalize each on its own.
        if check:
            check_defined_terms({"@context": context, **unsecured}, loader)
        config_nquads = canonicalize({"@context": own_context, **config}, loader)
        document_nquads = canonicalize({"@context": context, **unsecured}, loader)
    else:
        label = "c" + uuid.uuid4().hex
        own, kept = _detach_achievement(context, unsecured, loader, check=check)
        text = _jsonld_text(context, [own, {"@id": "_:" + label, **config}], loader, check=check)
        quads = _parse_text(text, check=check)
        node = ox.BlankNode(label)
        config_nquads = _canonical_nquads(q for q in quads if q.subject == node)
        document_nquads = _canonical_nquads([*(q for q in quads if q.subject != node), *kept])
    config_hash = hashlib.sha256(config_nquads.encode("utf-8")).digest()
    document_hash = hashlib.sha256(document_nquads.encode("utf-8")).digest()
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
    # A shallow copy: nothing below mutates the nested values.
    unsecured = dict(credential)
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_datetime(created or datetime.now(UTC)),
        "verificationMethod": verification_method,
        "proofPurpose": PROOF_PURPOSE,
    }
    # Refuses undefined terms in the same parse that computes hashData.
    signature = private_key.sign(_hash_data(unsecured, proof, loader, check=True))
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
        public_key.verify(signature, _hash_data(document, proof, loader, check=True))
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
