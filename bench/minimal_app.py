"""The reference for bench/run.py: a minimal Flask app answering with bytes held in memory.

It serves exactly the bytes the real app answered for one award (captured by the runner into
BENCH_CAPTURE_DIR) with the same content types, under the same gunicorn settings, so the ratio
app / minimal shows what the database lookup, the ORM and the application's own work cost.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

CAPTURE = Path(os.environ["BENCH_CAPTURE_DIR"])
BODIES = {
    name: ((CAPTURE / f"{name}.body").read_bytes(), (CAPTURE / f"{name}.type").read_text())
    for name in ("ob2", "ob3", "html")
}

app = Flask(__name__)


@app.get("/<any('ob2','ob3','html'):name>")
def document(name: str) -> Response:
    body, content_type = BODIES[name]
    return Response(body, content_type=content_type)
