"""The dependency audit fails only on vulnerabilities that have a fix to upgrade to."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_deps.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report(*deps: dict[str, Any]) -> str:
    return json.dumps({"dependencies": list(deps), "fixes": []})


@pytest.mark.parametrize(
    ("deps", "strict", "code"),
    [
        ([{"name": "a", "version": "1", "vulns": []}], False, 0),
        ([{"name": "a", "version": "1", "vulns": [{"id": "X-1", "fix_versions": []}]}], False, 0),
        (
            [{"name": "a", "version": "1", "vulns": [{"id": "X-2", "fix_versions": ["1.1"]}]}],
            False,
            1,
        ),
        ([{"name": "a", "skip_reason": "not found"}], False, 0),
        ([{"name": "a", "skip_reason": "not found"}], True, 1),
    ],
)
def test_exit_code(monkeypatch, capsys, deps: list[dict[str, Any]], strict: bool, code: int):  # type: ignore[no-untyped-def]
    module = _load()
    fake = subprocess.CompletedProcess([], 0, stdout=_report(*deps), stderr="")
    monkeypatch.setattr(module.subprocess, "run", lambda *a, **k: fake)
    assert module.main(["--strict"] if strict else []) == code
    out = capsys.readouterr().out
    if code == 1 and not strict:
        assert "VULNERABLE" in out and "1.1" in out
