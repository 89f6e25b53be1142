"""Issue 15, finding 25: the rubric CSV import names the competency framework, and the editor of
the imported rubric then offers only that framework's competencies."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from portfolio.accounts.models import Role
from portfolio.extensions import db
from portfolio.frameworks.models import Rubric
from portfolio.frameworks.services import competencies as competency_services
from portfolio.frameworks.services import frameworks as framework_services
from tests.conftest import Client

DATA = Path(__file__).parent / "data"


def test_csv_import_names_the_framework(client: Client, make) -> None:  # type: ignore[no-untyped-def]
    org = make.org(slug="acme")
    admin = make.user((org, Role.ADMIN), email="ada@example.org")
    welding = framework_services.create_framework(admin, org, title="Welding")
    competency_services.add_competency(
        admin, welding, statement="Prepare a fillet joint", code="W1"
    )
    cooking = framework_services.create_framework(admin, org, title="Cooking")
    competency_services.add_competency(admin, cooking, statement="Poach an egg", code="C1")
    db.session.commit()
    client.login("ada@example.org")
    form = client.get("/o/acme/rubrics/import-csv").get_data(as_text=True)
    assert 'name="framework"' in form and ">Welding<" in form and ">Cooking<" in form
    resp = client.post(
        "/o/acme/rubrics/import-csv",
        data={
            "csrf_token": client.csrf_token("/o/acme/rubrics/import-csv"),
            "title": "Fillet weld",
            "framework": welding.public_id,
            "csv_file": (io.BytesIO((DATA / "rubric.csv").read_bytes()), "rubric.csv"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    rubric = db.session.scalar(select(Rubric).where(Rubric.title == "Fillet weld"))
    assert rubric is not None and rubric.framework_id == welding.id
    # The editor's competency search (a server-side picker) lists no competency up front.
    editor = client.get(resp.location).get_data(as_text=True)
    assert "Poach an egg" not in editor
