"""Evidence is private: other workers, assessors of other organizations and visitors get
nothing — no list entry, no page, no preview, no download, no signed URL."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from portfolio.accounts.models import Role, User
from portfolio.evidence import services
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from tests.conftest import Client
from tests.evidence import samples
from tests.evidence.conftest import upload


@pytest.fixture
def item_id(worker_client: Client) -> str:
    resp = upload(worker_client, "private.jpg", samples.jpeg())
    return str(resp.location.rsplit("/", 1)[-1])


ITEM_URLS = [
    "/portfolio/items/{}",
    "/portfolio/items/{}/preview",
    "/portfolio/items/{}/download",
    "/portfolio/items/{}/thumbnail",
    "/portfolio/items/{}/edit",
]


def _outsiders(make: Any) -> dict[str, User | None]:
    other_org = make.org("Other Org")
    return {
        "other worker": make.user((other_org, Role.LEARNER), email="olly@example.org"),
        "assessor of another organization": make.user(
            (other_org, Role.ASSESSOR), email="ava@example.org"
        ),
        "admin of another organization": make.user(
            (other_org, Role.ADMIN), email="adm@example.org"
        ),
        "anonymous": None,
    }


def test_outsiders_cannot_list_preview_download_or_sign(app: Flask, item_id: str, make) -> None:
    item = db.session.query(EvidenceItem).filter_by(public_id=item_id).one()
    for who, user in _outsiders(make).items():
        app.test_client_class = Client
        visitor: Client = app.test_client()  # type: ignore[assignment]
        if user is not None:
            visitor.login(user.email)
        for pattern in ITEM_URLS:
            resp = visitor.get(pattern.format(item_id))
            if user is None:
                assert resp.status_code == 302 and "/login" in resp.location, (who, pattern)
            else:
                assert resp.status_code == 404, (who, pattern)
        resp = visitor.post(f"/portfolio/items/{item_id}/delete")
        assert resp.status_code in {302, 400, 404}
        listing = visitor.get("/portfolio/").get_data(as_text=True)
        assert item_id not in listing and "private.jpg" not in listing, who
        # The service refuses a signed URL outright, whatever the view does.
        assert not services.can_view_item(user, item)
        with pytest.raises(services.NotFound):
            services.download_url(user, item)
        assert services.thumbnail_url(user, item) is None
    assert db.session.query(EvidenceItem).count() == 1


def test_outsiders_cannot_finalize_or_cancel_someone_elses_upload(
    app: Flask, worker_client: Client, other_client: Client, make
) -> None:
    csrf = {
        "X-CSRFToken": worker_client.csrf_token("/portfolio/upload"),
        "Accept": "application/json",
    }
    t = worker_client.post(
        "/portfolio/uploads", json={"filename": "a.txt", "size": 5}, headers=csrf
    ).get_json()
    other = make.user(email="olly@example.org")
    other_client.login(other.email)
    ocsrf = {
        "X-CSRFToken": other_client.csrf_token("/portfolio/upload"),
        "Accept": "application/json",
    }
    for method, url in [
        ("post", f"/portfolio/uploads/{t['id']}/finalize"),
        ("delete", f"/portfolio/uploads/{t['id']}"),
        ("get", f"/portfolio/uploads/{t['id']}/parts/1"),
    ]:
        resp = getattr(other_client, method)(url, headers=ocsrf)
        assert resp.status_code == 404, url
    assert db.session.query(EvidenceItem).count() == 1
