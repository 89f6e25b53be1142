"""Open Badges 3.0 credentials: shape, and validity against the vendored 1EdTech JSON schema."""

from __future__ import annotations

import copy
import dataclasses
import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import pytest

from portfolio.awards.ob import ob3, proof
from portfolio.awards.ob.common import OB3_SCHEMA_URL
from portfolio.awards.ob.types import AchievementInfo, AwardInfo, ElementResult, IssuerInfo

from .test_ob2 import assert_golden


@cache
def schema_validator() -> jsonschema.Draft201909Validator:
    text = (
        resources.files("portfolio.awards.ob")
        / "schemas"
        / "ob_v3p0_achievementcredential_schema.json"
    ).read_text("utf-8")
    schema = json.loads(text)
    assert schema["$schema"].startswith("https://json-schema.org/draft/2019-09/")
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(
        schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER
    )


def assert_schema_valid(document: dict[str, Any]) -> None:
    errors = sorted(schema_validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def variants(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo
) -> list[dict[str, Any]]:
    """The credential in the shapes the issuance service can produce."""
    bare_award = dataclasses.replace(
        award,
        expires=None,
        evidence=(),
        results=(),
        image=None,
        status_list_url=None,
        credential_id=None,
    )
    bare_achievement = dataclasses.replace(
        achievement,
        image=None,
        tags=(),
        alignments=(),
        elements=(),
        criteria_url=None,
        achievement_type=None,
    )
    url_issuer = dataclasses.replace(issuer, did=None, image=None, email=None, description=None)
    return [
        ob3.credential(award, achievement, issuer),
        ob3.credential(bare_award, achievement, issuer),
        ob3.credential(award, achievement, url_issuer),
        ob3.credential(bare_award, bare_achievement, url_issuer),
    ]


def test_every_credential_variant_validates(
    award: AwardInfo,
    achievement: AchievementInfo,
    issuer: IssuerInfo,
    signing_key: Any,
) -> None:
    for credential in variants(award, achievement, issuer):
        assert_schema_valid(credential)
        vm = f"{credential['issuer']['id']}#key"
        assert_schema_valid(proof.sign_credential(credential, signing_key, vm))


def test_signed_credential_validates(signed_credential: dict[str, Any]) -> None:
    assert_schema_valid(signed_credential)
    assert isinstance(signed_credential["proof"], list)


def test_schema_catches_a_broken_credential(signed_credential: dict[str, Any]) -> None:
    # Guards against a validator that accepts everything (wrong draft, unresolved refs).
    for breakage in (
        lambda c: c.pop("validFrom"),
        lambda c: c.__setitem__("type", "OpenBadgeCredential"),
        lambda c: c["credentialSubject"]["achievement"].pop("criteria"),
        lambda c: c.__setitem__("validFrom", "1 May 2024"),
        lambda c: c["credentialSubject"]["identifier"][0].__setitem__("identityType", "mail"),
    ):
        broken = copy.deepcopy(signed_credential)
        breakage(broken)
        assert list(schema_validator().iter_errors(broken)), breakage


def test_unsigned_credential_golden(unsigned_credential: dict[str, Any]) -> None:
    assert_golden("ob3_credential_unsigned.json", unsigned_credential)


def test_contexts_and_types(unsigned_credential: dict[str, Any]) -> None:
    # Exactly the two contexts of the specification's examples: allowlisting verifiers refuse
    # anything else (the undefined-terms context in particular).
    assert unsigned_credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert unsigned_credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert unsigned_credential["credentialSchema"] == [{"id": OB3_SCHEMA_URL, "type": "JsonSchema"}]
    assert unsigned_credential["credentialStatus"]["type"] == "BitstringStatusListEntry"
    assert unsigned_credential["awardedDate"] == unsigned_credential["validFrom"]
    assert unsigned_credential["validFrom"] == "2024-05-01T09:30:00Z"
    assert unsigned_credential["validUntil"] == "2034-05-01T09:30:00Z"


def test_legacy_status_brings_the_extensions_context(
    legacy_signed_credential: dict[str, Any],
) -> None:
    assert legacy_signed_credential["@context"][2:] == [
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
    ]
    assert legacy_signed_credential["credentialStatus"]["type"] == "1EdTechRevocationList"
    assert_schema_valid(legacy_signed_credential)


def test_issuer_is_the_did_when_there_is_one(
    unsigned_credential: dict[str, Any], issuer: IssuerInfo
) -> None:
    assert unsigned_credential["issuer"]["id"] == issuer.did
    assert unsigned_credential["issuer"]["url"] == issuer.url


def test_subject_identifies_the_recipient_by_salted_hash(
    unsigned_credential: dict[str, Any], award: AwardInfo
) -> None:
    subject = unsigned_credential["credentialSubject"]
    assert "id" not in subject
    (identity,) = subject["identifier"]
    assert identity["type"] == "IdentityObject"
    assert identity["identityType"] == "emailAddress"
    assert identity["hashed"] is True
    assert identity["identityHash"].startswith("sha256$")
    assert "worker" not in json.dumps(unsigned_credential).lower().replace("workplace", "")


def test_rubric_results_point_at_levels_of_their_elements(
    unsigned_credential: dict[str, Any], achievement: AchievementInfo
) -> None:
    subject = unsigned_credential["credentialSubject"]
    descriptions = {d["id"]: d for d in subject["achievement"]["resultDescription"]}
    assert len(descriptions) == len(achievement.elements)
    for description in descriptions.values():
        assert description["resultType"] == "RubricCriterionLevel"
        assert [level["name"] for level in description["rubricCriterionLevel"]] == [
            "Not yet",
            "Meets",
            "Exceeds",
        ]
        assert description["rubricCriterionLevel"][1]["points"] == "2"
    for result in subject["result"]:
        levels = descriptions[result["resultDescription"]]["rubricCriterionLevel"]
        assert result["achievedLevel"] in {level["id"] for level in levels}


def test_results_must_match_the_rubric(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo
) -> None:
    element = achievement.elements[0]
    other = achievement.elements[1]
    with pytest.raises(ValueError, match="not a level"):
        ob3.credential(
            dataclasses.replace(award, results=(ElementResult(element.id, other.levels[0].id),)),
            achievement,
            issuer,
        )
    with pytest.raises(ValueError, match="unknown rubric element"):
        ob3.credential(
            dataclasses.replace(award, results=(ElementResult("urn:x", element.levels[0].id),)),
            achievement,
            issuer,
        )


def test_evidence_uses_only_defined_terms_and_carries_the_digest(
    unsigned_credential: dict[str, Any],
) -> None:
    first, second = unsigned_credential["evidence"]
    assert first["type"] == ["Evidence"]
    # base64 of the SHA-256 given as hex in the fixture.
    assert first["digestSRI"] == "sha256-n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
    assert "digestSRI" not in second
    proof.check_defined_terms(unsigned_credential)


def test_all_terms_are_defined(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo
) -> None:
    for credential in variants(award, achievement, issuer):
        proof.check_defined_terms(credential)
