"""Library pages, links, reflections, editing, deleting and frozen items."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select

from portfolio.accounts.models import User
from portfolio.core.db import utcnow
from portfolio.evidence import services
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.storage import get_storage
from tests.conftest import Client
from tests.evidence import samples
from tests.evidence.conftest import upload


def only_item() -> EvidenceItem:
    db.session.expire_all()
    [item] = db.session.scalars(select(EvidenceItem))
    return item


def test_library_grid_and_list_show_thumbnails_and_icons(app: Flask, worker_client: Client) -> None:
    upload(worker_client, "weld.jpg", samples.jpeg(), tags="welding")
    upload(worker_client, "report.pdf", samples.pdf())
    grid = worker_client.get("/portfolio/").get_data(as_text=True)
    assert grid.count('class="evidence-card"') == 2
    assert 'class="thumb"' in grid and "type-pdf" in grid
    listing = worker_client.get("/portfolio/?view=list").get_data(as_text=True)
    assert listing.count('class="evidence-row"') == 2 and "report.pdf" in listing
    by_tag = worker_client.get("/portfolio/?tag=welding").get_data(as_text=True)
    assert by_tag.count('class="evidence-card"') == 1


def test_item_page_previews_by_type(app: Flask, worker_client: Client) -> None:
    for name, data, marker in [
        ("a.jpg", samples.jpeg(), 'class="preview-image"'),
        ("b.pdf", samples.pdf(), 'class="preview-pdf"'),
        ("c.mp4", samples.mp4(), "<video"),
        ("d.wav", samples.wav(), "<audio"),
        ("e.docx", samples.docx(), "No preview"),
    ]:
        resp = upload(worker_client, name, data)
        page = worker_client.get(resp.location).get_data(as_text=True)
        assert marker in page, name


def test_preview_is_inline_only_for_safe_types_and_nosniff(
    app: Flask, worker_client: Client
) -> None:
    pdf_item = upload(worker_client, "b.pdf", samples.pdf()).location.rsplit("/", 1)[-1]
    doc_item = upload(worker_client, "e.docx", samples.docx()).location.rsplit("/", 1)[-1]
    # Served by the app itself (never a redirect to the store), with its checked type.
    pdf = worker_client.get(f"/portfolio/items/{pdf_item}/preview")
    assert pdf.headers["Content-Disposition"].startswith("inline;")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert pdf.headers["X-Frame-Options"] == "SAMEORIGIN"  # framed by the item page
    doc = worker_client.get(f"/portfolio/items/{doc_item}/preview")
    assert doc.headers["Content-Disposition"].startswith("attachment;")
    dl = worker_client.get(worker_client.get(f"/portfolio/items/{pdf_item}/download").location)
    assert dl.headers["Content-Disposition"].startswith("attachment;")
    assert dl.data == samples.pdf()


def test_link_and_reflection_are_sanitized(app: Flask, worker_client: Client) -> None:
    resp = worker_client.submit(
        "/portfolio/links/new", {"title": "Site video", "url": "javascript:alert(1)", "tags": ""}
    )
    assert resp.status_code == 200 and "must start with http" in resp.get_data(as_text=True)
    resp = worker_client.submit(
        "/portfolio/links/new",
        {
            "title": "Site video",
            "url": "https://video.example/watch?v=1",
            "description": "Shot on **site B**",
            "item_date": "2026-03-01",
            "tags": "video",
        },
    )
    assert resp.status_code == 302
    page = worker_client.get(resp.location).get_data(as_text=True)
    assert "<strong>site B</strong>" in page and "https://video.example/watch?v=1" in page
    resp = worker_client.submit(
        "/portfolio/reflections/new",
        {
            "title": "What I learned",
            "body": "I *checked* the bead.<script>alert(1)</script>",
            "tags": "reflection",
        },
    )
    assert resp.status_code == 302
    page = worker_client.get(resp.location).get_data(as_text=True)
    assert "<em>checked</em>" in page and "<script>alert(1)" not in page


def test_edit_and_delete_item(app: Flask, worker_client: Client) -> None:
    loc = upload(worker_client, "weld.jpg", samples.jpeg()).location
    pid = loc.rsplit("/", 1)[-1]
    resp = worker_client.submit(
        f"/portfolio/items/{pid}/edit",
        {"title": "Root pass", "description": "", "item_date": "2026-01-02", "tags": "a, b"},
    )
    assert resp.status_code == 302
    item = only_item()
    assert item.title == "Root pass" and item.tags == ["a", "b"]
    keys = [item.storage_key, item.thumbnail_key]
    resp = worker_client.submit(f"/portfolio/items/{pid}/delete", page=loc)
    assert resp.status_code == 302
    assert db.session.scalars(select(EvidenceItem)).all() == []
    assert not any(get_storage().exists(k) for k in keys)


def test_submitted_item_stays_manageable_and_says_why(
    app: Flask, worker_client: Client, worker: User
) -> None:
    """Issue 15, finding 21: submissions keep frozen copies, so the worker still edits and
    deletes a submitted item; the page says the submission is not affected."""
    loc = upload(worker_client, "weld.jpg", samples.jpeg()).location
    pid = loc.rsplit("/", 1)[-1]
    item = only_item()
    item.frozen_at = utcnow()
    db.session.commit()
    assert services.is_item_frozen(item)
    page = worker_client.get(loc).get_data(as_text=True)
    assert "does not change what you submitted" in page and ">Edit<" in page
    assert f"/confirm/portfolio/items/{pid}/delete" in page
    resp = worker_client.submit(
        f"/portfolio/items/{pid}/edit",
        {"title": "Changed", "description": "", "item_date": "2026-01-02", "tags": ""},
        page=f"/portfolio/items/{pid}/edit",
    )
    assert resp.status_code == 302
    db.session.rollback()
    assert only_item().title == "Changed"
    resp = worker_client.submit(
        f"/portfolio/items/{pid}/delete", page=f"/confirm/portfolio/items/{pid}/delete"
    )
    assert resp.status_code == 302
    db.session.rollback()
    assert db.session.scalars(select(EvidenceItem)).all() == []


def test_large_streamed_upload_with_local_backend(app: Flask, worker_client: Client) -> None:
    data = samples.wav() + b"\x01" * (3 * 1024 * 1024 + 17)
    assert upload(worker_client, "long.wav", data).status_code == 302
    item = only_item()
    root = Path(app.config["PORTFOLIO"].local_storage_path)
    assert (root / item.storage_key).read_bytes() == data


def test_my_portfolio_link_on_dashboard_and_nav(app: Flask, worker_client: Client) -> None:
    page = worker_client.get("/dashboard").get_data(as_text=True)
    assert page.count('href="/portfolio/"') >= 2


def test_demo_evidence_is_loaded_once(app: Flask) -> None:
    from portfolio.demo import load_demo

    load_demo()
    load_demo()
    db.session.expire_all()
    from portfolio.accounts.models import User

    worker = db.session.scalars(select(User).where(User.email == "worker@northwind.example")).one()
    found = db.session.scalars(select(EvidenceItem).where(EvidenceItem.owner_id == worker.id)).all()
    assert sorted(str(i.kind) for i in found) == ["file", "file", "link", "text"]
    photo = next(i for i in found if i.media_type == "image/jpeg")
    assert photo.thumbnail_key and get_storage().exists(photo.thumbnail_key)
