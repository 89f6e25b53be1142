"""Credentials: admin-only changes, publishing rules, images, and the public catalogue."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from portfolio.accounts.models import Role
from portfolio.core.errors import DomainError, Forbidden
from portfolio.credentials import services
from portfolio.credentials.models import Credential, CredentialState
from portfolio.extensions import db
from portfolio.frameworks.services import competencies as competency_services
from portfolio.frameworks.services import frameworks as framework_services
from portfolio.frameworks.services import rubrics as rubric_services
from tests.conftest import Client, make_published_rubric

EVIL_SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     viewBox="0 0 100 100" onload="alert(1)">
  <script>alert(document.cookie)</script>
  <foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>
  <circle cx="50" cy="50" r="40" fill="url(#g)" onclick="alert(2)"/>
  <image href="https://evil.example/track.png" width="1" height="1"/>
  <use xlink:href="https://evil.example/sprite.svg#a"/>
  <rect width="10" height="10" style="fill:url(https://evil.example/x)"/>
</svg>"""


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def setup(make):  # type: ignore[no-untyped-def]
    org = make.org("Northwind", slug="northwind")
    other = make.org("Elsewhere", slug="elsewhere")
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    make.user((org, Role.LEARNER), email="learner@example.org")
    make.user((other, Role.ADMIN), email="other@example.org")
    rubric = make_published_rubric(admin, org)
    fw = framework_services.create_framework(admin, org, title="Welding")
    comp = competency_services.add_competency(admin, fw, code="WLD-2.3", statement="Weld vertical")
    cred = services.create_credential(
        admin,
        org,
        services.CredentialInput(
            name="Vertical welder",
            description="Welds 3G plate.",
            criteria_md="Weld **two** plates. <script>alert(1)</script>",
            tags=["welding", "3G"],
            rubric_version_id=rubric.latest.id,
            expiry_months=36,
            max_attempts=3,
            competency_ids=[comp.id],
            external=[
                services.ExternalAlignment("AWS D1.1", "https://aws.example/d11", "AWS", "D1.1")
            ],
        ),
    )
    draft = services.create_credential(admin, org, services.CredentialInput(name="Secret draft"))
    db.session.commit()
    return {
        "org": org,
        "admin": admin,
        "rubric": rubric,
        "cred": cred,
        "draft": draft,
        "comp": comp,
    }


def test_criteria_markdown_is_sanitized_and_fields_are_kept(setup) -> None:
    cred = setup["cred"]
    assert "<strong>two</strong>" in cred.criteria_html and "<script>" not in cred.criteria_html
    assert cred.tag_names == ["3G", "welding"]
    assert [a.code for a in cred.alignments] == ["WLD-2.3", "D1.1"]
    assert cred.alignments[1].target_url == "https://aws.example/d11"


def test_publishing_needs_a_published_rubric_version(setup) -> None:
    admin, org = setup["admin"], setup["org"]
    draft_rubric = rubric_services.create_rubric(admin, org, title="Unpublished")
    with pytest.raises(DomainError, match="published rubric version"):
        services.update_credential(
            admin,
            setup["draft"],
            services.CredentialInput(name="Secret draft", rubric_version_id=draft_rubric.latest.id),
        )
    db.session.rollback()
    with pytest.raises(DomainError, match="cannot be published"):
        services.publish_credential(admin, setup["draft"])
    services.publish_credential(admin, setup["cred"])
    assert setup["cred"].state == CredentialState.PUBLISHED


def test_only_admins_change_credentials(setup, make) -> None:
    learner = make.user((setup["org"], Role.LEARNER))
    with pytest.raises(Forbidden):
        services.update_credential(learner, setup["cred"], services.CredentialInput(name="X"))
    with pytest.raises(Forbidden):
        services.publish_credential(learner, setup["cred"])


def test_svg_image_is_cleaned_and_served_sandboxed(client: Client, setup) -> None:
    cred = setup["cred"]
    services.set_credential_image(setup["admin"], cred, EVIL_SVG)
    services.publish_credential(setup["admin"], cred)
    db.session.commit()
    resp = client.get(f"/o/northwind/credentials/{cred.public_id}/image")
    assert resp.status_code == 200
    assert resp.mimetype == "image/svg+xml"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    body = resp.get_data(as_text=True)
    for bad in ("script", "onload", "onclick", "foreignObject", "evil.example", "style="):
        assert bad not in body, bad
    assert "<circle" in body and 'fill="url(#g)"' in body


