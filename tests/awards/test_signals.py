"""Receivers are connected by `create_app`, never by importing a module: a process that builds
the app issues awards on a pass; importing the modules alone connects nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flask import Flask

from tests.awards.conftest import PASSING, award_of, pass_submission
from tests.conftest import Client
from tests.submissions.conftest import Scenario, scenario  # noqa: F401 - fixture reused

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import sys
import portfolio.awards.issuance, portfolio.awards.signing, portfolio.awards.receivers
import portfolio.awards.views
import portfolio.pathways.services, portfolio.pathways.receivers, portfolio.pathways.views
import portfolio.submissions.receivers, portfolio.evidence.receivers, portfolio.verify.views
from portfolio.accounts.signals import account_deleted
from portfolio.awards.signals import award_issued, award_revoked
from portfolio.credentials.signals import credential_changing, credential_edit_context
from portfolio.submissions.scoring import submission_passed

signals = [
    submission_passed, award_issued, award_revoked, account_deleted,
    credential_changing, credential_edit_context,
]
assert not any(s.receivers for s in signals), "a receiver was connected by an import"

from portfolio import create_app
from portfolio.config import Config

create_app(Config(env="testing", database_url="sqlite://", instance_path=sys.argv[1]))
assert all(s.receivers for s in signals), "create_app left a signal unconnected"
print("ok")
"""


def test_importing_connects_nothing_and_create_app_connects_everything(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_an_app_built_by_create_app_issues_an_award_on_a_pass(
    app: Flask, client: Client, other_client: Client, scenario: Scenario
) -> None:
    client.login("wren@example.org")
    other_client.login("sam@example.org")
    pid = pass_submission(client, other_client, scenario, PASSING)
    award = award_of(pid)
    assert award.status() == "valid"
    assert award.credential_id == scenario.credential.id
