"""Issuing a badge when a submission passes: exactly once, with signed, schema-valid documents
whose evidence hashes are those of the frozen files."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from portfolio.awards import issuance, signing_keys
from portfolio.awards.models import Award, IssuerKey
from portfolio.awards.ob import proof
from portfolio.core.audit import AuditEvent
from portfolio.core.db import utcnow
from portfolio.extensions import db
from portfolio.storage import get_storage
from portfolio.submissions.models import Submission, SubmissionState
from tests.awards.conftest import award_of, pass_submission
from tests.awards.ob.test_ob3 import assert_schema_valid
from tests.conftest import Client
from tests.submissions.conftest import Scenario


def _count_awards() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count(Award.id))) or 0)


def test_a_pass_issues_one_award_with_stored_documents(earned: Any) -> None:
    s, award = earned
    assert award.recipient_id == s.worker.id and award.credential_id == s.credential.id
    assert award.submission.state == SubmissionState.PASSED
    assert len(award.public_id) == 22 and award.expires_at is None
    assertion = json.loads(award.ob2_assertion)
    assert assertion["id"] == f"http://localhost/badges/{award.public_id}"
    assert assertion["recipient"]["hashed"] is True
    assert "wren@example.org" not in award.ob2_assertion
    assert "wren@example.org" not in award.ob3_credential
    assert assertion["badge"] == f"http://localhost/badgeclasses/{s.credential.public_id}"
    assert len(assertion["evidence"]) == 4
    assert all(
        e["id"].startswith(f"http://localhost/badges/{award.public_id}/evidence/")
        for e in assertion["evidence"]
    )
    assert award.ob2_sha256 == hashlib.sha256(award.ob2_assertion.encode()).hexdigest()
    events = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_type == "award")
    ).all()
    assert events == ["award.issue"]
    # The organization got a signing key, stored encrypted.
    key = db.session.scalar(select(IssuerKey).where(IssuerKey.organization_id == s.org.id))
    assert key is not None and b"ENCRYPTED PRIVATE KEY" in key.private_key_encrypted


def test_the_credential_is_schema_valid_signed_and_carries_the_rubric(earned: Any) -> None:
    s, award = earned
    credential = json.loads(award.ob3_credential)
    assert_schema_valid(credential)
    report = proof.verify_credential(credential, signing_keys.key_resolver_for(s.org), now=utcnow())
    assert report.valid, report.reasons
    subject = credential["credentialSubject"]
    achievement = subject["achievement"]
    assert [r["name"] for r in achievement["resultDescription"]] == [e.title for e in s.elements]
    levels = {r["resultDescription"]: r["achievedLevel"] for r in subject["result"]}
    by_id = {
        rd["id"]: {lv["id"]: lv["name"] for lv in rd["rubricCriterionLevel"]}
        for rd in achievement["resultDescription"]
    }
    achieved = [by_id[element][level] for element, level in levels.items()]
    assert achieved == ["Meets", "Exceeds", "Meets", "Not yet"]
    status = credential["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusPurpose"] == "revocation"
    assert status["statusListCredential"].startswith(
        f"http://localhost/issuers/{s.org.public_id}/status/"
    )
    assert 0 <= int(status["statusListIndex"]) < 131_072
    assert credential["issuer"]["id"] == f"http://localhost/issuers/{s.org.public_id}/keys"
    # Every result says it is complete and which competency its element assesses.
    assert all(r["status"] == "Completed" for r in subject["result"])
    assert credential["awardedDate"] == credential["validFrom"]
    assert achievement["version"].endswith(f"version {s.version.number}")


@pytest.mark.parametrize(
    "path",
    [
        ("name",),
        ("validFrom",),
        ("credentialSubject", "achievement", "name"),
        ("credentialSubject", "result", 0, "achievedLevel"),
        ("evidence", 0, "digestSRI"),
        ("issuer", "name"),
        ("credentialSubject", "identifier", 0, "identityHash"),
        ("credentialStatus", "id"),
        ("id",),
    ],
)
def test_changing_any_field_breaks_the_signature(earned: Any, path: tuple[Any, ...]) -> None:
    s, award = earned
    credential = json.loads(award.ob3_credential)
    tampered = copy.deepcopy(credential)
    target = tampered
    for step in path[:-1]:
        target = target[step]
    value = target[path[-1]]
    if path[-1] == "digestSRI":
        target[path[-1]] = "sha256-" + "A" * 43 + "="
    elif path[-1] == "validFrom":
        target[path[-1]] = "2020-01-01T00:00:00Z"
    elif path[-1] in ("id", "achievedLevel") or str(value).startswith("http"):
        target[path[-1]] = value + "x"
    else:
        target[path[-1]] = value + " (edited)"
    resolver = signing_keys.key_resolver_for(s.org)
    assert proof.verify_credential(credential, resolver).valid
    assert not proof.verify_credential(tampered, resolver).valid


def test_evidence_hashes_match_the_frozen_objects(earned: Any) -> None:
    s, award = earned
    credential = json.loads(award.ob3_credential)
    # A file's entry is the frozen file's URL with the digest of its bytes; its evidence page
    # is an entry of its own, without a digest (HTML is not the file).
    digests = {
        e["id"].split("/evidence/")[1].split("/")[0]: e["digestSRI"]
        for e in credential["evidence"]
        if "digestSRI" in e
    }
    assert all(e["id"].endswith("/file") == ("digestSRI" in e) for e in credential["evidence"])
    storage = get_storage()
    files = [item for item in award.evidence if item.kind == "file"]
    assert len(files) == 2
    for item in files:
        frozen = item.submission_evidence.frozen_key
        data = b"".join(storage.iter_chunks(frozen))
        assert hashlib.sha256(data).hexdigest() == item.sha256
        import base64

        assert (
            digests[item.public_id]
            == "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
        )
    # Frozen means frozen: not the library item (which the worker may change later).
    assert all(
        item.submission_evidence.frozen_key != s.items["photo"].storage_key for item in files
    )


def test_expiry_follows_the_credential_policy(
    client: Client, other_client: Client, scenario: Scenario
) -> None:
    scenario.credential.expiry_months = 12
    db.session.commit()
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    award = award_of(pass_submission(client, other_client, scenario))
    assert award.expires_at is not None
    assert award.expires_at == issuance.add_months(award.issued_at, 12)
    assert json.loads(award.ob2_assertion)["expires"] == award.expires_at.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert "validUntil" in json.loads(award.ob3_credential)


def test_add_months_clamps_to_month_end() -> None:
    assert issuance.add_months(datetime(2024, 1, 31, tzinfo=UTC), 1) == datetime(
        2024, 2, 29, tzinfo=UTC
    )
    assert issuance.add_months(datetime(2024, 11, 5, tzinfo=UTC), 14) == datetime(
        2026, 1, 5, tzinfo=UTC
    )


def test_retrying_issuance_returns_the_same_award(earned: Any) -> None:
    _s, award = earned
    sub = award.submission
    again = issuance.award_credential(sub, sub.review)
    db.session.commit()
    assert again.id == award.id and _count_awards() == 1


def test_concurrent_issuance_writes_exactly_one_award(app: Any, earned: Any) -> None:
    _s, award = earned
    sub_id = award.submission_id
    # Remove the award so that several requests race to issue it again.
    db.session.delete(award)
    db.session.commit()
    assert _count_awards() == 0
    n = 5
    barrier = threading.Barrier(n)
    ids: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        with app.app_context():
            try:
                sub = db.session.get(Submission, sub_id)
                assert sub is not None
                review = sub.review
                barrier.wait(60)
                got = issuance.award_credential(sub, review)
                db.session.commit()
                with lock:
                    ids.append(got.id)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert _count_awards() == 1
    winner = db.session.scalar(select(Award.id))
    # Every request got the single award: the losers found the winner's row.
    assert errors == []
    assert ids == [winner] * n


def test_a_failed_review_issues_nothing(
    client: Client, other_client: Client, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    pass_submission(client, other_client, scenario, ["Not yet"] * 4)
    assert _count_awards() == 0


def test_key_rotation_keeps_old_credentials_verifiable(earned: Any) -> None:
    s, award = earned
    old = signing_keys.get_or_create_signing_key(s.org)
    new = signing_keys.rotate_signing_key(s.admin, s.org)
    db.session.commit()
    assert new.id != old.id
    document = signing_keys.controller_document(s.org)
    # Each key under its own URL and under the older fragment id.
    assert len(document["verificationMethod"]) == 4
    credential = json.loads(award.ob3_credential)
    assert proof.verify_credential(credential, signing_keys.key_resolver_for(s.org)).valid
    method = credential["proof"][0]["verificationMethod"]
    assert method == f"{document['id']}/{old.public_key_multibase}"
    # The retired key still answers at its URL, as the Multikey document itself.
    key_document = signing_keys.key_document(s.org, old.public_key_multibase)
    assert key_document == {
        "@context": "https://w3id.org/security/multikey/v1",
        "id": method,
        "type": "Multikey",
        "controller": document["id"],
        "publicKeyMultibase": old.public_key_multibase,
    }
    assert method in document["assertionMethod"]
