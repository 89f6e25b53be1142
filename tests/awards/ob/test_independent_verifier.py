"""Our signed OB 3.0 credentials verify with an independent implementation: Digital Bazaar's
@digitalbazaar/vc with the eddsa-rdfc-2022 cryptosuite, on Node (tests/awards/ob/verifier/).

The verifier's document loader serves the same vendored contexts and the issuer's DID document
we give it, and nothing else.
"""

from __future__ import annotations

import copy
import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from portfolio.awards.ob import loader

VERIFIER = Path(__file__).parent / "verifier"
CONTEXTS = Path(loader.__file__).parent / "contexts"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None, reason="node is not installed: cannot run the Node verifier"
)


@pytest.fixture(scope="session")
def node_verifier() -> Path:
    """Install the verifier's locked dependencies once (also across xdist workers)."""
    with open(VERIFIER / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (VERIFIER / "node_modules" / "@digitalbazaar" / "vc").is_dir():
            npm = shutil.which("npm")
            assert npm, "npm is needed to install the Node verifier (node is present)"
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=VERIFIER,
                check=True,
                capture_output=True,
                timeout=300,
            )
    return VERIFIER / "verify.mjs"


def run_verifier(
    script: Path,
    tmp_path: Path,
    credential: dict[str, Any],
    controller: dict[str, Any],
    status: dict[str, Any] | None = None,
) -> tuple[int, dict[str, Any]]:
    files = {
        "credential.json": credential,
        "controller.json": controller,
        "contexts.json": {url: str(CONTEXTS / name) for url, name in loader.KNOWN_CONTEXTS.items()},
    }
    if status is not None:
        files["status.json"] = status
    for name, data in files.items():
        (tmp_path / name).write_text(json.dumps(data), encoding="utf-8")
    result = subprocess.run(
        ["node", str(script), *(str(tmp_path / name) for name in files)],
        cwd=VERIFIER,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_digital_bazaar_verifies_our_credential(
    node_verifier: Path,
    tmp_path: Path,
    signed_credential: dict[str, Any],
    did_document: dict[str, Any],
) -> None:
    code, report = run_verifier(node_verifier, tmp_path, signed_credential, did_document)
    assert report["errors"] == []
    assert report["verified"] is True and code == 0


def test_digital_bazaar_checks_our_revocation_list(
    node_verifier: Path,
    tmp_path: Path,
    legacy_signed_credential: dict[str, Any],
    did_document: dict[str, Any],
) -> None:
    """Credentials issued before status lists name the 1EdTech list, which is still served."""
    signed_credential = legacy_signed_credential
    not_revoked = {"revokedCredential": [{"id": "https://badges.example.org/other"}]}
    code, report = run_verifier(
        node_verifier, tmp_path, signed_credential, did_document, not_revoked
    )
    assert code == 0 and report["statusChecked"] is True
    revoked = {"revokedCredential": [{"id": signed_credential["id"], "revocationReason": "x"}]}
    code, report = run_verifier(node_verifier, tmp_path, signed_credential, did_document, revoked)
    assert code == 1 and report["verified"] is False
    assert any("revoked" in e for e in report["errors"])


@pytest.mark.parametrize(
    "path",
    [
        ("name",),
        ("credentialSubject", "result", 1, "achievedLevel"),
        ("evidence", 0, "digestSRI"),
        ("issuer", "name"),
        ("proof", 0, "created"),
    ],
)
def test_digital_bazaar_rejects_tampering(
    path: tuple[Any, ...],
    node_verifier: Path,
    tmp_path: Path,
    signed_credential: dict[str, Any],
    did_document: dict[str, Any],
) -> None:
    tampered = copy.deepcopy(signed_credential)
    target: Any = tampered
    for step in path[:-1]:
        target = target[step]
    original = target[path[-1]]
    target[path[-1]] = (
        original.replace("2024", "2025") if path[-1] == "created" else original[:-2] + "AA"
    )
    code, report = run_verifier(node_verifier, tmp_path, tampered, did_document)
    assert code == 1 and report["verified"] is False
    assert report["errors"]


def test_digital_bazaar_rejects_a_key_the_issuer_does_not_list(
    node_verifier: Path,
    tmp_path: Path,
    signed_credential: dict[str, Any],
    did_document: dict[str, Any],
) -> None:
    unlisted = {**did_document, "assertionMethod": []}
    code, report = run_verifier(node_verifier, tmp_path, signed_credential, unlisted)
    assert code == 1 and any("not authorized" in e for e in report["errors"])
