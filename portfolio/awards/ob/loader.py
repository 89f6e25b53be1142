"""A JSON-LD document loader for pyld that answers only from local copies.

Signing and verifying must never depend on the network: a context fetched at signing time could
differ from the one fetched at verification time, and a remote fetch is a tracking and
availability hazard. The known contexts are vendored in `contexts/` (public standard documents);
any other URL is refused with `DocumentNotAllowedError`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from pyld.jsonld import JsonLdError

from portfolio.awards.ob import common

#: Context URL -> file name in `portfolio/awards/ob/contexts/`.
KNOWN_CONTEXTS: Mapping[str, str] = {
    common.CREDENTIALS_V2_CONTEXT: "credentials-v2.jsonld",
    "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld",
    common.UNDEFINED_TERMS_CONTEXT: "credentials-undefined-terms-v2.jsonld",
    common.DATA_INTEGRITY_V2_CONTEXT: "data-integrity-v2.jsonld",
    common.MULTIKEY_V1_CONTEXT: "multikey-v1.jsonld",
    common.DID_V1_CONTEXT: "did-v1.jsonld",
    common.OB3_CONTEXT: "ob-v3p0-context-3.0.3.json",
    common.OB3_EXTENSIONS_CONTEXT: "ob-v3p0-extensions.json",
    common.CLR2_CONTEXT: "clr-v2p0-context-2.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context.json": "ob-v3p0-context.json",
    common.OB2_CONTEXT: "openbadges-v2-context.json",
    "https://w3id.org/openbadges/v1": "openbadges-v1-context.json",
    "https://w3id.org/openbadges/legacy-v1": "openbadges-legacy-v1-context.json",
}

RemoteDocument = dict[str, Any]
DocumentLoader = Callable[..., RemoteDocument]


class DocumentNotAllowedError(JsonLdError):  # type: ignore[misc]
    """Raised for a URL the loader does not serve from a local copy."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"Refusing to load {url!r}: only vendored JSON-LD contexts are served, "
            "documents are never fetched from the network.",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
        self.url = url


@cache
def _read_context(filename: str) -> str:
    return (resources.files("portfolio.awards.ob") / "contexts" / filename).read_text("utf-8")


def load_context(url: str) -> dict[str, Any]:
    """Return a fresh copy of the vendored JSON-LD document for a known context URL.

    Raises `DocumentNotAllowedError` for any other URL.
    """
    filename = KNOWN_CONTEXTS.get(url)
    if filename is None:
        raise DocumentNotAllowedError(url)
    data: dict[str, Any] = json.loads(_read_context(filename))
    return data


def _remote(url: str, document: Mapping[str, Any]) -> RemoteDocument:
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(dict(document)),
    }


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> RemoteDocument:
    """pyld document loader: answer known context URLs from local copies, refuse all others."""
    return _remote(url, load_context(url))


def make_document_loader(extra: Mapping[str, Mapping[str, Any]] | None = None) -> DocumentLoader:
    """Return a loader that also serves the given documents (URL -> JSON), e.g. a DID document.

    Known context URLs always come from the vendored copies and cannot be overridden.
    """
    documents = {url: copy.deepcopy(dict(doc)) for url, doc in (extra or {}).items()}

    def loader(url: str, options: Mapping[str, Any] | None = None) -> RemoteDocument:
        if url in KNOWN_CONTEXTS:
            return document_loader(url, options)
        if url in documents:
            return _remote(url, documents[url])
        raise DocumentNotAllowedError(url)

    return loader


def jsonld_options(loader: DocumentLoader | None = None, **options: Any) -> dict[str, Any]:
    """pyld options with our loader set explicitly, so no call can fall back to the network."""
    return {"documentLoader": loader or document_loader, **options}
