"""Verifying badges: re-checking an award's stored credential, and reports on what a visitor
hands in (a badge URL of this service, a baked PNG/SVG, a credential or assertion JSON). Nothing
is fetched from other hosts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from portfolio.awards.models import Award
from portfolio.awards.ob import bake, proof
from portfolio.awards.signing_keys import key_resolver_for
from portfolio.core.db import utcnow
from portfolio.core.errors import DomainError
from portfolio.core.ids import PUBLIC_ID_RE
from portfolio.core.images import check_png
from portfolio.core.urls import public_url
from portfolio.extensions import db


@dataclass
class Check:
    """One line of a verification report."""

    name: str
    ok: bool
    detail: str = ""


@dataclass
class VerificationResult:
    """What the verification endpoint answers: a verdict and the checks behind it."""

    status: str  # valid | expired | revoked | invalid | unknown | pending (being signed)
    checks: list[Check] = field(default_factory=list)
    award: Award | None = None
    format: str = ""

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    def as_dict(self) -> dict[str, Any]:
        award = self.award
        badge: dict[str, Any] | None = None
        if award is not None:
            badge = {
                "url": public_url("verify.badge", aid=award.public_id),
                "credential": award.credential.name,
                "issuer": award.organization.name,
                "recipient": award.recipient_display_name,
                "issuedOn": award.issued_at.isoformat(),
                "expires": award.expires_at.isoformat() if award.expires_at else None,
                "revoked": award.is_revoked,
                "revocationReason": award.revocation_reason,
            }
        return {
            "valid": self.valid,
            "status": self.status,
            "format": self.format,
            "checks": [c.__dict__ for c in self.checks],
            "badge": badge,
        }


def _status_checks(award: Award, result: VerificationResult) -> None:
    now = utcnow()
    if award.is_revoked:
        result.checks.append(
            Check(
                "status",
                False,
                f"Revoked on {award.revoked_at:%d %B %Y}: "  # type: ignore[str-format]
                f"{award.revocation_reason}",
            )
        )
        result.status = "revoked"
    elif award.is_expired(now):
        result.checks.append(Check("expiry", False, f"Expired on {award.expires_at:%d %B %Y}."))  # type: ignore[str-format]
        result.status = "expired"
    else:
        result.checks.append(Check("status", True, "Not revoked, not expired."))


def verify_award(award: Award) -> VerificationResult:
    """Re-check the stored OB 3.0 credential's signature and the award's status."""
    if award.ob3_credential is None:
        return _pending(award, "award")
    return _verify_ob3(json.loads(award.ob3_credential), "award")


def _pending(award: Award, fmt: str) -> VerificationResult:
    """The verdict on a badge being signed: pending (not invalid), with its status so far."""
    result = VerificationResult("pending", format=fmt, award=award)
    result.checks.append(
        Check("signature", False, "This badge is being signed — it will appear in a moment.")
    )
    return result


def _award_for_url(url: str) -> Award | None:
    """Our award named by a URL of this service (never fetched: no outside requests)."""
    base = current_app.config["PORTFOLIO"].public_base_url.rstrip("/")
    parts, ours = urlsplit(url.strip()), urlsplit(base)
    if (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2 or segments[0] != "badges" or not PUBLIC_ID_RE.match(segments[1]):
        return None
    return db.session.scalar(select(Award).where(Award.public_id == segments[1]))


def _is_wallet_copy(document: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """Whether `document` is `stored` with only `credentialSubject.id` (a DID) added and its
    own proof: what "Add to wallet" hands out."""
    subject = document.get("credentialSubject")
    if not isinstance(subject, Mapping) or not str(subject.get("id", "")).startswith("did:"):
        return False
    rest = {k: v for k, v in subject.items() if k != "id"}
    mine = {k: v for k, v in document.items() if k not in ("proof", "credentialSubject")}
    theirs = {k: v for k, v in stored.items() if k not in ("proof", "credentialSubject")}
    return mine == theirs and rest == stored.get("credentialSubject")


def _verify_ob3(document: Mapping[str, Any], fmt: str) -> VerificationResult:
    result = VerificationResult("invalid", format=fmt or "ob3")
    award = _award_for_url(str(document.get("id", "")))
    if award is None:
        result.status = "unknown"
        result.checks.append(
            Check("issuer", False, "This credential was not issued by this service.")
        )
        return result
    result.award = award
    # Our own award: the credential we signed and stored is the reference. A copy that differs
    # in any way is not ours, whoever's key signed it (this also keeps untrusted documents away
    # from RDF canonicalization, whose cost can explode on crafted input).
    if award.ob3_credential is None:
        return _pending(award, fmt or "ob3")
    stored = json.loads(award.ob3_credential)
    if dict(document) != stored and _is_wallet_copy(document, stored):
        # A copy issued to a wallet: the same credential bound to the wallet's DID, signed
        # afresh by our key. Its own signature is what is checked.
        stored = dict(document)
    if dict(document) != stored:
        result.checks.append(
            Check(
                "integrity",
                False,
                "This credential differs from the one this service issued: it has been altered.",
            )
        )
        return result
    report = proof.verify_credential(stored, key_resolver_for(award.organization))
    if report.valid:
        result.checks.append(
            Check(
                "signature",
                True,
                f"Signed by {award.organization.name} ({report.verification_method}).",
            )
        )
    else:
        result.checks.append(Check("signature", False, "; ".join(report.reasons)))
        return result
    result.status = "valid"
    _status_checks(award, result)
    return result


def _verify_ob2(document: Mapping[str, Any]) -> VerificationResult:
    result = VerificationResult("invalid", format="ob2")
    award = _award_for_url(str(document.get("id", "")))
    if award is None:
        result.status = "unknown"
        result.checks.append(
            Check("issuer", False, "This assertion is not hosted by this service.")
        )
        return result
    result.award = award
    if award.ob2_assertion is None:
        return _pending(award, "ob2")
    hosted = json.loads(award.ob2_assertion)
    # Hosted verification: the copy we host is authoritative; a different copy is not ours.
    if {k: v for k, v in document.items() if k not in ("revoked", "revocationReason")} != hosted:
        if award.is_revoked and document.get("revoked"):
            result.checks.append(Check("hosted", True, "Matches the revoked hosted assertion."))
        else:
            result.checks.append(
                Check("hosted", False, "The assertion differs from the one hosted here.")
            )
            return result
    else:
        result.checks.append(Check("hosted", True, "Matches the assertion hosted here."))
    result.status = "valid"
    _status_checks(award, result)
    return result


def verify_input(
    *, url: str | None = None, data: bytes | None = None, filename: str = ""
) -> VerificationResult:
    """Verify a badge URL of this service, a baked PNG/SVG or a credential/assertion JSON.
    Nothing is fetched from other hosts (a URL of another site is reported, not requested)."""
    if url:
        award = _award_for_url(url)
        if award is None:
            return VerificationResult(
                "unknown",
                [
                    Check(
                        "url",
                        False,
                        "Only badge URLs of this service can be checked here; this "
                        "service never fetches other addresses. "
                        "Upload the badge image or JSON instead.",
                    )
                ],
            )
        if award.ob3_credential is None:
            return _pending(award, "url")
        return _verify_ob3(json.loads(award.ob3_credential), "url")
    if not data:
        raise DomainError("Give a badge URL, or upload a baked badge image or credential JSON.")
    payload: str | None = None
    fmt = ""
    try:
        if data.startswith(bake.PNG_SIGNATURE):
            # Only chunks are read, never pixels; the budget still refuses a bomb plainly.
            check_png(data, what="That image")
            baked = bake.extract_png(data)
            fmt = "png"
        elif data.lstrip()[:1] in (b"<",):
            baked = bake.extract_svg(data)
            fmt = "svg"
        else:
            baked = None
            payload = data.decode("utf-8")
            fmt = "json"
    except (bake.BakingError, UnicodeDecodeError) as exc:
        raise DomainError(f"That file is not a badge image or JSON document ({exc}).") from exc
    if fmt in ("png", "svg"):
        if baked is None:
            raise DomainError("No badge is baked into that image.")
        payload = baked.payload
    assert payload is not None
    if not payload.lstrip().startswith("{"):
        if fmt in ("png", "svg") or payload.strip().startswith(("http://", "https://")):
            return verify_input(url=payload.strip())  # a baked 2.0 badge may hold its URL
        raise DomainError("That is not valid JSON.")
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise DomainError("That is not valid JSON.") from exc
    if not isinstance(document, dict):
        raise DomainError("That JSON is not a badge document.")
    types = document.get("type")
    types = types if isinstance(types, list) else [types]
    if "VerifiableCredential" in types or "OpenBadgeCredential" in types:
        result = _verify_ob3(document, fmt)
    elif "Assertion" in types:
        result = _verify_ob2(document)
    else:
        raise DomainError("That JSON is neither an Open Badges assertion nor a credential.")
    result.format = f"{fmt}:{result.format}" if fmt else result.format
    return result
