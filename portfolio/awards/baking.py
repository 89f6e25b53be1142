"""Baked badges: the badge image with the OB 2.0 assertion or OB 3.0 credential baked in,
made once and kept in storage under a key that names the document's hash."""

from __future__ import annotations

import io
import json

from portfolio.awards.documents import BeingSigned
from portfolio.awards.images import base_image
from portfolio.awards.models import Award
from portfolio.awards.ob import bake
from portfolio.core.errors import NotFound
from portfolio.core.images import check_png
from portfolio.core.urls import public_url
from portfolio.storage import get_storage

BAKED_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


def baked_badge(award: Award, version: str, fmt: str) -> tuple[bytes, str]:
    """The badge image with the OB 2.0 assertion or the OB 3.0 credential baked in, made on
    first download and kept in storage under a key derived from the award, the version and
    the document's hash (so a changed document never serves a stale image)."""
    if version not in ("2.0", "3.0") or fmt not in BAKED_FORMATS:
        raise NotFound("No such image.")
    digest = award.ob2_sha256 if version == "2.0" else award.ob3_sha256
    document = award.ob2_assertion if version == "2.0" else award.ob3_credential
    if digest is None or document is None:
        raise BeingSigned()
    key = f"badges/baked/{award.public_id}/ob{version[0]}-{digest[:32]}.{fmt}"
    storage = get_storage()
    try:
        return b"".join(storage.iter_chunks(key)), BAKED_FORMATS[fmt]
    except KeyError:
        pass
    compact = json.dumps(json.loads(document), ensure_ascii=False, separators=(",", ":"))
    base = base_image(award.credential, fmt)
    if fmt == "png":
        # Checked on upload too; an image stored before that check is refused here, not baked.
        check_png(base if isinstance(base, bytes) else b"", what="The credential's image")
        data = bake.bake_png(base, compact, version=version)  # type: ignore[arg-type]
    else:
        verify_url = public_url("verify.badge", aid=award.public_id) if version == "2.0" else None
        data = bake.bake_svg(
            base,
            compact,
            version=version,  # type: ignore[arg-type]
            verify_url=verify_url,
        ).encode("utf-8")
    storage.put(key, io.BytesIO(data), BAKED_FORMATS[fmt])
    return data, BAKED_FORMATS[fmt]
