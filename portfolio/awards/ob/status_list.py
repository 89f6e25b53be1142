"""W3C Bitstring Status List v1.0: the `BitstringStatusListEntry` of a credential and the
`BitstringStatusListCredential` that publishes the bits, unsigned (sign with
`portfolio.awards.ob.proof.sign_credential`).

A list is a bitstring of `size` bits, one per credential, bit 0 the most significant bit of the
first byte; a set bit means the status (revoked, for `statusPurpose: revocation`) applies.
`encodedList` is the multibase base64url (no padding, prefix "u") of the GZIP of the bitstring.
The specification asks for at least 131,072 entries per list and random index allocation, so
that a list says nothing about how many credentials were issued or in what order.
"""

from __future__ import annotations

import base64
import gzip
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from portfolio.awards.ob.common import CREDENTIALS_V2_CONTEXT, format_datetime

#: Minimum list length of the specification (16 KB before compression).
MIN_SIZE = 131_072
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
REVOCATION = "revocation"


def encode_list(indexes: Iterable[int], size: int = MIN_SIZE) -> str:
    """`encodedList` of a bitstring of `size` bits with the bits at `indexes` set."""
    if size < MIN_SIZE or size % 8:
        raise ValueError(f"a status list has at least {MIN_SIZE} bits, a multiple of 8")
    bits = bytearray(size // 8)
    for index in indexes:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} is outside the list")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same bits always give the same bytes (and the same ETag).
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode_list(encoded: str) -> bytes:
    """The bitstring of an `encodedList` (accepts base64url with or without the "u" prefix)."""
    text = encoded[1:] if encoded.startswith("u") else encoded
    return gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def is_set(bitstring: bytes, index: int) -> bool:
    """Whether the bit at `index` of a decoded list is set."""
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def random_index(is_used: Callable[[int], bool], size: int = MIN_SIZE, attempts: int = 64) -> int:
    """A random free index of a list of `size`. Raises `LookupError` when `attempts` random
    draws all hit used indexes: the list should then be considered full."""
    for _ in range(attempts):
        index = secrets.randbelow(size)
        if not is_used(index):
            return index
    raise LookupError("no free index found in the status list")


def status_entry(list_url: str, index: int, purpose: str = REVOCATION) -> dict[str, Any]:
    """The `credentialStatus` of a credential at `index` of the list credential at `list_url`."""
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(
    list_url: str,
    issuer: str,
    encoded_list: str,
    valid_from: datetime,
    purpose: str = REVOCATION,
) -> dict[str, Any]:
    """The unsigned `BitstringStatusListCredential` served at `list_url`, issued by `issuer`
    (the same issuer id as the credentials it covers: verifiers compare them)."""
    return {
        "@context": [CREDENTIALS_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": format_datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list,
        },
    }
