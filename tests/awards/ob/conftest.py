"""Fixed inputs for the Open Badges document builders: one issuer, one credential with a
two-element rubric, one award with evidence, and a deterministic signing key."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portfolio.awards.ob import keys, ob3, proof, status_list
from portfolio.awards.ob.types import (
    AchievementInfo,
    AlignmentInfo,
    AwardInfo,
    ElementResult,
    EvidenceEntry,
    IssuerInfo,
    RubricElement,
    RubricLevel,
)

BASE = "https://badges.example.org"
ISSUED = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
EXPIRES = datetime(2034, 5, 1, 9, 30, tzinfo=UTC)
SIGNED_AT = datetime(2024, 5, 1, 9, 31, tzinfo=UTC)


def _levels(element: str) -> tuple[RubricLevel, ...]:
    names = (("not-yet", "Not yet", 0), ("meets", "Meets", 2), ("exceeds", "Exceeds", 3))
    return tuple(
        RubricLevel(
            id=f"{BASE}/rubrics/rv1/elements/{element}/levels/{slug}",
            name=name,
            level=slug,
            points=points,
            description=f"{name} the standard for {element}",
        )
        for slug, name, points in names
    )


ELEMENTS = (
    RubricElement(
        id=f"{BASE}/rubrics/rv1/elements/prep",
        name="Joint preparation",
        description="Cleans and bevels the joint to specification.",
        levels=_levels("prep"),
        required_level=f"{BASE}/rubrics/rv1/elements/prep/levels/meets",
    ),
    RubricElement(
        id=f"{BASE}/rubrics/rv1/elements/bead",
        name="Weld bead",
        levels=_levels("bead"),
        required_level=f"{BASE}/rubrics/rv1/elements/bead/levels/meets",
    ),
)


@pytest.fixture
def issuer() -> IssuerInfo:
    return IssuerInfo(
        id=f"{BASE}/issuers/acme",
        name="Acme Fabrication Academy",
        url="https://acme.example.org",
        email="badges@acme.example.org",
        description="Trade skills, assessed on the job.",
        image=f"{BASE}/issuers/acme/image.png",
        did="did:web:badges.example.org:issuers:acme",
    )


@pytest.fixture
def achievement() -> AchievementInfo:
    return AchievementInfo(
        id=f"{BASE}/credentials/mig-fillet",
        name="MIG fillet weld, flat position",
        description="Produces a sound MIG fillet weld on mild steel in the flat position.",
        image=f"{BASE}/credentials/mig-fillet/image.png",
        criteria_url=f"{BASE}/credentials/mig-fillet/criteria",
        criteria_narrative="Every rubric element at **Meets** or above, judged on workplace "
        "evidence by a trained assessor.",
        tags=("welding", "MIG", "fabrication"),
        alignments=(
            AlignmentInfo(
                target_name="Perform fillet welds",
                target_url="https://frameworks.example.org/case/items/FW-3.2",
                target_description="Perform fillet welds using the GMAW process.",
                target_framework="Fabrication Competency Framework",
                target_code="FW-3.2",
                target_type="CFItem",
            ),
        ),
        elements=ELEMENTS,
        achievement_type="Competency",
    )


@pytest.fixture
def award() -> AwardInfo:
    return AwardInfo(
        id=f"{BASE}/assertions/a1b2c3",
        credential_id=f"{BASE}/credentials/awards/a1b2c3",
        recipient_email="Worker@Example.com",
        salt="5f2b8c1e",
        issued=ISSUED,
        expires=EXPIRES,
        image=f"{BASE}/assertions/a1b2c3/image.png",
        narrative="Assessed on three production welds.",
        evidence=(
            EvidenceEntry(
                url=f"{BASE}/evidence/e1",
                name="Photo of the finished joint",
                description="Close-up of the fillet weld, 6 mm leg.",
                genre="Photograph",
                sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            ),
            EvidenceEntry(
                url=f"{BASE}/evidence/e2",
                name="Reflection",
                narrative="I set the wire feed to 7 m/min and kept a 45 degree angle.",
                genre="Reflection",
            ),
        ),
        results=(
            ElementResult(ELEMENTS[0].id, ELEMENTS[0].levels[1].id),
            ElementResult(ELEMENTS[1].id, ELEMENTS[1].levels[2].id),
        ),
        credential_status=status_list.status_entry(f"{BASE}/issuers/acme/status/l1", 94567),
    )


@pytest.fixture
def legacy_signed_credential(
    award: AwardInfo,
    achievement: AchievementInfo,
    issuer: IssuerInfo,
    signing_key: Ed25519PrivateKey,
    verification_method: str,
) -> dict[str, Any]:
    """A credential as issued before status lists: 1EdTech revocation list, extensions context."""
    legacy = dataclasses.replace(
        award, credential_status=None, status_list_url=f"{BASE}/issuers/acme/revocations"
    )
    return proof.sign_credential(
        ob3.credential(legacy, achievement, issuer),
        signing_key,
        verification_method,
        created=SIGNED_AT,
    )


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest.fixture
def verification_method(issuer: IssuerInfo, signing_key: Ed25519PrivateKey) -> str:
    return keys.verification_method_id(issuer.ob3_id, signing_key)


@pytest.fixture
def unsigned_credential(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo
) -> dict[str, Any]:
    return ob3.credential(award, achievement, issuer)


@pytest.fixture
def signed_credential(
    unsigned_credential: dict[str, Any], signing_key: Ed25519PrivateKey, verification_method: str
) -> dict[str, Any]:
    return proof.sign_credential(
        unsigned_credential, signing_key, verification_method, created=SIGNED_AT
    )


@pytest.fixture
def did_document(issuer: IssuerInfo, signing_key: Ed25519PrivateKey) -> dict[str, Any]:
    return keys.did_document(issuer.ob3_id, [signing_key.public_key()])
