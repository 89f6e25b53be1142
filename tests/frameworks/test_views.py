"""Framework and rubric pages: access, the editor, and immutability of published versions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portfolio.accounts.models import Role
from portfolio.extensions import db
from portfolio.frameworks.case import export as case_export
from portfolio.frameworks.case import importer as case_importer
from portfolio.frameworks.models import Framework, Rubric, RubricVersion
from portfolio.frameworks.services import rubrics as rubric_services
from portfolio.frameworks.services import tree as tree_services
from tests.conftest import Client, make_published_rubric

DATA = Path(__file__).parent / "data"


@pytest.fixture
def setup(make):  # type: ignore[no-untyped-def]
    org = make.org("Northwind", slug="northwind")
    other = make.org("Elsewhere", slug="elsewhere")
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    learner = make.user((org, Role.LEARNER), email="learner@example.org")
    make.user((org, Role.ASSESSOR), email="assessor@example.org")
    make.user((other, Role.ADMIN), email="other@example.org")
    fw = case_importer.import_case_package(
        admin, org, (DATA / "welding_case.json").read_bytes(), "w.json"
    ).framework
    rubric = make_published_rubric(admin, org)
    db.session.commit()
    return {"org": org, "admin": admin, "learner": learner, "fw": fw, "rubric": rubric}


def urls(s) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    fw, rubric = s["fw"], s["rubric"]
    comp = fw.competencies[0]
    v = rubric.latest
    base = "/o/northwind"
    return [
        ("GET", f"{base}/frameworks"),
        ("GET", f"{base}/frameworks/new"),
        ("POST", f"{base}/frameworks/new"),
        ("GET", f"{base}/frameworks/{fw.public_id}"),
        ("POST", f"{base}/frameworks/{fw.public_id}/edit"),
        ("POST", f"{base}/frameworks/{fw.public_id}/delete"),
        ("POST", f"{base}/frameworks/{fw.public_id}/competencies"),
        ("POST", f"{base}/frameworks/{fw.public_id}/competencies/{comp.public_id}/edit"),
        ("POST", f"{base}/frameworks/{fw.public_id}/competencies/{comp.public_id}/delete"),
        ("POST", f"{base}/frameworks/import"),
        ("GET", f"{base}/frameworks/{fw.public_id}/case.json"),
        ("GET", f"{base}/rubrics"),
        ("POST", f"{base}/rubrics/new"),
        ("POST", f"{base}/rubrics/import-csv"),
        ("GET", f"{base}/rubrics/{rubric.public_id}"),
        ("GET", f"{base}/rubrics/{rubric.public_id}/versions/{v.public_id}"),
        ("POST", f"{base}/rubrics/{rubric.public_id}/versions/{v.public_id}/edit"),
        ("POST", f"{base}/rubrics/{rubric.public_id}/versions/{v.public_id}/publish"),
        ("POST", f"{base}/rubrics/{rubric.public_id}/new-version"),
    ]


def test_anonymous_is_sent_to_login(client: Client, setup) -> None:
    token = client.csrf_token("/login")
    for method, url in urls(setup):
        resp = client.open(url, method=method, data={"csrf_token": token})
        assert resp.status_code == 302 and "/login" in resp.location, (method, url)


@pytest.mark.parametrize("email", ["learner@example.org", "assessor@example.org"])
def test_members_who_are_not_admins_get_403(client: Client, setup, email: str) -> None:
    client.login(email)
    token = client.csrf_token("/account/password")
    for method, url in urls(setup):
        resp = client.open(url, method=method, data={"csrf_token": token, "title": "Hacked"})
        assert resp.status_code == 403, (method, url)
    assert db.session.scalar(select(func.count()).select_from(Framework)) == 1


def test_another_organizations_admin_is_refused(client: Client, setup) -> None:
    client.login("other@example.org")
    token = client.csrf_token("/account/password")
    for method, url in urls(setup):
        resp = client.open(url, method=method, data={"csrf_token": token, "title": "Hacked"})
        assert resp.status_code in (403, 404), (method, url)
    # Their own slug with our object ids finds nothing.
    fw = setup["fw"]
    assert client.get(f"/o/elsewhere/frameworks/{fw.public_id}").status_code == 404
    assert client.get(f"/o/elsewhere/rubrics/{setup['rubric'].public_id}").status_code == 404


def editor_form(html: str) -> dict[str, object]:
    """The fields of the editor as a browser would post them (checkboxes only when checked)."""
    data: dict[str, object] = {}

    def put(name: str, value: str) -> None:
        if name in data:
            existing = data[name]
            data[name] = (existing if isinstance(existing, list) else [existing]) + [value]
        else:
            data[name] = value

    for tag in re.findall(r"<input[^>]+>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) in ("checkbox", "radio") and "checked" not in tag:
            continue
        put(name.group(1), value.group(1) if value else "")
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        put(name, body)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        selected = re.search(r'<option value="([^"]*)" selected', body)
        put(name, selected.group(1) if selected else "")
    return data


def test_editor_builds_a_rubric_and_publishing_freezes_it(client: Client, setup) -> None:
    client.login("admin@example.org")
    resp = client.submit("/o/northwind/rubrics/new", {"title": "Fillet weld", "framework": ""})
    assert resp.status_code == 302
    edit_url = resp.location
    page = client.get(edit_url).get_data(as_text=True)
    for _ in range(2):
        data = editor_form(page)
        data["action"] = "add_element"
        resp = client.submit(edit_url, data)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        page = client.get(edit_url).get_data(as_text=True)
    data = editor_form(page)
    keys = data["element_keys"]
    assert isinstance(keys, list) and len(keys) == 2
    for n, key in enumerate(keys):
        data[f"element-{key}-title"] = f"Element {n}"
        for lkey in data["level_keys"]:  # type: ignore[union-attr]
            data[f"cell-{key}-{lkey}"] = f"Descriptor {n} {lkey}"
    data["action"] = f"down_element:{keys[0]}"
    assert client.submit(edit_url, data).status_code == 302

    rubric = db.session.scalar(select(Rubric).where(Rubric.title == "Fillet weld"))
    version = rubric.latest
    db.session.refresh(version)
    assert [e.title for e in version.elements] == ["Element 1", "Element 0"]
    assert rubric_services.publication_problems(version) == []

    preview = client.get(edit_url.replace("/edit", "")).get_data(as_text=True)
    assert "Element 0" in preview and "To pass:" in preview
    publish_url = edit_url.replace("/edit", "/publish")
    assert client.submit(publish_url, {}, page=edit_url.replace("/edit", "")).status_code == 302
    db.session.expire_all()
    assert rubric.latest.published_at is not None


def test_published_version_cannot_be_changed_by_any_route(client: Client, setup) -> None:
    rubric = setup["rubric"]
    version = rubric.latest
    before = case_export.export_rubric(version, rubric)
    client.login("admin@example.org")
    base = f"/o/northwind/rubrics/{rubric.public_id}/versions/{version.public_id}"
    token = client.csrf_token("/account/password")
    el = version.elements[0]
    for action in ("save", "add_element", "add_level", f"remove_element:e{el.public_id}"):
        resp = client.post(
            base + "/edit",
            data={
                "csrf_token": token,
                "action": action,
                "title": "Changed",
                "element_keys": [f"e{e.public_id}" for e in version.elements],
                f"element-e{el.public_id}-title": "Changed",
            },
        )
        assert resp.status_code == 409, action
    assert client.post(base + "/publish", data={"csrf_token": token}).status_code == 409
    # The editor page of a published version does not offer editing.
    assert client.get(base + "/edit").status_code == 302
    with pytest.raises(Exception, match="can no longer change"):
        rubric_services.save_version(
            setup["admin"], version, rubric_services.version_as_input(version)
        )
    db.session.rollback()
    db.session.expire_all()
    assert case_export.export_rubric(db.session.get(RubricVersion, version.id), rubric) == before


def test_editing_a_published_rubric_starts_a_new_version(client: Client, setup) -> None:
    rubric = setup["rubric"]
    v1 = rubric.latest
    snapshot = case_export.export_rubric(v1, rubric)
    client.login("admin@example.org")
    page = f"/o/northwind/rubrics/{rubric.public_id}"
    resp = client.submit(page + "/new-version", {}, page=page)
    assert resp.status_code == 302
    db.session.expire_all()
    assert [v.number for v in rubric.versions] == [1, 2]
    v2 = rubric.latest
    assert resp.location.endswith(f"/versions/{v2.public_id}/edit")
    html = client.get(resp.location).get_data(as_text=True)
    data = editor_form(html)
    key = data["element_keys"][0]  # type: ignore[index]
    data[f"element-{key}-title"] = "Joint preparation and fit-up"
    data["action"] = "save"
    assert client.submit(resp.location, data).status_code == 302
    db.session.expire_all()
    assert rubric.latest.elements[0].title == "Joint preparation and fit-up"
    assert case_export.export_rubric(db.session.get(RubricVersion, v1.id), rubric) == snapshot
    # Elements of the old version stay where they were: old assessments keep their rows.
    assert v1.elements[0].title == "Joint preparation"


def test_editor_keeps_typed_text_when_saving_fails(client: Client, setup) -> None:
    client.login("admin@example.org")
    rubric = rubric_services.create_rubric(setup["admin"], setup["org"], title="Draft")
    db.session.commit()
    url = f"/o/northwind/rubrics/{rubric.public_id}/versions/{rubric.latest.public_id}/edit"
    data = editor_form(client.get(url).get_data(as_text=True))
    lkey = data["level_keys"][0]  # type: ignore[index]
    data[f"level-{lkey}-points"] = "lots"
    data["description"] = "Typed but not saved"
    data["action"] = "save"
    resp = client.submit(url, data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "points must be a number" in html and "Typed but not saved" in html


def test_case_import_page_reports_problems_and_duplicates(client: Client, setup) -> None:
    client.login("admin@example.org")
    url = "/o/northwind/frameworks/import"
    resp = client.submit(
        url,
        {"package": ((DATA / "broken_cycle.json").open("rb"), "broken_cycle.json")},
        content_type="multipart/form-data",
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Nothing was imported" in html and "cycle" in html
    resp = client.submit(
        url,
        {"package": ((DATA / "welding_case.json").open("rb"), "w.json")},
        content_type="multipart/form-data",
    )
    assert "imported before" in resp.get_data(as_text=True)
    resp = client.submit(
        url,
        {"package": ((DATA / "welding_case.json").open("rb"), "w.json"), "update_existing": "y"},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Framework)) == 1


def test_case_export_download(client: Client, setup) -> None:
    client.login("admin@example.org")
    resp = client.get(f"/o/northwind/frameworks/{setup['fw'].public_id}/case.json")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    assert resp.json["CFDocument"]["title"] == "Welding Competencies"
    assert len(resp.json["CFItems"]) == 13


def test_framework_and_competency_forms(client: Client, setup) -> None:
    client.login("admin@example.org")
    resp = client.submit("/o/northwind/frameworks/new", {"title": "Electrical", "version": "1"})
    assert resp.status_code == 302
    fw = db.session.scalar(select(Framework).where(Framework.title == "Electrical"))
    page = f"/o/northwind/frameworks/{fw.public_id}"
    client.submit(
        page + "/competencies", {"code": "EL-1", "statement": "Isolate", "parent": ""}, page=page
    )
    db.session.expire_all()
    top = fw.competencies[0]
    client.submit(
        page + "/competencies",
        {"code": "EL-1.1", "statement": "Lock out", "parent": top.public_id},
        page=page,
    )
    db.session.expire_all()
    assert [(c.code, d) for c, d in tree_services.competency_tree(fw)] == [
        ("EL-1", 0),
        ("EL-1.1", 1),
    ]
    html = client.get(page).get_data(as_text=True)
    assert "EL-1" in html and "EL-1.1" not in html and "1 below" in html
    branch = client.get(f"{page}?at={top.public_id}").get_data(as_text=True)
    assert "EL-1.1" in branch and "Lock out" in branch


def test_upload_too_large_is_refused_by_the_form(client: Client, setup, monkeypatch) -> None:
    from portfolio.frameworks import forms

    monkeypatch.setattr(forms.ImportCaseForm.package.kwargs["validators"][1], "max_bytes", 100)
    client.login("admin@example.org")
    resp = client.submit(
        "/o/northwind/frameworks/import",
        {"package": ((DATA / "welding_case.json").open("rb"), "w.json")},
        content_type="multipart/form-data",
    )
    assert "larger than" in resp.get_data(as_text=True)
