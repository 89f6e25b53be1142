"""Worst-case rendering: the slowest inputs we know for the Markdown renderer, the HTML cleaner
and the CASE importer, at the largest size each field accepts.

    .venv/bin/python bench/render_worst_case.py            # prints a Markdown table
    .venv/bin/python bench/render_worst_case.py --json     # the same rows as JSON

Every row must stay well under a second; `tests/security/test_bounded_work.py` runs the same
inputs under a hang watchdog (not a timing assertion).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portfolio.core.sanitize import MAX_MARKDOWN_CHARS, render_markdown  # noqa: E402

#: The renderer and cleaner are in C and Rust; the run also shows the machine's load, since a
#: row taken on a busy machine is slower for reasons of its own.


def _fill(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


#: Name → a function of the length that builds the input. Runs of unclosed brackets were the
#: reported case (quadratic in Python-Markdown); the others are the known traps of Markdown
#: parsers: emphasis delimiters, backticks, nested quotes and lists, link references, entities,
#: raw-HTML-looking text and many bare URLs for the linkifier.
PATHOLOGICAL: dict[str, Callable[[int], str]] = {
    "unclosed brackets [[[": lambda n: _fill("[", n),
    "unclosed image links ![": lambda n: _fill("![", n),
    "unclosed links [a](": lambda n: _fill("[a](", n),
    "brackets and parens [](": lambda n: _fill("[](", n),
    "emphasis runs *a_": lambda n: _fill("*a_", n),
    "underscores _a": lambda n: _fill("_a", n),
    "backtick runs `": lambda n: _fill("`a``", n),
    "nested quotes >": lambda n: _fill(">", n),
    "nested lists": lambda n: _fill("- ", n),
    "reference-style links": lambda n: _fill("[x]: /u\n[x]\n", n),
    "entities &#": lambda n: _fill("&#", n),
    "angle brackets <": lambda n: _fill("<a", n),
    "table pipes": lambda n: _fill("|a|\n|-|\n", n),
    "bare URLs": lambda n: _fill("http://a.example/x ", n),
    "nested ordered lists 1. 1.": lambda n: _fill("1. ", n),
    "quotes in lists > - ": lambda n: _fill("> - ", n),
    "strong nesting ***a***": lambda n: "*" * (n // 2 - 1) + "a" + "*" * (n // 2 - 1),
    "ordinary prose": lambda n: _fill("The weld was **checked** twice. ", n),
}

#: Every rendered field and its largest accepted length.
FIELDS = {
    "reflection body": 100_000,
    "evidence description": 20_000,
    "credential criteria": 20_000,
    "review feedback": 20_000,
}


def time_render(text: str) -> float:
    """CPU seconds of one rendering (wall time on a shared machine mostly measures the others)."""
    started = time.process_time()
    render_markdown(text)
    return time.process_time() - started


def case_chain(depth: int) -> bytes:
    """A CASE package whose items form one chain `depth` levels deep."""
    doc = "d0000000-0000-4000-8000-000000000000"
    ids = [f"i{n:07d}-0000-4000-8000-000000000000" for n in range(depth)]
    items = [{"identifier": i, "fullStatement": f"Step {n}", "uri": f"https://c.example/{i}"}
             for n, i in enumerate(ids)]
    assocs = [
        {
            "identifier": f"a{n:07d}-0000-4000-8000-000000000000",
            "associationType": "isChildOf",
            "originNodeURI": {"identifier": ids[n], "uri": f"https://c.example/{ids[n]}", "title": "c"},
            "destinationNodeURI": {
                "identifier": doc if n == 0 else ids[n - 1],
                "uri": "https://c.example/p",
                "title": "p",
            },
            "sequenceNumber": 1,
        }
        for n in range(depth)
    ]
    return json.dumps(
        {
            "CFDocument": {"identifier": doc, "uri": f"https://c.example/{doc}", "title": "Deep",
                           "creator": "Bench", "officialSourceURL": "https://c.example/"},
            "CFItems": items,
            "CFAssociations": assocs,
        }
    ).encode()


def main() -> None:
    rows: list[dict[str, object]] = []
    longest = max(FIELDS.values())
    assert longest <= MAX_MARKDOWN_CHARS
    for name, build in PATHOLOGICAL.items():
        for size in sorted({20_000, longest}):
            seconds = min(time_render(build(size)) for _ in range(2))
            rows.append({"input": name, "chars": size, "seconds": round(seconds, 4)})
    from portfolio.frameworks.case import parse as case_parse

    for depth in (1_200, 5_000):
        raw = case_chain(depth)
        started = time.process_time()
        case_parse.parse_case_package(raw, "deep.json")
        rows.append(
            {"input": f"CASE parse, chain {depth} deep", "chars": len(raw),
             "seconds": round(time.process_time() - started, 4)}
        )
    if "--json" in sys.argv:
        print(json.dumps(rows, indent=2))
        return
    print("| input | characters | CPU seconds (best of 2) |")
    print("|---|---:|---:|")
    for row in rows:
        print(f"| {row['input']} | {row['chars']:,} | {row['seconds']:.3f} |")


if __name__ == "__main__":
    main()
