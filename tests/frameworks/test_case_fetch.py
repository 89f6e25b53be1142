"""CASE by URL against a real HTTP server the test starts: import, update from source with the
changes shown first, and the address rules."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from portfolio.accounts.models import Role
from portfolio.extensions import db
from portfolio.frameworks import case_fetch
from portfolio.frameworks.models import Competency, Framework
from tests.conftest import Client
from tests.frameworks.case_packages import rich_package


class CaseServer:
    """Serves `packages[path]` as JSON; `redirects[path]` as 302s."""

    def __init__(self) -> None:
        self.packages: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.end_headers()
                    return
                body = server.packages.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def put(self, path: str, data: dict[str, Any]) -> str:
        self.packages[path] = json.dumps(data).encode()
        return self.base + path


@pytest.fixture
def case_server() -> Iterator[CaseServer]:
    server = CaseServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"case_fetch_allow_private": True}


@pytest.fixture
def admin(make, client: Client):  # type: ignore[no-untyped-def]
    org = make.org("Northwind")
    make.user((org, Role.ADMIN), email="admin@example.org")
    client.login("admin@example.org")
    return org


def test_import_by_url_then_update_from_source_shows_changes_first(
    client: Client, admin, case_server: CaseServer
) -> None:
    base = f"/o/{admin.slug}/frameworks"
    package = rich_package()
    url = case_server.put("/ims/case/v1p0/CFPackages/electrical", package)
    resp = client.submit(base + "/import-url", {"url": url}, page=base + "/import")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    fw = db.session.scalar(select(Framework).where(Framework.case_package_url == url))
    assert fw is not None and len(fw.competencies) == len(package["CFItems"])

    changed = copy.deepcopy(package)
    changed["CFItems"][0]["fullStatement"] = "Plan the installation safely"
    changed["CFItems"].append(
        {
            "identifier": "a3c1f1de-0000-4000-8000-00000000abcd",
            "uri": "https://case.example.org/uri/a3c1f1de-0000-4000-8000-00000000abcd",
            "fullStatement": "Commission the installation",
            "humanCodingScheme": "EL.NEW",
            "lastChangeDateTime": "2024-06-01T08:00:00+00:00",
        }
    )
    case_server.put("/ims/case/v1p0/CFPackages/electrical", changed)
    page = client.get(f"{base}/{fw.public_id}/update-from-source")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "1 competencies added" in html and "Commission the installation" in html
    assert "1 competencies changed" in html and "statement" in html
    db.session.expire_all()
    assert not db.session.scalar(select(Competency).where(Competency.code == "EL.NEW"))

    # The source changes again before "Apply": nothing is applied, the new changes are shown.
    seen = changed
    again = copy.deepcopy(changed)
    again["CFItems"][1]["fullStatement"] = "Changed once more"
    case_server.put("/ims/case/v1p0/CFPackages/electrical", again)
    stale = client.submit(
        f"{base}/{fw.public_id}/update-from-source",
        {"sha256": __import__("hashlib").sha256(json.dumps(seen).encode()).hexdigest()},
        page=f"{base}/{fw.public_id}",
    )
    assert stale.status_code == 200 and "changed since you looked" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.scalar(select(Competency).where(Competency.code == "EL.NEW"))

    digest = __import__("hashlib").sha256(json.dumps(again).encode()).hexdigest()
    applied = client.submit(
        f"{base}/{fw.public_id}/update-from-source",
        {"sha256": digest},
        page=f"{base}/{fw.public_id}",
    )
    assert applied.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Competency).where(Competency.code == "EL.NEW"))
    assert db.session.scalar(
        select(Competency).where(Competency.statement == "Plan the installation safely")
    )


def test_fetch_follows_a_checked_redirect_and_refuses_other_schemes(
    case_server: CaseServer,
) -> None:
    target = case_server.put("/p", {"CFDocument": {}})
    case_server.redirects["/old"] = target
    assert case_fetch.fetch_package(case_server.base + "/old", allow_private=True).url == target
    with pytest.raises(case_fetch.FetchFailed, match="http:// or https://"):
        case_fetch.fetch_package("file:///etc/passwd", allow_private=True)
    with pytest.raises(case_fetch.FetchFailed, match="404"):
        case_fetch.fetch_package(case_server.base + "/missing", allow_private=True)


def test_loopback_and_private_addresses_are_refused_unless_allowed(
    case_server: CaseServer,
) -> None:
    url = case_server.put("/p", {"CFDocument": {}})
    for blocked in (url, "http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data"):
        with pytest.raises(case_fetch.FetchFailed, match="not on the public internet"):
            case_fetch.fetch_package(blocked, allow_private=False)


def test_size_limit(case_server: CaseServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(case_fetch, "MAX_BYTES", 1000)
    url = case_server.put("/big", {"CFDocument": {"description": "x" * 5000}})
    with pytest.raises(case_fetch.FetchFailed, match="larger than"):
        case_fetch.fetch_package(url, allow_private=True)


def test_production_refuses_the_private_address_setting() -> None:
    from portfolio.config import Config, ConfigError

    cfg = Config.from_env(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "s" * 40,
            "SIGNING_KEY_SECRET": "k" * 40,
            "CASE_FETCH_ALLOW_PRIVATE": "1",
            "PUBLIC_BASE_URL": "https://portfolio.example.org",
        }
    )
    with pytest.raises(ConfigError, match="CASE_FETCH_ALLOW_PRIVATE"):
        cfg.resolved()
