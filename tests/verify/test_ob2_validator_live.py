"""The 1EdTech Open Badges 2.0 validator accepts badges hosted by a live Portfolio server on
127.0.0.1 (by URL, as a baked PNG and as a baked SVG), and refuses revoked and expired ones.

The validator runs in its own virtualenv (the `validator_python` fixture of tests/awards/ob);
tests/verify/ob2_live_runner.py lets its requests reach the live server and nothing else.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app

from portfolio.awards import issuance, revocation
from portfolio.awards.models import Award
from portfolio.awards.ob import common, loader
from portfolio.core.db import utcnow
from portfolio.extensions import db
from tests.awards.conftest import award_of, pass_submission
from tests.awards.ob.test_ob2_validator_offline import validator_python  # noqa: F401
from tests.conftest import Client
from tests.submissions.conftest import Scenario

RUNNER = Path(__file__).parent / "ob2_live_runner.py"


@pytest.fixture
def live_award(
    app: Flask, live_server: Any, client: Client, other_client: Client, scenario: Scenario
) -> tuple[str, Award]:
    """A badge issued while PUBLIC_BASE_URL is the live server's URL."""
    cfg = app.config["PORTFOLIO"]
    app.config["PORTFOLIO"] = dataclasses.replace(cfg, public_base_url=live_server.url)
    served: list[str] = []
    inner = app.wsgi_app

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        served.append(environ.get("PATH_INFO", ""))
        return inner(environ, start_response)

    app.wsgi_app = recording  # type: ignore[method-assign]
    app.extensions["test.served"] = served
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    award = award_of(pass_submission(client, other_client, scenario))
    assert json.loads(award.ob2_assertion)["id"].startswith(live_server.url)
    return live_server.url, award


def run(python: Path, tmp_path: Path, origin: str, **spec: Any) -> dict[str, Any]:
    path = tmp_path / "input.json"
    path.write_text(
        json.dumps(
            {
                "origin": origin,
                "context": loader.load_context(common.OB2_CONTEXT),
                "recipient": {"email": "wren@example.org"},
                **spec,
            }
        )
    )
    result = subprocess.run(
        [str(python), str(RUNNER), str(path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def errors(report: dict[str, Any]) -> list[str]:
    return [m["result"] for m in report["messages"] if m.get("messageLevel") == "ERROR"]


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return bytes(resp.read())


def test_validator_accepts_hosted_assertion_by_url_png_and_svg(
    validator_python: Path, tmp_path: Path, live_award: tuple[str, Award]
) -> None:
    origin, award = live_award
    url = f"{origin}/badges/{award.public_id}"
    report = run(validator_python, tmp_path, origin, input_url=url)
    assert errors(report) == [] and report["valid"] is True, report["messages"]
    # The documents came from the live server, not from mocks.
    served = current_app.extensions["test.served"]
    assert f"/badges/{award.public_id}" in served
    assert f"/badgeclasses/{award.credential.public_id}" in served
    assert f"/issuers/{award.organization.public_id}" in served
    png = _fetch(f"{url}/badge-ob2.png")
    report = run(
        validator_python, tmp_path, origin, input_png=base64.b64encode(png).decode("ascii")
    )
    assert errors(report) == [] and report["valid"] is True, report["messages"]
    svg = _fetch(f"{url}/badge-ob2.svg").decode("utf-8")
    report = run(validator_python, tmp_path, origin, input_svg=svg)
    assert errors(report) == [] and report["valid"] is True, report["messages"]
    # A different recipient does not match the hashed identity.
    report = run(
        validator_python,
        tmp_path,
        origin,
        input_url=url,
        recipient={"email": "someone.else@example.org"},
    )
    assert report["valid"] is False


def test_validator_rejects_revoked_and_expired_badges(
    validator_python: Path,
    tmp_path: Path,
    live_award: tuple[str, Award],
    scenario: Scenario,
) -> None:
    origin, award = live_award
    url = f"{origin}/badges/{award.public_id}"
    png = _fetch(f"{url}/badge-ob2.png")
    revocation.revoke_award(scenario.admin, award, "Issued in error.")
    db.session.commit()
    report = run(validator_python, tmp_path, origin, input_url=url)
    assert report["valid"] is False, report
    report = run(
        validator_python, tmp_path, origin, input_png=base64.b64encode(png).decode("ascii")
    )
    assert report["valid"] is False, report


def test_validator_rejects_an_expired_badge(
    validator_python: Path,
    tmp_path: Path,
    app: Flask,
    live_server: Any,
    client: Client,
    other_client: Client,
    scenario: Scenario,
) -> None:
    cfg = app.config["PORTFOLIO"]
    app.config["PORTFOLIO"] = dataclasses.replace(cfg, public_base_url=live_server.url)
    scenario.credential.expiry_months = 1
    db.session.commit()
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    sub_pid = pass_submission(client, other_client, scenario)
    award = award_of(sub_pid)
    # Re-issue as if two months had passed: the stored documents say it has expired.
    db.session.delete(award)
    db.session.flush()
    sub = db.session.get(type(award.submission), award.submission_id)
    past = utcnow() - timedelta(days=62)
    import portfolio.awards.issuance as module

    original = module.utcnow
    module.utcnow = lambda: past  # type: ignore[assignment]
    try:
        expired = issuance.award_credential(sub, sub.review)
    finally:
        module.utcnow = original  # type: ignore[assignment]
    db.session.commit()
    assert expired.is_expired()
    url = f"{live_server.url}/badges/{expired.public_id}"
    report = run(validator_python, tmp_path, live_server.url, input_url=url)
    assert report["valid"] is False, report
    assert any("expire" in e.lower() for e in errors(report)), report["messages"]
