"""Run axe-core on the page a browser test is looking at, and fail on serious faults.

axe-core comes from npm (`node_modules/axe-core`, installed by `make vendor`). Its source is
evaluated through the DevTools protocol (`page.evaluate`), which the page's Content Security
Policy does not govern: the pages are checked exactly as users get them, with our CSP in force,
and a CSP violation caused by the app still shows up in the console. (A context created with
`bypass_csp=True` plus `page.add_script_tag` works too, but then the CSP is off for the whole
page, not only for the injection.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
AXE_JS = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: Impacts that fail the test; "moderate" and "minor" ones are reported by axe but tolerated.
BLOCKING = ("serious", "critical")

_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary || ''})),
  }));
}"""


@cache
def axe_source() -> str:
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS} is missing: run `npm ci` (make vendor) first")
    return AXE_JS.read_text(encoding="utf-8")


@dataclass
class Fault:
    page: str
    url: str
    rule: str
    impact: str
    help: str
    targets: list[str]

    def __str__(self) -> str:
        where = "\n      ".join(self.targets[:6])
        more = f" (+{len(self.targets) - 6} more)" if len(self.targets) > 6 else ""
        return (
            f"[{self.impact}] {self.rule}: {self.help}\n"
            f"    on {self.page} ({self.url})\n      {where}{more}"
        )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_axe(page: Any, name: str) -> list[Fault]:
    """The serious and critical axe violations of the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    violations = page.evaluate(_RUN_AXE)
    return [
        Fault(
            page=name,
            url=page.url,
            rule=v["id"],
            impact=v["impact"] or "",
            help=v["help"],
            targets=[f"{n['target']}  — {_last_line(n['summary'])}" for n in v["nodes"]],
        )
        for v in violations
        if v["impact"] in BLOCKING
    ]


@dataclass
class Auditor:
    """Screenshots and axe results of every page a journey visits."""

    shots: Path
    faults: list[Fault] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)

    def check(self, page: Any, name: str) -> None:
        """Call after each navigation: a full-page screenshot named `name`, then axe."""
        page.wait_for_load_state("load")
        page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        self.visited.append(name)
        self.faults.extend(run_axe(page, name))

    def assert_clean(self) -> None:
        """Fail, listing every fault readably, if any visited page had a serious one."""
        if self.faults:
            count = len(self.faults)
            listing = "\n".join(str(f) for f in self.faults)
            self.faults.clear()
            raise AssertionError(
                f"axe-core found {count} serious or critical accessibility violation(s):\n"
                + listing
            )
