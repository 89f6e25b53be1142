"""Benchmark: the background ZIP export of a 1 GiB portfolio, with its memory.

Builds a worker with `--files` evidence files of `--file-mib` MiB each (random bytes, so nothing
compresses; stored as video, which the export stores without deflate) in a throwaway SQLite
database and local store, then runs the export job's body (`awards.jobs.build_export`, as a
worker process would) in this process and reports:

- wall time and throughput of building the ZIP into the store,
- this process's peak memory growth while building (VmHWM after minus VmRSS before, with the
  high-water mark reset first),
- that the ZIP lists every file with its size.

Target: memory bounded (growth well under the size of one file; the ZIP is streamed).

    make bench-export     # or: .venv/bin/python bench/zip_export.py [--files 64 --file-mib 16]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 1024 * 1024


def mem_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    assert match, field
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--file-mib", type=int, default=16)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="portfolio-zip-bench."))
    os.environ.update(
        APP_ENV="development",
        DATABASE_URL=f"sqlite:///{work}/bench.db",
        STORAGE_BACKEND="local",
        LOCAL_STORAGE_PATH=str(work / "store"),
        INSTANCE_PATH=str(work / "instance"),
        LOG_LEVEL="WARNING",
    )
    from flask_migrate import upgrade

    from portfolio import create_app
    from portfolio.accounts.registration import create_user
    from portfolio.awards import jobs
    from portfolio.awards.models import PortfolioExport
    from portfolio.core.transaction import commit
    from portfolio.evidence.models import EvidenceItem, EvidenceKind, EvidenceState
    from portfolio.extensions import db
    from portfolio.storage import get_storage

    app = create_app()
    with app.app_context():
        upgrade()
    with app.test_request_context():
        user = create_user("zip@example.org", "Zip Worker", "zip bench password 123")
        commit()
        store = get_storage()
        chunk = secrets.token_bytes(MiB)
        total = 0
        for n in range(args.files):
            data = bytearray()
            for i in range(args.file_mib):
                # Different bytes per MiB and per file (no two files alike), cheaply.
                data += hashlib.sha256(f"{n}:{i}".encode()).digest() + chunk[32:]
            key = f"evidence/{user.public_id}/bench-{n:04d}.mp4"
            import io

            info = store.put(key, io.BytesIO(bytes(data)), "video/mp4")
            db.session.add(
                EvidenceItem(
                    owner_id=user.id,
                    kind=EvidenceKind.FILE,
                    state=EvidenceState.READY,
                    title=f"Site video {n + 1}",
                    storage_key=key,
                    original_filename=f"site-video-{n + 1}.mp4",
                    size=info.size,
                    sha256=hashlib.sha256(data).hexdigest(),
                    media_type="video/mp4",
                )
            )
            total += info.size
        commit()
        export = PortfolioExport(user_id=user.id, bytes_expected=total)
        db.session.add(export)
        commit()
        public_id = export.public_id
        db.session.remove()

    with app.test_request_context():
        Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
        before = mem_kib("VmRSS")
        started = time.perf_counter()
        jobs.build_export(public_id)
        elapsed = time.perf_counter() - started
        peak = mem_kib("VmHWM")
        export = db.session.query(PortfolioExport).filter_by(public_id=public_id).one()
        assert export.state == "ready", (export.state, export.error)
        path = Path(os.environ["LOCAL_STORAGE_PATH"]) / export.storage_key
        with zipfile.ZipFile(path) as zf:
            sizes = {i.filename: i.file_size for i in zf.infolist()}
        media = [s for name, s in sizes.items() if name.endswith(".mp4")]
        assert len(media) == args.files and sum(media) == total, (len(media), sum(media))
        result = {
            "portfolio_bytes": total,
            "zip_bytes": export.size,
            "seconds": round(elapsed, 2),
            "mib_per_s": round(export.size / MiB / elapsed, 1),
            "memory_growth_mib": round((peak - before) / 1024, 1),
            "files": args.files,
            "file_mib": args.file_mib,
        }
    print(json.dumps(result, indent=2))
    (ROOT / "bench" / "zip_export_results.json").write_text(json.dumps(result, indent=2) + "\n")
    import shutil

    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
