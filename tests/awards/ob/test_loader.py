"""The JSON-LD document loader serves vendored contexts and refuses everything else."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from pyld import jsonld

from portfolio.awards.ob import common, proof
from portfolio.awards.ob.loader import (
    KNOWN_CONTEXTS,
    DocumentNotAllowedError,
    document_loader,
    jsonld_options,
    make_document_loader,
)

REQUIRED_URLS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://w3id.org/openbadges/v2",
    "https://www.w3.org/ns/credentials/undefined-terms/v2",
    "https://w3id.org/security/data-integrity/v2",
    "https://w3id.org/security/multikey/v1",
    "https://www.w3.org/ns/did/v1",
    "https://www.w3.org/2018/credentials/v1",
]


@pytest.mark.parametrize("url", REQUIRED_URLS)
def test_known_contexts_are_served_locally(url: str) -> None:
    remote = document_loader(url)
    assert remote["documentUrl"] == url
    assert "@context" in remote["document"]


def test_every_vendored_file_is_a_context() -> None:
    for url in KNOWN_CONTEXTS:
        assert "@context" in document_loader(url)["document"], url


def test_served_documents_are_copies() -> None:
    first = document_loader(common.OB2_CONTEXT)["document"]
    first["@context"]["id"] = "tampered"
    assert document_loader(common.OB2_CONTEXT)["document"]["@context"]["id"] == "@id"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/context.json",
        "http://www.w3.org/ns/credentials/v2",  # not the https URL
        "https://www.w3.org/ns/credentials/v2/",
        "file:///etc/passwd",
    ],
)
def test_unknown_urls_are_refused(url: str) -> None:
    with pytest.raises(DocumentNotAllowedError, match="Refusing to load"):
        document_loader(url)


def test_expansion_with_an_unknown_context_fails_without_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[Any] = []

    def no_network(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    doc = {"@context": "https://attacker.example/ctx.jsonld", "name": "x"}
    with pytest.raises(jsonld.JsonLdError) as excinfo:
        jsonld.expand(doc, jsonld_options())
    causes = []
    error: BaseException | None = excinfo.value
    while error is not None:
        causes.append(error)
        error = error.__cause__
    assert any(isinstance(c, DocumentNotAllowedError) for c in causes)
    assert attempts == []


def test_sign_and_verify_never_touch_the_network(
    monkeypatch: pytest.MonkeyPatch,
    unsigned_credential: dict[str, Any],
    signing_key: Any,
    verification_method: str,
    did_document: dict[str, Any],
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    signed = proof.sign_credential(unsigned_credential, signing_key, verification_method)
    report = proof.verify_credential(signed, proof.key_resolver([did_document]))
    assert report.valid, report.reasons


def test_extra_documents_cannot_override_contexts() -> None:
    loader = make_document_loader(
        {
            common.OB2_CONTEXT: {"@context": {"evil": "https://evil.example/"}},
            "did:web:example.org": {"id": "did:web:example.org"},
        }
    )
    assert "evil" not in loader(common.OB2_CONTEXT)["document"]["@context"]
    assert loader("did:web:example.org")["document"] == {"id": "did:web:example.org"}
    with pytest.raises(DocumentNotAllowedError):
        loader("did:web:other.example")
