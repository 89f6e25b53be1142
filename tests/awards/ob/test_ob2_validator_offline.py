"""The 1EdTech Open Badges 2.0 validator (PyPI `openbadges` 1.1.2) accepts our hosted documents.

The validator cannot live in the application's environment (it pins PyLD 0.7.1 and jsonschema
2.6.0), so it gets its own virtualenv in tests/awards/ob/.ob2-validator-venv, created on first
use from ob2_validator/requirements*.txt (or set OB2_VALIDATOR_PYTHON to an interpreter that has
it). It runs offline: every URL it fetches (assertion, badge class, issuer, the OB 2.0 context,
images) is answered from our documents by `responses` inside ob2_validator/run_validator.py.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from portfolio.awards.ob import bake, common, loader, ob2
from portfolio.awards.ob.types import AchievementInfo, AwardInfo, IssuerInfo

HERE = Path(__file__).parent / "ob2_validator"
VENV = Path(__file__).parent / ".ob2-validator-venv"


@pytest.fixture(scope="session")
def validator_python() -> Path:
    """The interpreter of the validator's own virtualenv, installed once if missing."""
    configured = os.environ.get("OB2_VALIDATOR_PYTHON")
    if configured:
        return Path(configured)
    python = VENV / "bin" / "python"
    with open(Path(__file__).parent / ".ob2-validator.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (VENV / ".installed").exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
            pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            subprocess.run(
                [*pip, "--no-deps", "-r", str(HERE / "requirements-nodeps.txt")],
                check=True,
                timeout=600,
            )
            subprocess.run([*pip, "-r", str(HERE / "requirements.txt")], check=True, timeout=600)
            (VENV / ".installed").touch()
    return python


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def hosted(
    award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo
) -> dict[str, dict[str, Any]]:
    """What our public endpoints would serve, by URL."""
    return {
        award.id: ob2.assertion(award, achievement),
        achievement.id: ob2.badge_class(achievement, issuer),
        issuer.id: ob2.issuer_profile(issuer),
        common.OB2_CONTEXT: loader.load_context(common.OB2_CONTEXT),
    }


def images(award: AwardInfo, achievement: AchievementInfo, issuer: IssuerInfo) -> dict[str, str]:
    data = base64.b64encode(png_bytes()).decode("ascii")
    return {url: data for url in (award.image, achievement.image, issuer.image) if url}


def run(python: Path, tmp_path: Path, spec: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    result = subprocess.run(
        [str(python), str(HERE / "run_validator.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def errors(report: dict[str, Any]) -> list[str]:
    return [m["result"] for m in report["messages"] if m.get("messageLevel") == "ERROR"]


def test_validator_accepts_our_assertion_json(
    validator_python: Path,
    tmp_path: Path,
    award: AwardInfo,
    achievement: AchievementInfo,
    issuer: IssuerInfo,
) -> None:
    documents = hosted(award, achievement, issuer)
    report = run(
        validator_python,
        tmp_path,
        {
            "input": documents[award.id],
            "documents": documents,
            "images": images(award, achievement, issuer),
            "recipient": {"email": "worker@example.com"},
        },
    )
    assert errors(report) == [], report["messages"]
    assert report["valid"] is True
    assert report["report"]["openBadgesVersion"] == "2.0"
    assert {award.id, achievement.id, issuer.id} <= set(report["requested"])


def test_validator_accepts_our_baked_png_and_svg(
    validator_python: Path,
    tmp_path: Path,
    award: AwardInfo,
    achievement: AchievementInfo,
    issuer: IssuerInfo,
) -> None:
    documents = hosted(award, achievement, issuer)
    common_spec = {"documents": documents, "images": images(award, achievement, issuer)}
    baked_png = bake.bake_png(png_bytes(), documents[award.id], version="2.0")
    report = run(
        validator_python,
        tmp_path,
        {"input_png": base64.b64encode(baked_png).decode("ascii"), **common_spec},
    )
    assert errors(report) == [] and report["valid"] is True, report["messages"]
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
    baked_svg = bake.bake_svg(svg, documents[award.id], version="2.0", verify_url=award.id)
    report = run(validator_python, tmp_path, {"input_svg": baked_svg, **common_spec})
    assert errors(report) == [] and report["valid"] is True, report["messages"]


def test_validator_rejects_a_different_recipient(
    validator_python: Path,
    tmp_path: Path,
    award: AwardInfo,
    achievement: AchievementInfo,
    issuer: IssuerInfo,
) -> None:
    documents = hosted(award, achievement, issuer)
    report = run(
        validator_python,
        tmp_path,
        {
            "input": documents[award.id],
            "documents": documents,
            "images": images(award, achievement, issuer),
            "recipient": {"email": "someone.else@example.com"},
        },
    )
    assert report["valid"] is False


def test_validator_rejects_an_expired_assertion(
    validator_python: Path,
    tmp_path: Path,
    award: AwardInfo,
    achievement: AchievementInfo,
    issuer: IssuerInfo,
) -> None:
    expired = dataclasses.replace(
        award,
        issued=datetime(2020, 1, 1, tzinfo=UTC),
        expires=datetime(2021, 1, 1, tzinfo=UTC),
    )
    documents = hosted(expired, achievement, issuer)
    report = run(
        validator_python,
        tmp_path,
        {
            "input": documents[award.id],
            "documents": documents,
            "images": images(award, achievement, issuer),
        },
    )
    assert report["valid"] is False
    assert any("expire" in e.lower() for e in errors(report)), report["messages"]


def test_validator_refuses_a_revoked_assertion_answered_410(
    validator_python: Path,
    tmp_path: Path,
    award: AwardInfo,
    achievement: AchievementInfo,
    issuer: IssuerInfo,
) -> None:
    documents = hosted(award, achievement, issuer)
    gone = documents.pop(award.id)
    revoked = ob2.revoked_assertion(gone["id"], "Evidence was not the candidate's own work.")
    report = run(
        validator_python,
        tmp_path,
        {
            "input": award.id,
            "documents": documents,
            "gone": {award.id: revoked},
            "images": images(award, achievement, issuer),
        },
    )
    # The validator has no hosted-revocation check of its own: it reads the 410 body like any
    # other and refuses it because the revoked form lacks recipient, badge, verification...
    assert report["valid"] is False, report["messages"]
    assert any("recipient not present" in e for e in errors(report)), report["messages"]
