"""Demo evidence for the demo worker: a photo, a PDF, a link and a reflection. Idempotent."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import func, inspect, select

from portfolio.accounts.models import User
from portfolio.evidence import services, uploads
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db


def _photo() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1200, 900), (40, 60, 80))
    draw = ImageDraw.Draw(img)
    for i in range(0, 900, 6):
        draw.line([(0, i), (1200, i)], fill=(40 + i // 8, 60 + i // 12, 90))
    draw.rectangle([150, 520, 1050, 600], fill=(150, 150, 160))
    draw.ellipse([520, 500, 680, 620], fill=(255, 170, 40))
    draw.text((160, 120), "Root pass, 6 mm plate, bay 3", fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def _pdf(text: str) -> bytes:
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    )
    return out.getvalue()


def load_evidence_demo(worker: User | None) -> int:
    """Give the demo worker a few items, stored through the configured storage. Does nothing
    when the worker already has evidence. Returns how many items were added."""
    if worker is None:
        return 0
    if not inspect(db.engine).has_table(EvidenceItem.__tablename__):
        return 0  # database not migrated to include evidence yet
    existing = db.session.scalar(
        select(func.count()).select_from(EvidenceItem).where(EvidenceItem.owner_id == worker.id)
    )
    if existing:
        return 0
    uploads.upload_stream(
        worker,
        io.BytesIO(_photo()),
        filename="root-pass-bay3.jpg",
        declared_size=None,
        title="Root pass on 6 mm plate",
        description="Single-V butt joint, **root pass** before grinding.",
        item_date=date(2026, 3, 4),
        tags="welding, root pass",
    )
    uploads.upload_stream(
        worker,
        io.BytesIO(_pdf("Visual inspection report: ACCEPTED")),
        filename="inspection-report.pdf",
        declared_size=None,
        title="Visual inspection report",
        item_date=date(2026, 3, 5),
        tags="welding, inspection",
    )
    services.create_link(
        worker,
        title="Site safety induction video",
        url="https://northwind.example/induction",
        item_date=date(2026, 2, 20),
        tags="safety",
    )
    services.create_reflection(
        worker,
        title="What I changed after the first test plate",
        body="The first plate showed **lack of fusion** at the root. I:\n\n"
        "1. reduced the travel speed,\n2. opened the root gap to 3 mm,\n"
        "3. cleaned between passes.\n\nThe second plate passed the bend test.",
        item_date=date(2026, 3, 6),
        tags="welding, reflection",
    )
    db.session.commit()
    return 4
