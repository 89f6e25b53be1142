"""W3C Bitstring Status List encoding: what verifiers decode is what we set."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime

import pytest

from portfolio.awards.ob import proof, status_list
from portfolio.awards.ob.loader import document_loader


def test_encoded_list_is_multibase_base64url_gzip_of_the_bits() -> None:
    encoded = status_list.encode_list([0, 9, 131_071])
    assert encoded.startswith("u") and "=" not in encoded and "+" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) == 16_384  # 131,072 bits
    # Bit 0 is the most significant bit of the first byte.
    assert raw[0] == 0x80 and raw[1] == 0x40 and raw[-1] == 0x01
    assert sum(bin(b).count("1") for b in raw) == 3
    bits = status_list.decode_list(encoded)
    assert [i for i in (0, 1, 8, 9, 131_071) if status_list.is_set(bits, i)] == [0, 9, 131_071]


def test_lists_are_at_least_the_minimum_size_and_indexes_inside() -> None:
    with pytest.raises(ValueError):
        status_list.encode_list([], size=1024)
    with pytest.raises(ValueError):
        status_list.encode_list([131_072])


def test_same_bits_same_bytes() -> None:
    assert status_list.encode_list([5, 7]) == status_list.encode_list([7, 5])


def test_random_index_avoids_used_bits_and_gives_up_when_full() -> None:
    used = set(range(0, status_list.MIN_SIZE, 2))
    for _ in range(50):
        assert status_list.random_index(used.__contains__) % 2 == 1
    with pytest.raises(LookupError):
        status_list.random_index(lambda _: True)
    # Random, not sequential: 20 draws from 131,072 are not all the same.
    assert len({status_list.random_index(lambda _: False) for _ in range(20)}) > 1


def test_status_list_credential_uses_only_defined_terms() -> None:
    url = "https://badges.example.org/issuers/acme/status/l1"
    document = status_list.status_list_credential(
        url,
        "did:web:badges.example.org",
        status_list.encode_list([3]),
        datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert document["credentialSubject"]["statusPurpose"] == "revocation"
    proof.check_defined_terms(document, document_loader)
    entry = status_list.status_entry(url, 42)
    assert entry == {
        "id": f"{url}#42",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "42",
        "statusListCredential": url,
    }
