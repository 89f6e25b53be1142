"""How the public pages and hosted documents answer: content negotiation (a page, the
JSON-LD document or the Verifiable Credential), and documents anyone may fetch: CORS-open,
cached for `MAX_AGE` seconds with an ETag, or "being signed" (404 with `Retry-After`)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from werkzeug.wrappers import Response as BaseResponse

from portfolio.awards import documents
from portfolio.storage.s3 import content_disposition
from portfolio.verify import pages

#: Short enough that a revocation reaches every cache within a minute.
MAX_AGE = pages.MAX_AGE
JSONLD = "application/ld+json"
#: Media types of a W3C Verifiable Credential (VC 2.0 `application/vc`, and the older form).
VC_TYPES = ("application/vc+ld+json", "application/vc")


def wants_vc() -> bool:
    """Whether the client asks for the Verifiable Credential (a wallet given the share link)."""
    best = request.accept_mimetypes.best_match(["text/html", JSONLD, "application/json", *VC_TYPES])
    return best in VC_TYPES


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", JSONLD, "application/json"])
    return best in (JSONLD, "application/json")


#: Seconds a client should wait before asking again for the documents of a badge being signed.
SIGNING_RETRY_AFTER = 2


def being_signed_response() -> BaseResponse:
    """The documents of a badge being signed do not exist yet: 404 (nothing to serve, which
    validators read as "not there", never as a bad badge) with `Retry-After`, never cached."""
    response = Response(
        json.dumps(
            {
                "error": "being signed",
                "message": "This badge is being signed — it will appear in a moment.",
            }
        ),
        status=404,
        mimetype="application/json",
    )
    response.headers["Retry-After"] = str(SIGNING_RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    return response


def hosted_document(
    body: str | dict[str, Any] | None,
    *,
    status: int = 200,
    etag: str | None = None,
    mimetype: str = JSONLD,
    attachment: str | None = None,
) -> BaseResponse:
    if body is None:
        return being_signed_response()
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, indent=2)
    response = Response(text, status=status, mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    # Hosted documents are meant to be read by validators and wallets on other sites.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    if attachment:
        # Names may hold any character: an ASCII fallback plus the RFC 6266 UTF-8 form.
        response.headers["Content-Disposition"] = content_disposition(attachment, inline=False)
    response.set_etag(etag or documents.sha256_hex(text))
    return response.make_conditional(request)