def test_png_image_is_accepted_and_other_types_refused(setup) -> None:
    cred = setup["cred"]
    services.set_credential_image(setup["admin"], cred, png_bytes())
    assert cred.image_content_type == "image/png"
    for data in (b"%PDF-1.4 hello", b"GIF89a" + b"\0" * 20, b"<html><script>x</script></html>"):
        with pytest.raises(DomainError):
            services.set_credential_image(setup["admin"], cred, data)


def test_catalogue_is_public_and_shows_only_published(client: Client, setup) -> None:
    cred, draft = setup["cred"], setup["draft"]
    services.publish_credential(setup["admin"], cred)
    db.session.commit()
    html = client.get("/o/northwind/catalogue").get_data(as_text=True)
    assert "Vertical welder" in html and "Secret draft" not in html
    page = client.get(f"/o/northwind/catalogue/{cred.public_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in (
        "Joint preparation",
        "Weld quality",
        "Not yet",
        "Exceeds",
        "Weld quality at level 2",
        "To pass:",
        "Meets",
        "Show weld quality",
        "WLD-2.3",
        "AWS D1.1",
        "36 months",
        "3 attempts",
    ):
        assert text in html, text
    assert client.get(f"/o/northwind/catalogue/{draft.public_id}").status_code == 404
    assert client.get(f"/o/elsewhere/catalogue/{cred.public_id}").status_code == 404
    assert client.get(f"/o/northwind/credentials/{draft.public_id}/image").status_code == 404


def credential_urls(setup) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    cid = setup["cred"].public_id
    base = "/o/northwind/credentials"
    return [
        ("GET", base),
        ("GET", f"{base}/new"),
        ("POST", f"{base}/new"),
        ("GET", f"{base}/{cid}"),
        ("POST", f"{base}/{cid}/edit"),
        ("POST", f"{base}/{cid}/publish"),
        ("POST", f"{base}/{cid}/archive"),
        ("POST", f"{base}/{cid}/restore"),
    ]


def test_credential_pages_access(client: Client, other_client: Client, setup) -> None:
    token = client.csrf_token("/login")
    for method, url in credential_urls(setup):
        resp = client.open(url, method=method, data={"csrf_token": token})
        assert resp.status_code == 302 and "/login" in resp.location, (method, url)
    client.login("learner@example.org")
    other_client.login("other@example.org")
    for c, allowed in ((client, (403,)), (other_client, (403, 404))):
        token = c.csrf_token("/account/password")
        for method, url in credential_urls(setup):
            resp = c.open(url, method=method, data={"csrf_token": token, "name": "Hacked"})
            assert resp.status_code in allowed, (method, url)
    db.session.expire_all()
    assert db.session.scalar(select(Credential).where(Credential.name == "Hacked")) is None
    assert setup["cred"].state == CredentialState.DRAFT


def test_admin_creates_and_publishes_through_the_forms(client: Client, setup) -> None:
    client.login("admin@example.org")
    version = setup["rubric"].latest
    resp = client.submit(
        "/o/northwind/credentials/new",
        {
            "name": "Safe welder",
            "description": "Works safely.",
            "criteria_md": "Show *PPE*.",
            "tags": "safety, welding",
            "rubric_version": str(version.id),
            "expiry_months": "24",
            "max_attempts": "",
            "competencies": [str(setup["comp"].id)],
            "external_alignments": "OSHA 1910 | https://osha.example | OSHA | 1910.252",
            "image": (io.BytesIO(png_bytes()), "badge.png"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    cred = db.session.scalar(select(Credential).where(Credential.name == "Safe welder"))
    assert cred.image_content_type == "image/png" and cred.expiry_months == 24
    assert cred.max_attempts is None and len(cred.alignments) == 2
    page = resp.location
    resp = client.submit(page + "/publish", {}, page=page)
    assert resp.status_code == 302
    db.session.expire_all()
    assert cred.state == CredentialState.PUBLISHED
    assert "Safe welder" in client.get("/o/northwind/catalogue").get_data(as_text=True)
