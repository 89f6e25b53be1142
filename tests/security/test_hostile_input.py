"""Hostile input through every form and upload path: script in every text field, Markdown with
raw HTML and javascript: links, polyglot and disguised files, empty and oversized files, control
and bidi characters, very long fields, forged ids and CSRF tokens, open redirects."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portfolio.core.security import is_safe_redirect
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from tests.conftest import PASSWORD, Client
from tests.evidence import samples
from tests.security.conftest import World, make_bulk_batch, new_client
from tests.security.test_access_matrix import DECLARATIONS, OK, Walker, methods_of
from tests.submissions.conftest import score_form

#: Script in the places it tends to slip through: element content, attributes, URLs, SVG and
#: MathML, template syntax, and markup that changes the page's base or refreshes it.
XSS = [
    '<script>alert("x1")</script>',
    '"><img src=x onerror=alert("x2")>',
    "'><svg/onload=alert('x3')>",
    "<a href=\"javascript:alert('x4')\">x4</a>",
    '<iframe srcdoc="<script>alert(5)</script>"></iframe>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert("x6")>',
    "<details open ontoggle=alert('x7')>",
    '<base href="//evil.example/">',
    '<meta http-equiv="refresh" content="0;url=//evil.example">',
    "{{ 7*7 }}{% if 1 %}x8{% endif %}",
    '<object data="javascript:alert(9)"></object><embed src="javascript:alert(10)">',
    "\u202ecod.exe\u200f<b onmouseover=alert(11)>x</b>\x07",
]
#: Markdown that carries raw HTML and script links.
MARKDOWN_ONLY = [
    "[click](javascript:alert('m1'))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert('m2'))",
    "<script>alert('m3')</script>",
    "<a href=\"jAvAsCrIpT:alert('m4')\">m4</a>",
    "<img src=x onerror=alert('m5')>",
    "[ref]\n\n[ref]: javascript:alert('m6')",
    "<https://ok.example/?q=\"><script>alert('m7')</script>>",
]
MARKDOWN = "\n\n".join(MARKDOWN_ONLY + XSS)
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}


class ActiveMarkup(HTMLParser):
    """Collects anything in a page that could run script or redirect the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            squeezed = "".join(ch for ch in value if ch > " ").lower()
            if name in URL_ATTRS and squeezed.startswith(BAD_SCHEMES):
                self.problems.append(f"<{tag} {name}={value[:40]!r}>")
        if tag == "script":
            # Only our own files: never inline script, never from elsewhere.
            if not values.get("src", "").startswith("/static/"):
                self.problems.append(f"<script src={values.get('src')!r}>")
            self._in_script = True
        if tag in {"object", "embed", "base", "style"}:
            self.problems.append(f"<{tag}>")
        if tag == "iframe" and "srcdoc" in values:
            self.problems.append("<iframe srcdoc>")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.problems.append("<meta refresh>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline script")


def active_markup(html: str) -> list[str]:
    parser = ActiveMarkup()
    parser.feed(html)
    return parser.problems


def test_the_checker_sees_active_markup() -> None:
    # (A <style> swallows the rest of a page for the parser, as it would for a browser.)
    found = {p for payload in XSS for p in active_markup(payload)}
    assert {"<img onerror=...>", "<iframe srcdoc>", "<base>", "<meta refresh>", "<style>"} <= found
    assert active_markup('<script src="/static/js/app.js"></script><a href="/x">x</a>') == []


def _form(client: Client, url: str, data: dict[str, Any], page: str | None = None) -> Any:
    resp = client.submit(url, data, page=page or url)
    assert resp.status_code < 500, (url, resp.status_code)
    return resp


