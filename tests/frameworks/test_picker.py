"""The competency picker: a search form, never a list of every competency (rubric editor and
credential form), with a framework of 1,500 competencies."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from portfolio.accounts.models import Role, User
from portfolio.credentials.models import Credential
from portfolio.extensions import db
from portfolio.frameworks.case import importer as case_importer
from portfolio.frameworks.models import Competency, Framework, RubricElement
from tests.conftest import Client
from tests.frameworks.case_packages import chain_package
from tests.frameworks.test_views import editor_form


@pytest.fixture
def big(make):  # type: ignore[no-untyped-def]
    org = make.org("Northwind", slug="northwind")
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    data = chain_package(1500)
    # Flat: every item at the top level, so the tree is wide rather than deep.
    doc_id = data["CFDocument"]["identifier"]
    for a in data["CFAssociations"]:
        a["destinationNodeURI"]["identifier"] = doc_id
    case_importer.import_case_package(admin, org, json.dumps(data).encode(), "big.json")
    db.session.commit()
    return org


def test_rubric_editor_picks_by_search(client: Client, big) -> None:
    client.login("admin@example.org")
    resp = client.submit("/o/northwind/rubrics/new", {"title": "Wiring", "framework": ""})
    edit_url = resp.location
    page = client.get(edit_url).get_data(as_text=True)
    data = editor_form(page)
    data["action"] = "add_element"
    client.submit(edit_url, data)
    page = client.get(edit_url).get_data(as_text=True)
    assert "Step 1234" not in page and "<option" not in page
    data = editor_form(page)
    key = data["element_keys"]
    assert isinstance(key, str)
    data[f"element-{key}-find"] = "c1234"
    data[f"element-{key}-title"] = "Typed before searching"
    data["action"] = f"find_competency:{key}"
    found = client.submit(edit_url, data)
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and "C1234 Step 1234" in html
    assert "Typed before searching" in html  # nothing typed is lost
    target = db.session.scalar(select(Competency).where(Competency.code == "C1234"))
    data = editor_form(html)
    assert data[f"element-{key}-competency"] == ""  # still "None" until chosen
    data[f"element-{key}-competency"] = str(target.id)
    data["action"] = "save"
    assert client.submit(edit_url, data).status_code == 302
    element = db.session.scalar(
        select(RubricElement).where(RubricElement.title == "Typed before searching")
    )
    assert element.competency_id == target.id
    again = client.get(edit_url).get_data(as_text=True)
    assert re.search(rf'value="{target.id}" checked> [^<]*C1234 Step 1234', again)
    nothing = editor_form(again)
    nothing[f"element-{key}-find"] = "no such words"
    nothing["action"] = f"find_competency:{key}"
    assert "No competency matches" in client.submit(edit_url, nothing).get_data(as_text=True)


def test_credential_form_picks_by_search(client: Client, big) -> None:
    client.login("admin@example.org")
    page = client.get("/o/northwind/credentials/new").get_data(as_text=True)
    assert "Step 777" not in page
    fields = {
        "name": "Wirer",
        "description": "Wires.",
        "rubric_version": "",
        "competency_query": "c777",
    }
    found = client.submit("/o/northwind/credentials/new", {**fields, "action": "find_competencies"})
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and "C777 Step 777" in html
    assert not db.session.scalar(select(Credential).where(Credential.name == "Wirer"))
    target = db.session.scalar(select(Competency).where(Competency.code == "C777"))
    saved = client.submit(
        "/o/northwind/credentials/new",
        {**fields, "competency_query": "", "competencies": [str(target.id)]},
    )
    assert saved.status_code == 302, re.findall(
        r"(?:error|flash)[^<]*<[^<]*", saved.get_data(as_text=True)
    )
    cred = db.session.scalar(select(Credential).where(Credential.name == "Wirer"))
    assert [a.competency_id for a in cred.alignments] == [target.id]
    edit = client.get(f"/o/northwind/credentials/{cred.public_id}/edit").get_data(as_text=True)
    assert re.search(rf'value="{target.id}"[^>]*checked|checked[^>]*value="{target.id}"', edit)


def test_rubric_editor_searches_only_the_rubrics_framework(client: Client, big, make) -> None:
    # A second framework whose codes are the same as the first one's.
    admin = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    other = chain_package(20)
    other["CFDocument"]["title"] = "Another framework"
    for item in other["CFItems"]:
        item["fullStatement"] = "Other " + item["fullStatement"]
    case_importer.import_case_package(admin, big, json.dumps(other).encode(), "other.json")
    db.session.commit()
    fw = db.session.scalar(select(Framework).where(Framework.title == "Chain of 1500"))
    client.login("admin@example.org")
    resp = client.submit("/o/northwind/rubrics/new", {"title": "Wiring", "framework": fw.public_id})
    edit_url = resp.location
    data = editor_form(client.get(edit_url).get_data(as_text=True))
    data["action"] = "add_element"
    client.submit(edit_url, data)
    page = client.get(edit_url).get_data(as_text=True)
    assert "Find in Chain of 1500 by code or words" in page
    data = editor_form(page)
    key = data["element_keys"]
    data[f"element-{key}-find"] = "c12"
    data["action"] = f"find_competency:{key}"
    html = client.submit(edit_url, data).get_data(as_text=True)
    assert "C12 Step 12" in html and "Other Step 12" not in html
