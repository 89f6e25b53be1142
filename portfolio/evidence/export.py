"""The worker's whole portfolio as one streamed ZIP: evidence files, reflections, a JSON manifest
with every item's metadata and SHA-256, a readable index page, and any extra entries (badges)
handed in by the layer above.

Nothing is assembled in memory or on disk: file entries are generators over the storage's
chunks, the ZIP is written with data descriptors (sizes after the data), and the manifest comes
last so it can carry the SHA-256 measured while each file was streamed.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zipfile import ZIP_DEFLATED, ZIP_STORED

from sqlalchemy import select
from zipstream import ZipStream

from portfolio.accounts.models import User
from portfolio.core.db import utcnow
from portfolio.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
from portfolio.extensions import db
from portfolio.storage import get_storage

#: Read size from storage: what one chunk of the response holds at most.
CHUNK = 256 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, fallback: str = "file") -> str:
    """A ZIP member name part without separators, dots-only names or odd characters."""
    cleaned = _UNSAFE.sub("-", name).strip(".-")[:100]
    return cleaned or fallback


@dataclass
class ExtraEntry:
    """A member added by another domain: `data` is called only while the ZIP is streamed."""

    arcname: str
    data: Callable[[], Iterable[bytes]]
    #: Metadata written into the manifest under `section`.
    meta: dict[str, Any] = field(default_factory=dict)
    section: str = "badges"


class _Hashing:
    """Wraps a chunk iterator, counting bytes and hashing them on the way through."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.sha256 = hashlib.sha256()
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.sha256.update(chunk)
            self.size += len(chunk)
            yield chunk


def _library(user: User) -> list[EvidenceItem]:
    return list(
        db.session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.owner_id == user.id, EvidenceItem.state == EvidenceState.READY)
            .order_by(EvidenceItem.item_date, EvidenceItem.id)
        )
    )


def _item_meta(item: EvidenceItem) -> dict[str, Any]:
    return {
        "id": item.public_id,
        "kind": item.kind,
        "title": item.title,
        "description": item.description,
        "date": item.item_date.isoformat(),
        "tags": list(item.tags or []),
        "created": item.created_at.isoformat(),
    }


def check_storage_reachable(user: User) -> None:
    """Ask the store for the first file before the download starts: once the ZIP is streaming,
    an outage can only cut it short, while now it still gets a readable "try again" page
    (`StorageError` is answered with 503)."""
    first = db.session.scalar(
        select(EvidenceItem.storage_key)
        .where(
            EvidenceItem.owner_id == user.id,
            EvidenceItem.state == EvidenceState.READY,
            EvidenceItem.storage_key.is_not(None),
        )
        .limit(1)
    )
    if first:
        get_storage().head(first)


def stream_portfolio(user: User, extras: Iterable[ExtraEntry] = ()) -> Iterator[bytes]:
    """The ZIP, chunk by chunk. Call inside an application context (storage is read lazily,
    while the response is sent)."""
    storage = get_storage()
    zs = ZipStream(compress_type=ZIP_STORED, sized=False)
    items = _library(user)
    manifest: dict[str, Any] = {
        "format": "portfolio-export/1",
        "exported": utcnow().isoformat(),
        "owner": {"name": user.display_name, "email": user.email},
        "evidence": [],
        "badges": [],
    }
    hashers: list[tuple[dict[str, Any], _Hashing]] = []
    for item in items:
        meta = _item_meta(item)
        manifest["evidence"].append(meta)
        if item.kind == EvidenceKind.FILE and item.storage_key:
            name = f"evidence/{item.public_id}-{safe_name(item.original_filename)}"
            meta.update(
                file=name,
                original_filename=item.original_filename,
                media_type=item.media_type,
                size=item.size,
                sha256=item.sha256,
            )
            hashing = _Hashing(storage.iter_chunks(item.storage_key, CHUNK))
            hashers.append((meta, hashing))
            # Already-compressed media gains nothing from deflate: store it as is.
            zs.add(hashing, name)
        elif item.kind == EvidenceKind.TEXT:
            name = f"reflections/{item.public_id}-{safe_name(item.title, 'reflection')}.md"
            body = (item.body or "").encode("utf-8")
            meta.update(file=name, sha256=hashlib.sha256(body).hexdigest(), size=len(body))
            zs.add(body, name, compress_type=ZIP_DEFLATED)
        elif item.kind == EvidenceKind.LINK:
            meta.update(url=item.url)
    for extra in extras:
        entry = dict(extra.meta, file=extra.arcname)
        manifest.setdefault(extra.section, []).append(entry)
        hashing = _Hashing(_lazy(extra.data))
        hashers.append((entry, hashing))
        zs.add(hashing, extra.arcname)

    def manifest_bytes() -> Iterator[bytes]:
        # Runs after every file was streamed: record what was actually written.
        for meta, hashing in hashers:
            measured = hashing.sha256.hexdigest()
            if meta.get("sha256") and meta["sha256"] != measured:
                meta["stored_sha256"] = meta["sha256"]
            meta["sha256"] = measured
            meta["size"] = hashing.size
        yield json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")

    def index_bytes() -> Iterator[bytes]:
        yield _index_page(manifest).encode("utf-8")

    zs.add(manifest_bytes(), "manifest.json", compress_type=ZIP_DEFLATED)
    zs.add(index_bytes(), "index.html", compress_type=ZIP_DEFLATED)
    yield from zs


def _lazy(factory: Callable[[], Iterable[bytes]]) -> Iterator[bytes]:
    yield from factory()


def _index_page(manifest: dict[str, Any]) -> str:
    e = html.escape
    rows = []
    for meta in manifest["evidence"]:
        target = meta.get("file") or meta.get("url") or ""
        link = f'<a href="{e(target)}">{e(meta["title"])}</a>' if target else e(meta["title"])
        rows.append(
            f"<tr><td>{link}</td><td>{e(meta['kind'])}</td><td>{e(meta['date'])}</td>"
            f"<td><code>{e(meta.get('sha256') or '')}</code></td></tr>"
        )
    badges = []
    for meta in manifest.get("badges", []):
        badges.append(
            f'<li><a href="{e(meta["file"])}">{e(meta.get("name", meta["file"]))}</a>'
            f" — {e(meta.get('issuer', ''))}, {e(meta.get('status', ''))}"
            + (f' (<a href="{e(meta["url"])}">verify online</a>)' if meta.get("url") else "")
            + "</li>"
        )
    owner = manifest["owner"]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Portfolio of {e(owner['name'])}</title></head><body>"
        f"<h1>Portfolio of {e(owner['name'])}</h1>"
        f"<p>Exported {e(manifest['exported'])}. Every file's SHA-256 is listed here and in "
        '<a href="manifest.json">manifest.json</a>.</p>'
        "<h2>Evidence</h2><table><thead><tr><th>Item</th><th>Kind</th><th>Date</th>"
        f"<th>SHA-256</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<h2>Badges</h2><ul>{''.join(badges) or '<li>None yet.</li>'}</ul>"
        "</body></html>\n"
    )