def _inject(w: World) -> tuple[list[str], int]:
    """Send the payloads through every text field of the forms. Returns extra pages to look at
    (where the new objects live) and the number of (field, payload) pairs sent."""
    worker, admin, assessor = w.client("worker"), w.client("admin"), w.client("assessor")
    slug, n = w.s.org.slug, len(XSS)
    pages: list[str] = []
    sent = 0

    def x(i: int) -> str:
        return XSS[i % n]

    def keep(resp: Any) -> None:
        if resp.status_code == 302 and resp.location.startswith("/"):
            pages.append(resp.location.split("#", 1)[0])

    for i in range(n):  # every payload in every field of the worker's own forms
        keep(
            _form(
                worker,
                "/portfolio/reflections/new",
                {"title": x(i), "description": x(i + 1), "body": MARKDOWN, "tags": x(i + 2)},
            )
        )
        keep(
            _form(
                worker,
                "/portfolio/links/new",
                {
                    "title": x(i + 3),
                    "url": "javascript:alert(1)" if i % 2 else f"https://ok.example/?q={x(i)}",
                    "description": x(i + 4),
                    "tags": x(i + 5),
                },
            )
        )
        token = worker.csrf_token("/portfolio/upload")
        resp = worker.post(
            "/portfolio/upload",
            data={
                "csrf_token": token,
                "title": x(i + 6),
                "description": x(i + 7),
                "tags": x(i + 8),
                "file": (io.BytesIO(samples.png()), f"{x(i)}.png"),
            },
            content_type="multipart/form-data",
        )
        assert resp.status_code < 500
        keep(resp)
        sent += 11

    spare = w.ids["spare"]
    _form(
        worker,
        f"/portfolio/items/{spare}/edit",
        {"title": x(1), "description": MARKDOWN, "body": MARKDOWN, "tags": x(2)},
    )
    _form(
        admin,
        f"/o/{slug}/settings",
        {"name": x(0), "url": "javascript:alert(1)", "email": "a@example.org", "description": x(2)},
    )
    _form(
        admin,
        f"/o/{slug}/settings",
        {"name": x(3), "url": "https://ok.example", "email": "a@example.org", "description": x(4)},
    )
    keep(
        _form(
            admin,
            f"/o/{slug}/frameworks/new",
            {"title": x(5), "version": x(6), "description": MARKDOWN, "source_url": x(3)},
        )
    )
    fid = w.ids["fid"]
    _form(
        admin,
        f"/o/{slug}/frameworks/{fid}/competencies",
        {"code": x(7)[:40], "statement": x(8), "description": MARKDOWN, "parent": ""},
        page=f"/o/{slug}/frameworks/{fid}",
    )
    keep(_form(admin, f"/o/{slug}/rubrics/new", {"title": x(9), "description": x(10)}))
    keep(
        _form(
            admin,
            f"/o/{slug}/credentials/new",
            {
                "name": x(11),
                "description": x(0),
                "criteria_md": MARKDOWN,
                "tags": x(1),
                "external_alignments": f"{x(2)} | javascript:alert(1) | {x(3)} | {x(4)}",
            },
        )
    )
    sent += 20
    # The assessor's feedback and remarks, seen by the worker; the admin's revocation reason,
    # seen by everybody on the public badge page.
    sub = w.ids["sub"]
    _form(assessor, f"/o/{slug}/queue/{sub}/claim", {}, page=f"/o/{slug}/queue")
    form = score_form(w.s, ["Not yet", "Meets", "Meets", "Meets"], feedback=MARKDOWN)
    for i, key in enumerate(k for k in form if k.startswith("remark-")):
        form[key] = x(i)
    resp = _form(assessor, f"/o/{slug}/review/{sub}", {**form, "action": "confirm"})
    assert resp.status_code == 302
    aid = w.ids["aid"]
    resp = _form(
        admin, f"/o/{slug}/awards/{aid}/revoke", {"reason": x(0) + x(2)}, f"/o/{slug}/awards"
    )
    assert resp.status_code == 302
    sent += len(form)
    return pages, sent


