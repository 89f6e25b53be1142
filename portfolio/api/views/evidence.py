"""The token user's own evidence library: list it and upload into it (streamed)."""

from __future__ import annotations

from typing import Any

from flask import request

from portfolio.api import schemas as s
from portfolio.api.blueprint import (
    actor,
    bp,
    commit_use,
    need,
)
from portfolio.core.security import public


@bp.get("/me/evidence")
@bp.arguments(s.EvidenceArgs, location="query")
@bp.response(200, s.EvidenceOut(many=True))
@public
def list_evidence(args: dict[str, Any]) -> list[Any]:
    """The token user's evidence library (ready items, newest work first)."""
    from portfolio.evidence import services as evidence

    need("read")
    return evidence.list_items(actor(), tag=args["tag"], kind=args["kind"])


@bp.put("/me/evidence/file")
@bp.arguments(s.UploadArgs, location="query")
@bp.response(201, s.EvidenceOut)
@bp.doc(
    requestBody={
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The file's bytes, streamed (size, type and quota checked as they arrive)",
    }
)
@public
def upload_evidence(args: dict[str, Any]) -> Any:
    """Upload a file into the token user's library through the streaming path."""
    from portfolio.evidence import uploads as evidence
    from portfolio.evidence.streaming import FullReader

    need("evidence:write")
    item = evidence.upload_stream(
        actor(),
        FullReader(request.stream),  # type: ignore[arg-type]
        filename=args["filename"],
        declared_size=request.content_length,
        title=args["title"],
        tags=args["tags"],
    )
    commit_use("evidence.upload", "evidence", item.public_id)
    return item
