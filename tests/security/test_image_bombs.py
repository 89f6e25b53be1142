"""Decompression bombs are refused by their header on every image path, with a plain message
and never a 500 (issue 14, class 4).

The bombs are real files: a PNG of 13,000 by 13,000 black pixels is about 170 KB here (zlib at
its default level) and decodes to 169 MB; the 30,000-pixel one also trips Pillow's own guard.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from portfolio.accounts import organizations
from portfolio.accounts.models import Role
from portfolio.core.errors import DomainError
from portfolio.core.images import MAX_IMAGE_PIXELS, ImageTooLarge
from portfolio.credentials.images import check_badge_image
from portfolio.evidence import previews as evidence_previews
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.storage import get_storage, new_object_key
from tests.conftest import Client
from tests.evidence.conftest import upload


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def png_bomb(side: int, extra: bytes = b"") -> bytes:
    """A valid greyscale PNG of side by side black pixels, compressed row by row."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + extra
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


def text_chunk_bomb() -> bytes:
    """A 64 by 64 PNG whose zTXt chunk inflates to 100 MB."""
    packed = zlib.compress(b"\x00" * 100 * 1024 * 1024, 9)
    return png_bomb(64, _chunk(b"zTXt", b"Comment\x00\x00" + packed))


def small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 0)).save(out, "PNG")
    return out.getvalue()


BOMB = 13_000


def test_the_bombs_are_small_files_with_huge_headers() -> None:
    from portfolio.core.images import png_dimensions

    assert len(png_bomb(BOMB)) < 400 * 1024
    width, height = png_dimensions(png_bomb(BOMB)) or (0, 0)
    assert width * height > MAX_IMAGE_PIXELS


def test_evidence_upload_of_a_bomb_is_refused_with_its_size(app: Flask, make: Any) -> None:
    org = make.org("Acme")
    worker = make.user((org, Role.LEARNER), email="wren@example.org")
    app.test_client_class = Client
    client = app.test_client()
    client.login(worker.email)  # type: ignore[attr-defined]
    resp = upload(client, "site.png", png_bomb(BOMB), title="Site photo")  # type: ignore[arg-type]
    assert 400 <= resp.status_code < 500
    assert "13,000 by 13,000 pixels" in resp.get_data(as_text=True)
    assert db.session.query(EvidenceItem).filter_by(state="ready").count() == 0
    # An ordinary photo still goes in, with its thumbnail.
    resp = upload(client, "ok.png", small_png(), title="Fine")  # type: ignore[arg-type]
    assert resp.status_code == 302
    item = db.session.query(EvidenceItem).filter_by(title="Fine").one()
    assert item.thumbnail_key


def test_thumbnail_of_a_stored_bomb_is_not_decoded(app: Flask, make: Any) -> None:
    """A bomb already in storage (from before the check, or a header the sniffing window cut
    off) gets no thumbnail; nothing is decoded."""
    org = make.org("Acme")
    worker = make.user((org, Role.LEARNER), email="wren@example.org")
    storage = get_storage()
    key = new_object_key(f"evidence/{worker.public_id}")
    storage.put(key, io.BytesIO(png_bomb(30_000)), "image/png")
    item = EvidenceItem(
        owner_id=worker.id, kind="file", state="ready", storage_key=key, media_type="image/png"
    )
    item.size = len(png_bomb(30_000))
    with pytest.MonkeyPatch.context() as mp:
        decoded: list[str] = []
        real_load = Image.Image.load

        def load(self: Image.Image) -> Any:
            decoded.append(self.format or "?")
            return real_load(self)

        mp.setattr(Image.Image, "load", load)
        assert evidence_previews.make_thumbnail(storage, worker, item) is None
        assert decoded == []


@pytest.mark.parametrize("side", [BOMB, 30_000])
def test_credential_image_bomb_is_refused(side: int) -> None:
    with pytest.raises(ImageTooLarge) as info:
        check_badge_image(png_bomb(side))
    assert "megapixels" in info.value.message


def test_credential_image_with_a_text_chunk_bomb_is_refused_plainly() -> None:
    with pytest.raises(DomainError) as info:
        check_badge_image(text_chunk_bomb())
    assert "text data" in info.value.message or "damaged" in info.value.message


def test_credential_image_in_an_svg_is_held_to_the_same_budget() -> None:
    import base64

    data = base64.b64encode(png_bomb(BOMB)).decode()
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="10" height="10"><image href="data:image/png;base64,{data}"/></svg>'
    ).encode()
    with pytest.raises(ImageTooLarge):
        check_badge_image(svg)


def test_credential_image_form_answers_a_bomb_with_a_message(app: Flask, make: Any) -> None:
    from portfolio.credentials.models import Credential
    from tests.submissions.conftest import build_credential

    org = make.org("Acme")
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    from tests.conftest import make_published_rubric

    rubric = make_published_rubric(admin, org)
    cred: Credential = build_credential(org, rubric.latest)
    db.session.commit()
    from portfolio.credentials import services as badges

    with pytest.raises(ImageTooLarge):
        badges.set_credential_image(admin, cred, png_bomb(30_000))


def test_organization_logo_bomb_is_refused(app: Flask, make: Any) -> None:
    org = make.org("Acme")
    admin = make.user((org, Role.ADMIN), email="admin@example.org")
    with pytest.raises(ImageTooLarge) as info:
        organizations.set_organization_logo(admin, org, png_bomb(BOMB))
    assert "The logo is 13,000 by 13,000 pixels" in info.value.message
    assert org.logo_key is None
    organizations.set_organization_logo(admin, org, small_png())
    assert org.logo_key


def test_verification_of_an_uploaded_bomb_answers_with_a_message(app: Flask) -> None:
    client = app.test_client()
    for image in (png_bomb(BOMB), text_chunk_bomb()):
        resp = client.post(
            "/verify",
            data={"file": (io.BytesIO(image), "badge.png")},
            content_type="multipart/form-data",
        )
        assert resp.status_code == 400, resp.status_code
        text = resp.get_data(as_text=True)
        assert "pixels" in text or "No badge is baked" in text


def test_baking_refuses_an_oversized_stored_image() -> None:
    from portfolio.core.images import check_png

    with pytest.raises(ImageTooLarge):
        check_png(png_bomb(BOMB), what="The credential's image")
    check_png(small_png())
