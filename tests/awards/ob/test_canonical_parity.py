"""Canonical N-Quads from pyoxigraph (what signing uses) equal pyld's URDNA2015 ones (what
signing used before, and what Digital Bazaar's jsonld.js gives), on the credentials issuance
produces: with and without evidence, results and alignments, and with awkward text."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld

from portfolio.awards.ob import ob2, ob3, proof, status_list
from portfolio.awards.ob.loader import document_loader
from portfolio.awards.ob.types import AchievementInfo, AwardInfo, EvidenceEntry, IssuerInfo

from .test_ob3 import variants

DATA = Path(__file__).parent / "data"


def pyld_nquads(document: dict[str, Any]) -> str:
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": document_loader,
        "base": None,
    }
    result: str = jsonld.normalize(copy.deepcopy(document), options)
    return result


def documents(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo
) -> list[dict[str, Any]]:
    awkward = dataclasses.replace(
        award,
        evidence=(
            *award.evidence,
            EvidenceEntry(
                url="https://badges.example.org/evidence/odd",
                name='Quotes " and \\ backslash, tab\there',
                narrative="Line one\nline two\r\n«Ünïcødé» 溶接 🔥",
                genre="Document",
            ),
        ),
    )
    found = [
        *variants(award, achievement, issuer),
        ob3.credential(awkward, achievement, issuer),
        json.loads((DATA / "ob3_credential_unsigned.json").read_text()),
        ob2.assertion(award, achievement),
        ob2.badge_class(achievement, issuer),
        status_list.status_list_credential(
            "https://badges.example.org/status/1",
            "did:web:badges.example.org",
            status_list.encode_list([3, 9]),
            award.issued,
        ),
    ]
    return found


def test_pyoxigraph_gives_pyld_s_canonical_nquads(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo
) -> None:
    docs = documents(award, achievement, issuer)
    assert any(d.get("evidence") for d in docs) and any(
        d["credentialSubject"].get("result") for d in docs if "credentialSubject" in d
    )
    for document in docs:
        ours = proof.canonicalize(document)
        assert ours == pyld_nquads(document)
        assert ours.count("\n") > 5


def test_hash_data_in_one_parse_equals_each_canonicalized_alone(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo
) -> None:
    import hashlib

    config = {
        "type": proof.PROOF_TYPE,
        "cryptosuite": proof.CRYPTOSUITE,
        "created": "2025-01-01T00:00:00Z",
        "verificationMethod": "did:web:badges.example.org#z6Mk",
        "proofPurpose": proof.PROOF_PURPOSE,
    }
    for document in documents(award, achievement, issuer):
        alone = (
            hashlib.sha256(
                pyld_nquads({"@context": document["@context"], **config}).encode()
            ).digest()
            + hashlib.sha256(pyld_nquads(document).encode()).digest()
        )
        assert proof.hash_data(document, config) == alone


@pytest.mark.parametrize(
    "change",
    [
        {"creditHours": 3},  # a property no context defines
        {"type": ["VerifiableCredential", "NoSuchType"]},  # an undefined type
        {"id": "relative/badge"},  # a relative IRI
    ],
)
def test_undefined_terms_are_still_refused(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo, change: dict[str, Any]
) -> None:
    document = {**ob3.credential(award, achievement, issuer), **change}
    with pytest.raises(proof.UndefinedTermError):
        proof.check_defined_terms(document)


def test_an_undefined_term_deep_inside_is_refused(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo
) -> None:
    document = ob3.credential(award, achievement, issuer)
    document["credentialSubject"]["achievement"]["alignment"][0]["shoeSize"] = 44
    with pytest.raises(proof.UndefinedTermError):
        proof.check_defined_terms(document)


def test_signing_with_the_kept_achievement_hashes_the_whole_document(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo
) -> None:
    """Signing parses an achievement once and keeps its quads; the hashData it signs is still
    that of the whole document and configuration, as pyld canonicalizes them, on the first
    signature and on later ones (kept), and for a changed achievement."""
    import hashlib

    config = {
        "type": proof.PROOF_TYPE,
        "cryptosuite": proof.CRYPTOSUITE,
        "created": "2025-01-01T00:00:00Z",
        "verificationMethod": "did:web:badges.example.org#z6Mk",
        "proofPurpose": proof.PROOF_PURPOSE,
    }
    changed = ob3.credential(award, achievement, issuer)
    changed["credentialSubject"]["achievement"]["name"] = "Another name"
    credentials = [d for d in documents(award, achievement, issuer) if "credentialSubject" in d]
    proof._achievement_quads.cache_clear()
    for document in [*credentials, *credentials, changed]:
        alone = (
            hashlib.sha256(
                pyld_nquads({"@context": document["@context"], **config}).encode()
            ).digest()
            + hashlib.sha256(pyld_nquads(document).encode()).digest()
        )
        assert proof._hash_data(document, config, None, check=True) == alone
    kept = proof._achievement_quads.cache_info()
    assert kept.hits >= len(credentials) and kept.misses >= 2


def test_signing_refuses_an_undefined_term_inside_the_achievement(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    good = ob3.credential(award, achievement, issuer)
    proof.sign_credential(good, key, "did:web:badges.example.org#z6Mk")  # its achievement kept
    bad = copy.deepcopy(good)
    bad["credentialSubject"]["achievement"]["alignment"][0]["shoeSize"] = 44
    with pytest.raises(proof.UndefinedTermError):
        proof.sign_credential(bad, key, "did:web:badges.example.org#z6Mk")
