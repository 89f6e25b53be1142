"""The portfolio ZIP: streamed in constant memory, manifest hashes match the files, badges baked
and as OB 3.0 JSON; account deletion keeps credentials verifiable with evidence withdrawn."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import tracemalloc
import zipfile
from typing import Any

from flask import Flask
from sqlalchemy import select

from portfolio.accounts.models import Role
from portfolio.awards import issuance, portability, verification
from portfolio.awards.ob import bake
from portfolio.core.audit import AuditEvent
from portfolio.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from portfolio.extensions import db
from portfolio.storage import get_storage
from tests.awards.conftest import earned  # noqa: F401 - fixture
from tests.conftest import Client
from tests.submissions.conftest import scenario  # noqa: F401 - fixture

MIB = 1024 * 1024


def big_item(owner_id: int, n: int, size: int) -> EvidenceItem:
    """A file item of `size` random bytes, written to storage in 1 MiB pieces."""
    key = f"evidence/test/{n}-big"
    digest = hashlib.sha256()

    class Source(io.RawIOBase):
        left = size

        def readable(self) -> bool:
            return True

        def read(self, k: int = -1) -> bytes:
            k = min(MIB if k < 0 else k, self.left)
            self.left -= k
            data = os.urandom(k)
            digest.update(data)
            return data

    get_storage().put(key, Source(), "application/octet-stream")  # type: ignore[arg-type]
    item = EvidenceItem(
        owner_id=owner_id,
        kind=EvidenceKind.FILE,
        state=EvidenceState.READY,
        title=f"Site video {n}",
        storage_key=key,
        original_filename=f"video {n}.mp4",
        size=size,
        sha256=digest.hexdigest(),
        media_type="video/mp4",
    )
    db.session.add(item)
    return item


def test_export_is_streamed_in_constant_memory(app: Flask, make: Any) -> None:
    org = make.org()
    worker = make.user((org, Role.LEARNER))
    files, size = 6, 8 * MIB
    items = [big_item(worker.id, n, size) for n in range(files)]
    db.session.commit()
    total = files * size
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        try:
            for chunk in portability.export_portfolio(worker):
                out.write(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert out.tell() > total
        # The whole portfolio is 48 MiB; streaming it never holds more than a few chunks.
        assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB while streaming {total / MIB} MiB"
        out.seek(0)
        with zipfile.ZipFile(out) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            by_id = {m["id"]: m for m in manifest["evidence"]}
            for item in items:
                meta = by_id[item.public_id]
                h = hashlib.sha256()
                with zf.open(meta["file"]) as fh:
                    while block := fh.read(MIB):
                        h.update(block)
                assert meta["sha256"] == h.hexdigest() == item.sha256
                assert meta["size"] == size and "stored_sha256" not in meta


def test_download_has_files_manifest_badges_and_index(client: Client, earned) -> None:
    s, award = earned
    resp = client.get("/account/export.zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert "attachment" in resp.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(resp.get_data())) as zf:
        assert zf.testzip() is None
        manifest = json.loads(zf.read("manifest.json"))
        for meta in manifest["evidence"] + manifest["badges"]:
            if "file" in meta:
                assert hashlib.sha256(zf.read(meta["file"])).hexdigest() == meta["sha256"]
        kinds = {m["kind"] for m in manifest["evidence"]}
        assert kinds == {"file", "link", "text"}
        photo = next(m for m in manifest["evidence"] if m["id"] == s.items["photo"].public_id)
        assert photo["sha256"] == s.items["photo"].sha256 and photo["title"] == "Joint photo"
        link = next(m for m in manifest["evidence"] if m["kind"] == "link")
        assert link["url"] == "https://example.org/log"
        png = next(m for m in manifest["badges"] if m["format"] == "ob3-baked-png")
        baked = bake.extract_png(zf.read(png["file"]))
        assert baked is not None and json.loads(baked.payload) == json.loads(award.ob3_credential)
        doc = next(m for m in manifest["badges"] if m["format"] == "ob3-json")
        assert zf.read(doc["file"]).decode() == award.ob3_credential
        assert png["url"].endswith(f"/badges/{award.public_id}") and png["status"] == "valid"
        index = zf.read("index.html").decode()
        assert "Joint photo" in index and "Fillet Welding" in index and "<script" not in index


def test_export_needs_a_login(app: Flask) -> None:
    app.test_client_class = Client
    anon = app.test_client()
    assert anon.get("/account/export.zip").status_code == 302
    assert anon.post("/account/delete").status_code in (302, 400)


def test_account_deletion_keeps_badges_verifiable(client: Client, earned) -> None:
    s, award = earned
    storage = get_storage()
    frozen = [e.submission_evidence.frozen_key for e in award.evidence if e.submission_evidence]
    frozen = [k for k in frozen if k]
    library = [i.storage_key for i in s.items.values() if i.storage_key]
    assert frozen and all(storage.exists(k) for k in frozen + library)
    resp = client.submit(
        "/account/delete", {"password": "wrong", "confirm": "delete"}, page="/account/data"
    )
    assert resp.status_code == 400 and "not right" in resp.get_data(as_text=True)
    resp = client.submit(
        "/account/delete",
        {"password": "correct horse battery", "confirm": "delete"},
        page="/account/data",
    )
    assert resp.status_code == 302
    db.session.expire_all()
    # Personal data and private evidence are gone.
    assert (
        db.session.scalar(select(EvidenceItem).where(EvidenceItem.owner_id == s.worker.id)) is None
    )
    assert not any(storage.exists(k) for k in frozen + library)
    assert "wren@example.org" not in s.worker.email and s.worker.memberships == []
    assert client.get("/dashboard").status_code == 302  # signed out
    other = client.application.test_client()
    assert other.post("/login", data={"email": "wren@example.org"}).status_code != 302
    # The credential still verifies; its evidence says it was withdrawn.
    award = issuance.get_award(award.public_id)
    assert verification.verify_award(award).valid
    page = client.get(f"/badges/{award.public_id}").get_data(as_text=True)
    assert "Withdrawn by the earner" in page
    evidence = client.get(f"/badges/{award.public_id}/evidence/{award.evidence[0].public_id}")
    assert evidence.status_code == 410 and "withdrawn by the earner" in evidence.get_data(
        as_text=True
    )
    file_url = f"/badges/{award.public_id}/evidence/{award.evidence[0].public_id}/file"
    assert client.get(file_url).status_code == 404
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.delete"))
    assert event is not None and event.data["awards_kept"] == 1
