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
from functools import cache, lru_cache
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


@cache
def _inlined(url: str) -> Any:
    """The vendored context of `url` as an inline `@context` value (its own context URLs
    inlined too). Shared: callers must not modify it."""
    return _inline_value(load_context(url).get("@context"), None)


def _inline_context(context: Any, loader: DocumentLoader | None) -> Any:
    if isinstance(context, str):
        if loader is None:
            return _inlined(context)
        return _inline_value(loader(context)["document"].get("@context"), loader)
    if isinstance(context, list):
        out: list[Any] = []
        for entry in context:
            inlined = _inline_context(entry, loader)
            out.extend(
                inlined if isinstance(entry, str) and isinstance(inlined, list) else [inlined]
            )
        return out
    return _inline_value(context, loader)


def _inline_value(value: Any, loader: DocumentLoader | None) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "@context":
                out[key] = _inline_context(item, loader)
            else:
                out[key] = _inline_value(item, loader)
        return out
    if isinstance(value, list):
        return [_inline_value(v, loader) for v in value]
    return value


def inline_contexts(document: Mapping[str, Any], loader: DocumentLoader | None = None) -> Any:
    """`document` with every `@context` URL (at any depth) replaced by its local copy, for
    JSON-LD processors that do not load documents (pyoxigraph). Served only from the vendored
    contexts (or `loader`); any other URL raises `DocumentNotAllowedError`."""
    return _inline_value(document, loader)


def collect_strings(value: Any, out: set[str]) -> None:
    """Every key and string value in `value`, and the prefix of each that has a colon: a
    superset of the terms a JSON-LD document can use (as properties, types, `@vocab`-typed
    values or compact IRI prefixes)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            out.add(key)
            collect_strings(item, out)
    elif isinstance(value, list):
        for item in value:
            collect_strings(item, out)
    elif isinstance(value, str):
        out.add(value)
        if ":" in value:
            out.add(value.split(":", 1)[0])


def _all_terms(urls: tuple[str, ...]) -> frozenset[str]:
    return _term_index(urls)[0]


def _term_names(value: Any, out: set[str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not key.startswith("@"):
                out.add(key)
            if isinstance(item, Mapping):
                _term_names(item.get("@context"), out)
    elif isinstance(value, list):
        for item in value:
            _term_names(item, out)


@cache
def _term_index(urls: tuple[str, ...]) -> tuple[frozenset[str], list[Any]]:
    """Every term defined by the contexts `urls` (scoped ones too), and their inlined entries."""
    entries: list[Any] = []
    for url in urls:
        inlined = _inlined(url)
        entries.extend(inlined if isinstance(inlined, list) else [inlined])
    terms: set[str] = set()
    _term_names(entries, terms)
    return frozenset(terms), entries


def _refs(definition: Any) -> set[str]:
    """The strings of a term definition outside its scoped context."""
    found: set[str] = set()
    if isinstance(definition, Mapping):
        collect_strings({k: v for k, v in definition.items() if k != "@context"}, found)
    else:
        collect_strings(definition, found)
    return found


def _prune(context: Mapping[str, Any], used: frozenset[str]) -> tuple[dict[str, Any], set[str]]:
    """`context` with only the terms `used` names and the ones their definitions name (at
    any depth of scoped contexts), and the strings its kept definitions refer to (which may
    name terms of the enclosing context)."""
    keep = {k for k in context if not k.startswith("@") and k in used}
    pending = list(keep)
    kept: dict[str, Any] = {k: v for k, v in context.items() if k.startswith("@")}
    refs: set[str] = set()
    while pending:
        term = pending.pop()
        definition = context[term]
        found = _refs(definition)
        if isinstance(definition, Mapping) and isinstance(definition.get("@context"), Mapping):
            scoped, inner = _prune(definition["@context"], used)
            definition = {**definition, "@context": scoped}
            found |= inner
        kept[term] = definition
        refs |= found
        for name in found:
            if name in context and not name.startswith("@") and name not in keep:
                keep.add(name)
                pending.append(name)
    return kept, refs


@lru_cache(maxsize=256)
def _pruned_context(urls: tuple[str, ...], needed: frozenset[str], sentinel: str | None) -> str:
    _, entries = _term_index(urls)
    wanted = needed
    while True:  # a later context may name terms (prefixes) of an earlier one
        pruned: list[Any] = []
        refs: set[str] = set()
        for entry in entries:
            if isinstance(entry, Mapping):
                kept, found = _prune(entry, wanted)
                pruned.append(kept)
                refs |= found
            else:
                pruned.append(entry)
        if refs <= wanted:
            break
        wanted = wanted | frozenset(refs)
    if sentinel is not None and not any(isinstance(e, Mapping) and "@vocab" in e for e in pruned):
        pruned.append({"@vocab": sentinel})
    return json.dumps(pruned, ensure_ascii=False)


def context_for_terms(urls: tuple[str, ...], used: frozenset[str], sentinel: str | None) -> str:
    """JSON text of the vendored contexts `urls`, inlined, keeping only the term definitions
    that `used` (see `collect_strings`) can reach, and then the `@vocab` `sentinel` if given.

    A term definition that a document never uses cannot change its expansion, so the RDF is the
    same as with the whole contexts; but a smaller active context is much cheaper to process
    (Oxigraph copies it at each typed node). Cached by the set of terms used."""
    return _pruned_context(urls, used & _all_terms(urls), sentinel)


def jsonld_options(loader: DocumentLoader | None = None, **options: Any) -> dict[str, Any]:
    """pyld options with our loader set explicitly, so no call can fall back to the network."""
    return {"documentLoader": loader or document_loader, **options}
