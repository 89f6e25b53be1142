"""Constants and small helpers shared by the Open Badges 2.0 and 3.0 builders."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

OB2_CONTEXT = "https://w3id.org/openbadges/v2"
CREDENTIALS_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB3_EXTENSIONS_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CLR2_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
UNDEFINED_TERMS_CONTEXT = "https://www.w3.org/ns/credentials/undefined-terms/v2"
DID_V1_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1_CONTEXT = "https://w3id.org/security/multikey/v1"
DATA_INTEGRITY_V2_CONTEXT = "https://w3id.org/security/data-integrity/v2"
OB3_SCHEMA_URL = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json-ld/"
    "ob_v3p0_achievementcredential_schema.json"
)


def format_datetime(value: datetime) -> str:
    """Format an aware datetime as an XSD dateTimeStamp in UTC, to the second ("...Z").

    Naive datetimes are refused: Open Badges dates must carry a time zone, and guessing one
    would silently shift issue and expiry dates.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime {value.isoformat()} has no time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hash_email(email: str, salt: str) -> str:
    """Return the Open Badges identity hash of an email: "sha256$" + hex(sha256(email + salt)).

    The email is stripped and lower-cased first so that the hash does not depend on how the
    address was typed.
    """
    normalized = email.strip().lower()
    return "sha256$" + hashlib.sha256((normalized + salt).encode("utf-8")).hexdigest()


def sha256_hex_to_sri(sha256_hex: str) -> str:
    """Convert a hex SHA-256 digest to a Subresource Integrity string ("sha256-<base64>")."""
    raw = bytes.fromhex(sha256_hex)
    if len(raw) != 32:
        raise ValueError("a SHA-256 digest has 32 bytes")
    return "sha256-" + base64.b64encode(raw).decode("ascii")


def drop_none(data: dict[str, object]) -> dict[str, object]:
    """Return `data` without the keys whose value is None or an empty list/tuple."""
    return {k: v for k, v in data.items() if v is not None and v != [] and v != ()}
