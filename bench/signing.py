# Throwaway secrets and subprocesses for local servers the benchmark itself starts:
# ruff: noqa: S603, S607
"""`make bench-signing`: OB 3.0 signing throughput.

1. Per process: eddsa-rdfc-2022 signatures per second on the demo credential
   (bench/data/demo_credential_unsigned.json, the one `flask demo-data` issues), before (pyld:
   two `normalize` calls and an `expand` for the undefined-terms check, as signing did until
   this change) and after (`portfolio.awards.ob.proof.sign_credential`), in this process, one
   after the other, several rounds; CPU time and wall time.
2. Bulk: 10,000 awards "being signed" in a throwaway PostgreSQL (bench/run.py's cluster, on
   its own port) signed by 2 `flask jobs worker` processes (one thread each) against a
   throwaway Redis: the wall time from the workers' start until none is left unsigned.

    .venv/bin/python bench/signing.py [--seconds 10] [--awards 10000] [--workers 2]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).absolute().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import run  # noqa: E402  (bench/run.py: the throwaway PostgreSQL cluster)

PG_PORT, REDIS_PORT = 31442, 31443
BIN = Path(sys.executable).parent
DEMO = BENCH / "data" / "demo_credential_unsigned.json"


def log(message: str) -> None:
    print(message, flush=True)


# -- 1. per process ------------------------------------------------------------------------------
def _pyld_sign(credential: dict[str, Any], key: Any, method: str) -> dict[str, Any]:
    """Signing as it was before pyoxigraph: pyld for the check and both canonicalizations."""
    import hashlib

    import base58
    from pyld import jsonld

    from portfolio.awards.ob.loader import document_loader

    def normalize(doc: dict[str, Any]) -> str:
        options = {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": document_loader,
            "base": None,
        }
        return str(jsonld.normalize(copy.deepcopy(doc), options))

    unsecured = copy.deepcopy(credential)
    jsonld.expand(copy.deepcopy(unsecured), {"documentLoader": document_loader, "base": None})
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-12-02T00:00:00Z",
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
    }
    config = {"@context": unsecured["@context"], **proof}
    data = (
        hashlib.sha256(normalize(config).encode()).digest()
        + hashlib.sha256(normalize(unsecured).encode()).digest()
    )
    proof["proofValue"] = "z" + base58.b58encode(key.sign(data)).decode()
    return {**unsecured, "proof": [proof]}


def _rate(sign: Callable[[], Any], seconds: float) -> dict[str, float]:
    sign()  # warm caches
    count = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        sign()
        count += 1
    return {
        "per_s_wall": count / (time.perf_counter() - wall),
        "per_s_cpu": count / (time.process_time() - cpu),
    }


def signing_rates(seconds: float, rounds: int) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from portfolio.awards.ob import proof

    credential = json.loads(DEMO.read_text())
    key = Ed25519PrivateKey.generate()
    issuer = credential["issuer"]
    method = (issuer["id"] if isinstance(issuer, dict) else issuer) + "#key-1"
    signed = proof.sign_credential(credential, key, method)
    report = proof.verify_credential(signed, lambda _m: key.public_key())
    assert report.valid, report.reasons
    results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(rounds):
        results["before"].append(_rate(lambda: _pyld_sign(credential, key, method), seconds))
        results["after"].append(
            _rate(lambda: proof.sign_credential(credential, key, method), seconds)
        )
    return results


# -- 2. bulk -------------------------------------------------------------------------------------
@contextmanager
def redis_server(work: Path) -> Iterator[str]:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=REDIS_PORT)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{REDIS_PORT}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def _pending_awards(app: Any, count: int) -> None:
    """One real award through the services (the demo data), then `count` copies of it left
    "being signed" (no documents, no review: the job renders them without results)."""
    from sqlalchemy import text

    from portfolio.demo import load_demo
    from portfolio.extensions import db

    with app.app_context():
        load_demo()
        db.session.commit()
        db.session.execute(
            text(
                "INSERT INTO awards (public_id, organization_id, credential_id, recipient_id, "
                "submission_id, issuer_key_id, issued_at, expires_at, credential_version_id, "
                "recipient_salt, is_hidden, created_at) "
                "SELECT 'bulk' || lpad(g::text, 18, '0'), a.organization_id, a.credential_id, "
                "a.recipient_id, a.submission_id, a.issuer_key_id, now(), a.expires_at, "
                "a.credential_version_id, md5(g::text), false, now() "
                "FROM awards a, generate_series(1, :n) g WHERE a.id = (SELECT min(id) FROM awards)"
            ),
            {"n": count},
        )
        db.session.commit()


def _unsigned(app: Any) -> int:
    from sqlalchemy import func, select

    from portfolio.awards.models import Award
    from portfolio.extensions import db

    with app.app_context():
        n = db.session.scalar(
            select(func.count()).select_from(Award).where(Award.signed_at.is_(None))
        )
        db.session.remove()
    return int(n or 0)


def bulk(count: int, workers: int) -> dict[str, Any]:
    run.PG_PORT = PG_PORT
    work = Path(tempfile.mkdtemp(prefix="portfolio-bench-signing."))
    try:
        with run.postgres(work) as database_url, redis_server(work) as redis_url:
            env = {
                **os.environ,
                "APP_ENV": "production",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "SIGNING_KEY_SECRET": secrets.token_urlsafe(48),
                "DATABASE_URL": database_url,
                "STORAGE_BACKEND": "local",
                "INSTANCE_PATH": str(work / "instance"),
                "PUBLIC_BASE_URL": "http://127.0.0.1:31500",
                "JOBS_BACKEND": "redis",
                "JOBS_URL": redis_url,
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT),
                "FLASK_APP": "wsgi",
            }
            flask = str(BIN / "flask")
            subprocess.run(
                [flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True
            )
            from portfolio import create_app
            from portfolio.config import Config

            app = create_app(Config.from_env(env))
            log(f"Creating {count} awards being signed")
            _pending_awards(app, count)
            # The demo's own award is signed already; the copies wait.
            from portfolio.awards.jobs import sign_award
            from portfolio.core.jobs import get_queue

            with app.app_context():
                from portfolio.awards.signing import awards_being_signed
                from portfolio.core.db import utcnow

                ids = awards_being_signed(utcnow(), limit=count + 10)
                queue = get_queue()
                for public_id in ids:
                    queue.send(sign_award.job_name, [public_id], None)  # type: ignore[attr-defined]
            assert _unsigned(app) == count, _unsigned(app)
            log(f"Queued {len(ids)}; starting {workers} worker processes")
            procs = []
            started = time.perf_counter()
            load_before = os.getloadavg()
            for i in range(workers):
                procs.append(
                    subprocess.Popen(
                        [flask, "jobs", "worker", "--workers", "1"],
                        env=env,
                        cwd=ROOT,
                        stdout=(work / f"worker{i}.log").open("wb"),
                        stderr=subprocess.STDOUT,
                    )
                )
            try:
                while (left := _unsigned(app)) > 0:
                    time.sleep(0.5)
                    if time.perf_counter() - started > 3600:
                        raise RuntimeError(f"{left} still unsigned after an hour")
                wall = time.perf_counter() - started
            finally:
                for p in procs:
                    p.terminate()
                for p in procs:
                    p.wait(30)
            log_tail = (work / "worker0.log").read_text()[-2000:]
            return {
                "awards": count,
                "workers": workers,
                "wall_s": wall,
                "per_s": count / wall,
                "loadavg_before": load_before,
                "loadavg_after": os.getloadavg(),
                "worker_log_tail": log_tail if "Error" in log_tail else "",
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--awards", type=int, default=10_000, help="0 skips the bulk run")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "commit": run.commit(),
        "machine": run.machine(),
        "loadavg_start": os.getloadavg(),
    }
    results["rates"] = {}
    if args.rounds:
        log("Signing rate, one process (before: pyld; after: pyoxigraph)")
        results["rates"] = signing_rates(args.seconds, args.rounds)
    for name, rows in results["rates"].items():
        best = max(r["per_s_wall"] for r in rows)
        cpu = max(r["per_s_cpu"] for r in rows)
        log(f"  {name}: best {best:.1f}/s wall, {cpu:.1f}/s per CPU-second")
    if args.awards:
        results["bulk"] = bulk(args.awards, args.workers)
        b = results["bulk"]
        log(
            f"Bulk: {b['awards']} awards, {b['workers']} workers: {b['wall_s']:.1f} s "
            f"({b['per_s']:.1f}/s); load average {b['loadavg_before']} -> {b['loadavg_after']}"
        )
    (BENCH / "signing_results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
