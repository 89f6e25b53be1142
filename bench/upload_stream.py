# Throwaway credentials for local servers the benchmark itself starts:
# ruff: noqa: S106, S603
"""Benchmark: a 1 GiB file through the app's streaming upload path vs a plain boto3 upload.

Starts its own moto S3 server and the app (in a separate process, S3 backend, SQLite), signs in,
then in the same run:

1. uploads the file with a plain `boto3` `upload_file` to the moto endpoint (the reference),
2. PUTs the same file to `/portfolio/api/files` (streamed: sniffed, hashed, sized and sent to
   S3 in parts while it is read).

Reports the app process's peak memory growth (VmHWM after the upload minus VmRSS before it) and
both throughputs. Targets: growth < 64 MiB, streaming throughput >= 0.8x the plain upload.

    make bench-upload            # or: .venv/bin/python bench/upload_stream.py [--size-mib 1024]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 1024 * 1024
EMAIL, PASSWORD = "bench@example.org", "bench password 123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - local servers
            return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def mem_kib(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    assert match, field
    return int(match.group(1))


def make_file(path: Path, size: int) -> None:
    """A WAV header followed by pseudo-random-looking audio bytes (incompressible enough)."""
    header = (
        b"RIFF"
        + struct.pack("<I", size - 8)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
        + b"data"
        + struct.pack("<I", size - 44)
    )
    block = os.urandom(MiB)
    with path.open("wb") as out:
        out.write(header)
        written = len(header)
        while written < size:
            n = min(MiB, size - written)
            out.write(block[:n])
            written += n


def serve(port: int, endpoint: str, workdir: str) -> None:
    """Child process: the app on a threaded Werkzeug server, S3 backend, one worker account."""
    from werkzeug.serving import make_server

    from portfolio import create_app
    from portfolio.accounts import organizations, registration
    from portfolio.accounts.models import Role
    from portfolio.config import Config
    from portfolio.extensions import db
    from portfolio.storage import get_storage

    cfg = Config(
        env="testing",
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        instance_path=workdir,
        storage_backend="s3",
        s3_endpoint_url=endpoint,
        s3_bucket="bench",
        s3_access_key_id="bench",
        s3_secret_access_key="bench",
        max_upload_bytes=4 * 1024 * MiB,
        user_quota_bytes=16 * 1024 * MiB,
        login_rate_limit="1000 per minute",
        log_level="WARNING",
    )
    app = create_app(cfg)
    with app.app_context():
        db.create_all()
        get_storage().ensure_bucket()  # type: ignore[attr-defined]
        org = organizations.create_organization("Bench", "bench", email="b@example.org")
        user = registration.create_user(EMAIL, "Bench", PASSWORD)
        organizations.add_membership(user, org, Role.LEARNER)
        db.session.commit()
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument(
        "--serve", nargs=3, metavar=("PORT", "ENDPOINT", "DIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], args.serve[2])
        return

    import boto3
    import requests
    from botocore.config import Config as BotoConfig

    bindir = Path(sys.executable).parent
    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    moto_port, app_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [str(bindir / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for(endpoint + "/moto-api/")
        app_proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(app_port), endpoint, str(work)], cwd=ROOT
        )
        procs.append(app_proc)
        base = f"http://127.0.0.1:{app_port}"
        wait_for(base + "/healthz")

        size = args.size_mib * MiB
        path = work / "big.wav"
        make_file(path, size)

        # 1. Reference: plain boto3 upload of the same file to the same endpoint.
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=BotoConfig(signature_version="s3v4"),
        )
        start = time.perf_counter()
        s3.upload_file(str(path), "bench", "plain/big.wav")
        plain_s = time.perf_counter() - start
        s3.delete_object(Bucket="bench", Key="plain/big.wav")

        # 2. Through the app's streaming path.
        http = requests.Session()
        token = re.search(
            r'name="csrf_token"[^>]*value="([^"]+)"', http.get(base + "/login").text
        ).group(1)  # type: ignore[union-attr]
        resp = http.post(
            base + "/login",
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
        )
        assert resp.status_code == 302, resp.text[:300]
        token = re.search(
            r'name="csrf_token"[^>]*value="([^"]+)"', http.get(base + "/portfolio/upload").text
        ).group(1)  # type: ignore[union-attr]
        # Reset the process's peak-RSS mark, so VmHWM afterwards is the peak of this upload.
        Path(f"/proc/{app_proc.pid}/clear_refs").write_text("5")
        rss_before = mem_kib(app_proc.pid, "VmRSS")
        hwm_before = mem_kib(app_proc.pid, "VmHWM")
        start = time.perf_counter()
        with path.open("rb") as fh:
            resp = http.put(
                base + "/portfolio/api/files",
                params={"filename": "big.wav"},
                data=fh,
                headers={
                    "X-CSRFToken": token,
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(size),
                    "Accept": "application/json",
                },
            )
        stream_s = time.perf_counter() - start
        assert resp.status_code == 201, resp.text[:500]
        hwm_after = mem_kib(app_proc.pid, "VmHWM")
        growth_mib = (hwm_after - max(rss_before, 0)) / 1024
        body = resp.json()
        assert body["size"] == size and body["media_type"] == "audio/x-wav", body

        plain_mibs = size / MiB / plain_s
        stream_mibs = size / MiB / stream_s
        ratio = stream_mibs / plain_mibs
        print(f"file size            {args.size_mib} MiB")
        print(f"plain boto3 upload   {plain_s:6.1f} s  {plain_mibs:7.1f} MiB/s")
        print(
            f"app streaming path   {stream_s:6.1f} s  {stream_mibs:7.1f} MiB/s  "
            f"({ratio:.2f}x plain; target >= 0.80x)"
        )
        print(
            f"app RSS before       {rss_before / 1024:6.1f} MiB (peak mark reset to "
            f"{hwm_before / 1024:.1f} MiB)"
        )
        print(f"app peak after       {hwm_after / 1024:6.1f} MiB")
        print(f"peak memory growth   {growth_mib:6.1f} MiB (target < 64 MiB)")
        print(f"sha256               {body['sha256']}")
        ok = growth_mib < 64 and ratio >= 0.8
        print("RESULT", "PASS" if ok else "MISS")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(10)
        for f in work.glob("**/*"):
            if f.is_file():
                f.unlink()


if __name__ == "__main__":
    main()