def test_script_in_every_text_field_renders_inert(world: World) -> None:
    w = world
    pages, sent = _inject(w)
    with w.app.test_request_context():
        w.ids["batch"] = make_bulk_batch(w)  # the bulk-award pages need one to show
    walker = Walker(w)
    seen = 0
    for endpoint, decl in DECLARATIONS.items():
        rule = w.app.url_map._rules_by_endpoint.get(endpoint)
        if not rule or "GET" not in methods_of(rule[0]) or endpoint == "accounts.logout":
            continue
        url = walker.url(endpoint, decl, w.ids)
        for role in ("anonymous", "worker", "assessor", "admin"):
            if decl.expect[role] != OK:
                continue
            resp = w.client(role).get(url)
            if resp.mimetype == "text/html":
                assert active_markup(resp.get_data(as_text=True)) == [], (url, role)
                seen += 1
    for url in pages:
        for role in ("worker", "admin"):
            resp = w.client(role).get(url)
            if resp.status_code == 200:
                assert active_markup(resp.get_data(as_text=True)) == [], (url, role)
                seen += 1
    # The payloads really reached the pages (escaped), so the check above looked at them.
    badge = w.client("anonymous").get(f"/badges/{w.ids['aid']}").get_data(as_text=True)
    assert "&lt;script&gt;alert" in badge or "alert(" in badge
    assert seen > 100 and sent > 150
    print(
        f"\nhostile text: {len(XSS) + len(MARKDOWN_ONLY)} payloads, "
        f"{sent} field submissions, {seen} pages checked"
    )


# -- open redirects --------------------------------------------------------------------------------
REDIRECTS = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "https:evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "http://localhost@evil.example",
    "/\r\nLocation: https://evil.example",
]


def test_next_parameter_never_leaves_the_site(client: Client, make) -> None:
    for target in REDIRECTS:
        assert not is_safe_redirect(target), repr(target)
    make.user(email="wren@example.org")
    # Through the sign-in form for the kinds that once got through or broke the response.
    for target in ("//evil.example/", "/\t/evil.example", "/\r\nLocation: https://evil.example"):
        token = client.csrf_token("/login")
        resp = client.post(
            "/login",
            query_string={"next": target},
            data={"csrf_token": token, "email": "wren@example.org", "password": PASSWORD},
        )
        assert resp.status_code == 302 and resp.headers["Location"] == "/dashboard", target
        # Signed in, /login sends straight on: no redirect there either.
        again = client.get("/login", query_string={"next": target})
        assert again.headers["Location"] == "/dashboard"
        client.submit("/logout", page="/dashboard")


# -- files -----------------------------------------------------------------------------------------
PNG_WITH_HTML = samples.png() + b"<html><script>alert(1)</script></html>"
PDF_WITH_HTML = b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n%%EOF\n"
SVG_SCRIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script>'
    b'<a href="javascript:alert(3)"><text>x</text></a></svg>'
)
#: name, bytes, accepted?
FILES = [
    ("polyglot.pdf", PDF_WITH_HTML, True),
    ("polyglot.png", PNG_WITH_HTML, True),
    ("drawing.svg", SVG_SCRIPT, False),
    ("page.html", samples.html(), False),
    ("reordered.docx", samples.docx(reordered=True), True),
    ("archive.zip", samples.plain_zip(), False),
    ("program.exe", samples.exe(), False),
    ("empty.pdf", b"", False),
    ("big.pdf", b"%PDF-1.4\n" + b"0" * 70_000, False),
    ("\u202eexe.\u200bpng\x00\x07\r\n", samples.png(), True),
    ("../../" + "long" * 200 + ".png", samples.png(), True),
]


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"max_upload_bytes": 64 * 1024}


def _stored_objects(app: Flask) -> set[Path]:
    root = Path(app.config["PORTFOLIO"].local_storage_path)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _send(client: Client, path: str, name: str, data: bytes) -> Any:
    token = client.csrf_token("/portfolio/upload")
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    if path == "form":
        form = {"csrf_token": token, "file": (io.BytesIO(data), name)}
        return client.post("/portfolio/upload", data=form, content_type="multipart/form-data")
    if path == "raw":
        return client.put(
            "/portfolio/api/files", data=data, query_string={"filename": name}, headers=headers
        )
    start = client.post(
        "/portfolio/uploads", json={"filename": name, "size": len(data)}, headers=headers
    )
    if start.status_code != 201:
        return start
    ticket = start.get_json()
    target = ticket["url"].split("localhost", 1)[-1]
    put = client.put(target, data=data, headers=ticket.get("headers") or {})
    if put.status_code >= 400:
        client.delete(f"/portfolio/uploads/{ticket['id']}", headers=headers)
        return put
    return client.post(f"/portfolio/uploads/{ticket['id']}/finalize", headers=headers)


