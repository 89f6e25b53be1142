# Random test data and a throwaway secret of a throwaway database:
# ruff: noqa: S311, S106
"""Frameworks at 10,000 competencies: CASE import (time, peak memory), the framework page and
the competency search (p95), in this process against an SQLite file (or --database-url).

    .venv/bin/python bench/frameworks.py [--items 10000] [--requests 40] [--database-url URL]

The package: 10 domains, 10 areas each, 99 competencies each (10,010 items), an isChildOf per
item, every 10th competency also under a second area, and one isRelatedTo per 2 competencies (to an
item outside the package for every 4th): about 16,000 associations.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).absolute().parent.parent
sys.path.insert(0, str(ROOT))

from portfolio import create_app  # noqa: E402
from portfolio.accounts import organizations, registration  # noqa: E402
from portfolio.accounts.models import Organization, Role, User  # noqa: E402
from portfolio.config import Config  # noqa: E402
from portfolio.extensions import db  # noqa: E402
from portfolio.frameworks.case import export as case_export  # noqa: E402
from portfolio.frameworks.case import importer as case_importer  # noqa: E402
from portfolio.frameworks.services import frameworks as framework_services  # noqa: E402
from portfolio.frameworks.services import tree as tree_services  # noqa: E402

STAMP = "2024-01-01T00:00:00+00:00"
PASSWORD = "bench-password-123456"  # noqa: S105 - a throwaway account of a throwaway database


def uid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(str(p) for p in parts)))


def build_package(target: int) -> dict[str, Any]:
    doc = uid("bench", "doc")
    items: list[dict[str, Any]] = []
    assocs: list[dict[str, Any]] = []
    words = [
        "install",
        "test",
        "isolate",
        "inspect",
        "wire",
        "measure",
        "record",
        "connect",
        "protect",
        "verify",
    ]

    def node(ident: str) -> dict[str, str]:
        return {"title": "", "identifier": ident, "uri": f"urn:uuid:{ident}"}

    def add(ident: str, code: str, statement: str, parent: str, seq: int) -> None:
        items.append(
            {
                "identifier": ident,
                "uri": f"https://case.example.org/uri/{ident}",
                "fullStatement": statement,
                "humanCodingScheme": code,
                "educationLevel": ["13"],
                "lastChangeDateTime": STAMP,
            }
        )
        assocs.append(
            {
                "identifier": uid(ident, "child"),
                "uri": f"urn:uuid:{uid(ident, 'child')}",
                "associationType": "isChildOf",
                "originNodeURI": node(ident),
                "destinationNodeURI": node(parent),
                "sequenceNumber": str(seq),
                "lastChangeDateTime": STAMP,
            }
        )

    per_area = max(1, -(-(target - 110) // 100))
    areas = []
    for d in range(10):
        dom = uid("d", d)
        add(dom, f"D{d}", f"Domain {d}", doc, d)
        for a in range(10):
            area = uid("a", d, a)
            areas.append(area)
            add(area, f"D{d}.{a}", f"Area {d}.{a}", dom, a)
            for c in range(per_area):
                ident = uid("c", d, a, c)
                text = " ".join(random.sample(words, 4))
                add(ident, f"D{d}.{a}.{c}", f"Competency {d}.{a}.{c}: {text}", area, c)
                if c % 10 == 0:
                    other = areas[(len(areas) * 7) % len(areas)]
                    assocs.append(
                        {
                            "identifier": uid(ident, "second"),
                            "uri": f"urn:uuid:{uid(ident, 'second')}",
                            "associationType": "isChildOf",
                            "originNodeURI": node(ident),
                            "destinationNodeURI": node(other),
                            "lastChangeDateTime": STAMP,
                        }
                    )
                if c % 2 == 0:
                    outside = c % 4 == 0
                    dest = (
                        uid("outside", d, a, c) if outside else uid("c", d, a, (c + 1) % per_area)
                    )
                    assocs.append(
                        {
                            "identifier": uid(ident, "related"),
                            "uri": f"urn:uuid:{uid(ident, 'related')}",
                            "associationType": "isRelatedTo",
                            "originNodeURI": node(ident),
                            "destinationNodeURI": node(dest),
                            "lastChangeDateTime": STAMP,
                        }
                    )
    return {
        "CFDocument": {
            "identifier": doc,
            "uri": f"urn:uuid:{doc}",
            "creator": "Bench",
            "title": "Bench framework",
            "lastChangeDateTime": STAMP,
        },
        "CFItems": items,
        "CFAssociations": assocs,
    }


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    random.seed(1)
    tmp = Path(tempfile.mkdtemp(prefix="bench-frameworks-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    app = create_app(
        Config(
            env="testing",
            secret_key="bench-secret-key-that-is-long-enough-0123456789",
            database_url=url,
            instance_path=str(tmp),
            public_base_url="http://localhost",
            login_rate_limit="100000 per minute",
        )
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        org = organizations.create_organization(
            "Bench", "bench", email="b@example.org", url="https://b.example.org"
        )
        admin = registration.create_user("admin@example.org", "Admin", PASSWORD)
        organizations.add_membership(admin, org, Role.ADMIN)
        db.session.commit()
        raw = json.dumps(build_package(args.items)).encode()
        n_items = len(json.loads(raw)["CFItems"])
        n_assocs = len(json.loads(raw)["CFAssociations"])
        print(f"package: {n_items} items, {n_assocs} associations, {len(raw) / 2**20:.1f} MiB")

        started = time.perf_counter()
        result = case_importer.import_case_package(admin, org, raw, "bench.json")
        db.session.commit()
        seconds = time.perf_counter() - started
        fw_id = result.framework.public_id
        print(f"import: {seconds:.2f} s")

        # Peak memory of a second import (a new organization), measured apart from the timing.
        other = organizations.create_organization(
            "Bench 2", "bench2", email="b2@example.org", url="https://b2.example.org"
        )
        organizations.add_membership(admin, other, Role.ADMIN)
        db.session.commit()
        ids = (admin.id, org.id, other.id)
        db.session.remove()
        admin, org, other = (
            db.session.get(User, ids[0]),
            db.session.get(Organization, ids[1]),
            db.session.get(Organization, ids[2]),
        )
        tracemalloc.start()
        case_importer.import_case_package(admin, other, raw, "bench.json")
        db.session.commit()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"import peak Python memory: {peak / 2**20:.0f} MiB "
            f"(package {len(raw) / 2**20:.1f} MiB)"
        )
        db.session.remove()
        org = db.session.get(Organization, ids[1])

        started = time.perf_counter()
        exported = case_export.export_case_package(framework_services.get_framework(org, fw_id))
        print(f"export: {time.perf_counter() - started:.2f} s, {len(exported['CFItems'])} items")
        db.session.remove()

        queries = [
            f"D{random.randrange(10)}.{random.randrange(10)}.{random.randrange(90)}"
            for _ in range(args.requests)
        ]
        queries += random.sample(["install", "test", "isolate", "inspect", "wire", "measure"], 3)
        timings = []
        for q in queries:
            started = time.perf_counter()
            tree_services.search_competencies(org, q)
            timings.append(time.perf_counter() - started)
        print(f"search service p95: {p95(timings) * 1000:.1f} ms")

    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert token, "no CSRF token on /login"
    client.post(
        "/login",
        data={"csrf_token": token.group(1), "email": "admin@example.org", "password": PASSWORD},
    )

    def measure(label: str, send: Any) -> None:
        send()  # warm up
        timings = []
        size = 0
        for _ in range(args.requests):
            started = time.perf_counter()
            resp = send()
            timings.append(time.perf_counter() - started)
            assert resp.status_code == 200, (label, resp.status_code)
            size = len(resp.data)
        print(
            f"{label}: p95 {p95(timings) * 1000:.0f} ms, "
            f"median {statistics.median(timings) * 1000:.0f} ms, {size / 1024:.0f} KiB"
        )

    with app.app_context():
        fw = framework_services.get_framework(db.session.get(Organization, ids[1]), fw_id)
        domain = tree_services.tree_branch(fw, None).nodes[0].competency
        areas = tree_services.tree_branch(fw, domain).nodes
        # The first area is also the second parent of every 10th competency (1,089 below it,
        # 11 pages); the second is an ordinary one (99).
        area, plain = areas[0].competency.public_id, areas[1].competency.public_id
        print(f"first area: {areas[0].below} below; second: {areas[1].below}")
        domain_id = domain.public_id
    admin_page = f"/o/bench/frameworks/{fw_id}"
    measure("framework page (admin, top level)", lambda: client.get(admin_page))
    measure("framework page (admin, a domain)", lambda: client.get(f"{admin_page}?at={domain_id}"))
    measure(
        "framework page (admin, an area of 1,089)", lambda: client.get(f"{admin_page}?at={area}")
    )
    measure("framework page (admin, an area of 99)", lambda: client.get(f"{admin_page}?at={plain}"))
    measure("branch fragment (admin, an area)", lambda: client.get(f"{admin_page}/tree?at={area}"))
    measure(
        "branch fragment (admin, an area, page 11)",
        lambda: client.get(f"{admin_page}/tree?at={area}&page=11"),
    )
    measure(
        "competency search on the framework page",
        lambda: client.get(f"{admin_page}?q={random.choice(queries)}"),
    )
    measure("framework page (public, top level)", lambda: client.get(f"/frameworks/{fw_id}"))
    measure(
        "framework page (public, an area)", lambda: client.get(f"/frameworks/{fw_id}?at={area}")
    )
    form_html = client.get("/o/bench/credentials/new").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form_html)
    assert form_token
    measure(
        "competency search on the credential form",
        lambda: client.post(
            "/o/bench/credentials/new",
            data={
                "csrf_token": form_token.group(1),
                "name": "x",
                "rubric_version": "",
                "competency_query": random.choice(queries),
                "action": "find_competencies",
            },
        ),
    )
    print(f"credential form without a search: {len(form_html) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
