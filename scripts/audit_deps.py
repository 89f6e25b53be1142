#!/usr/bin/env python3
"""Audit the installed Python packages for known vulnerabilities with pip-audit.

Fails (exit 1) only for vulnerabilities that have a fixed version to upgrade to; those
without a fix are listed but do not fail the build, since there is nothing to do yet.
Packages that could not be checked (the vulnerability service unreachable) are counted and
reported; with --strict, a run that could check nothing fails too.

Usage: .venv/bin/python scripts/audit_deps.py [--strict]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    strict = "--strict" in argv
    pip_audit = Path(sys.executable).with_name("pip-audit")
    proc = subprocess.run(
        [str(pip_audit), "--skip-editable", "--progress-spinner", "off", "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        print(proc.stderr.strip() or "pip-audit gave no report", file=sys.stderr)
        return 2
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    fixable: list[str] = []
    unfixed: list[str] = []
    for dep in deps:
        for vuln in dep.get("vulns", []):
            line = f"{dep['name']} {dep.get('version', '?')}: {vuln.get('id')}"
            if vuln.get("fix_versions"):
                fixable.append(f"{line} (fixed in {', '.join(vuln['fix_versions'])})")
            else:
                unfixed.append(f"{line} (no fix yet)")
    checked = len(deps) - len(skipped)
    print(f"pip-audit: {checked} packages checked, {len(skipped)} could not be checked")
    for line in unfixed:
        print(f"  known, no fix available: {line}")
    for line in fixable:
        print(f"  VULNERABLE, upgrade: {line}")
    if skipped and checked == 0:
        print("  the vulnerability service could not be reached: nothing was audited")
        if strict:
            return 1
    return 1 if fixable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