@pytest.mark.parametrize("path", ["form", "raw", "direct"])
def test_hostile_files_on_every_upload_path(app: Flask, client: Client, make, path: str) -> None:
    make.user(email="wren@example.org")
    client.login("wren@example.org")
    for name, data, accepted in FILES:
        if path == "raw" and "\x00" in name:
            # There the name travels in the query string, and an address holding a NUL
            # character is refused whole (400, nothing written): no file system has such names.
            accepted = False
        before_rows = db.session.query(EvidenceItem).count()
        before_objects = _stored_objects(app)
        resp = _send(client, path, name, data)
        assert resp.status_code < 500, (path, name)
        db.session.expire_all()
        items = db.session.query(EvidenceItem).order_by(EvidenceItem.id).all()
        if not accepted:
            assert resp.status_code in (400, 413, 422), (path, name, resp.status_code)
            assert len(items) == before_rows, (path, name)
            assert _stored_objects(app) <= before_objects, (path, name, "orphaned object")
            continue
        assert resp.status_code in (200, 201, 302), (path, name, resp.status_code)
        item = items[-1]
        assert item.state == "ready"
        shown = item.original_filename or ""
        assert not any(c in shown for c in "\u202e\u200b\x00\x07\r\n/"), shown
        assert len(shown) <= 200
        assert item.media_type not in ("text/html", "image/svg+xml"), name
        # Downloads come as attachments, with nosniff and the checked type.
        dl = client.get(f"/portfolio/items/{item.public_id}/download")
        assert dl.status_code == 302
        got = client.get(dl.location.split("localhost", 1)[-1])
        assert got.status_code == 200
        assert got.headers["Content-Disposition"].startswith("attachment"), name
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert got.mimetype == item.media_type and "html" not in got.mimetype
        # Inline previews run no script, even the polyglots.
        shown_inline = client.get(f"/portfolio/items/{item.public_id}/preview")
        assert shown_inline.headers["X-Content-Type-Options"] == "nosniff"
        assert "html" not in shown_inline.mimetype
        assert "'none'" in shown_inline.headers["Content-Security-Policy"]


def test_hostile_images_for_logos_and_badges(app: Flask, client: Client, make) -> None:
    from portfolio.accounts.models import Role

    org = make.org()
    make.user((org, Role.ADMIN), email="admin@example.org")
    client.login("admin@example.org")
    for name, data in (
        ("logo.svg", SVG_SCRIPT),
        ("logo.png", PNG_WITH_HTML),
        ("x.pdf", PDF_WITH_HTML),
    ):
        token = client.csrf_token(f"/o/{org.slug}/settings")
        resp = client.post(
            f"/o/{org.slug}/settings",
            data={
                "csrf_token": token,
                "name": "Org",
                "url": "https://ok.example",
                "email": "a@example.org",
                "logo": (io.BytesIO(data), name),
            },
            content_type="multipart/form-data",
        )
        assert resp.status_code < 500, name
        logo = new_client(app).get(f"/o/{org.slug}/logo")
        if logo.status_code == 200:
            assert logo.mimetype.startswith("image/"), name
            body = logo.get_data()
            if logo.mimetype == "image/svg+xml":
                assert b"<script" not in body and b"onload" not in body, name
            assert logo.headers["X-Content-Type-Options"] == "nosniff"


def test_very_long_fields_and_control_characters_get_a_message(client: Client, make) -> None:
    make.user(email="wren@example.org")
    client.login("wren@example.org")
    resp = client.submit(
        "/portfolio/reflections/new", {"title": "t" * 100_000, "body": "b" * 200_000}
    )
    assert resp.status_code == 200 and "characters" in resp.get_data(as_text=True)
    assert db.session.query(EvidenceItem).count() == 0
    resp = client.submit(
        "/portfolio/reflections/new", {"title": "\u202eevil\x00\x1b[31m\u2066x", "body": "ok"}
    )
    assert resp.status_code == 302
    item = db.session.query(EvidenceItem).one()
    assert not any(c in item.title for c in "\u202e\x00\x1b\u2066"), repr(item.title)
    big = client.post(
        "/portfolio/links/new",
        data={
            "csrf_token": client.csrf_token("/portfolio/links/new"),
            "title": "x" * (20 * 1024 * 1024),
        },
    )
    assert big.status_code == 413
