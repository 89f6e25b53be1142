# A throwaway secret of a throwaway database:
# ruff: noqa: S106
"""Bulk award of a CSV (default 1,000 lines) through the admin's upload page: wall time from
the upload to the last award issued, and awards per second; then the same file again (nothing
new is issued) and its time.

    .venv/bin/python bench/bulk_awards.py [--lines 1000] [--database-url URL] [--accounts 0.5]

The jobs run in the "immediate" mode (each job in its own transaction as soon as the upload
commits, in this process): the same job code a Huey worker runs, without the broker's latency.
`--accounts` is the share of recipients who already have a confirmed account (the others are
invited to claim their badge, one invitation each).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).absolute().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from portfolio import create_app  # noqa: E402
from portfolio.accounts import organizations, registration  # noqa: E402
from portfolio.accounts.models import Role, User  # noqa: E402
from portfolio.awards.models import Award, BulkAwardBatch  # noqa: E402
from portfolio.config import Config  # noqa: E402
from portfolio.core.db import utcnow  # noqa: E402
from portfolio.extensions import db  # noqa: E402
from tests.submissions.conftest import build_credential, build_version  # noqa: E402

PASSWORD = "bench-password-123456"  # noqa: S105 - a throwaway account of a throwaway database
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csv_file(lines: int) -> bytes:
    out = ["email,name,narrative,evidence_url,issued_on,source_id"]
    for i in range(lines):
        out.append(
            f"person{i}@past.example,Person {i},Completed the induction course in 2023,"
            f"https://records.example.org/{i},2023-06-30,HR-{i}"
        )
    return ("\r\n".join(out) + "\r\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--accounts", type=float, default=0.5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    app = create_app(
        Config(
            env="testing",
            secret_key="bench-secret-key-that-is-long-enough-0123456789",
            database_url=url,
            instance_path=str(tmp),
            public_base_url="http://localhost",
            login_rate_limit="100000 per minute",
            jobs_backend="immediate",
            preview_mode="off",
        )
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        org = organizations.create_organization(
            "Bench", "bench", email="b@example.org", url="https://b.example.org"
        )
        admin = registration.create_user("admin@example.org", "Admin", PASSWORD)
        organizations.add_membership(admin, org, Role.ADMIN)
        version = build_version(org, admin)
        cred = build_credential(org, version)
        # Some recipients already hold confirmed accounts (no password hashing: nobody signs in).
        holders = int(args.lines * args.accounts)
        for i in range(holders):
            db.session.add(
                User(
                    email=f"person{i}@past.example",
                    display_name=f"Person {i}",
                    password_hash="!",
                    email_confirmed_at=utcnow(),
                )
            )
        db.session.commit()
        cred_id, slug = cred.public_id, org.slug

    client = app.test_client()
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True))
    assert token
    client.post(
        "/login",
        data={"csrf_token": token.group(1), "email": "admin@example.org", "password": PASSWORD},
    )
    data = csv_file(args.lines)
    page = f"/o/{slug}/awards/bulk"

    def post() -> tuple[float, str]:
        form = CSRF_RE.search(client.get(page).get_data(as_text=True))
        assert form
        started = time.perf_counter()
        resp = client.post(
            page,
            data={
                "csrf_token": form.group(1),
                "credential": cred_id,
                "reason": "recognition of prior learning",
                "csv_file": (io.BytesIO(data), "awards.csv"),
            },
            content_type="multipart/form-data",
        )
        elapsed = time.perf_counter() - started
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        return elapsed, client.get(resp.location).get_data(as_text=True)

    first, page_one = post()
    with app.app_context():
        issued = db.session.scalar(select(func.count()).select_from(Award))
        batch = db.session.scalars(select(BulkAwardBatch).order_by(BulkAwardBatch.id)).first()
        assert batch is not None and batch.state == "done", batch
    second, page_two = post()
    with app.app_context():
        again = db.session.scalar(select(func.count()).select_from(Award))
    load = os.getloadavg()
    print(f"lines: {args.lines} ({holders} with accounts, {args.lines - holders} invited)")
    print(f"database: {url.split(':', 1)[0]}")
    print(f"first upload: {issued} awards in {first:.1f} s = {issued / first:.1f} awards/s")
    print(f"second upload: {again - issued} new awards in {second:.1f} s")
    for name, html in (("first", page_one), ("second", page_two)):
        said = re.search(r'class="bulk-summary"[^>]*>([^<]*)<', html)
        print(f"{name} progress page says:", said.group(1) if said else "?")
    print(
        f"load average (1, 5, 15 min): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
        f"cpus {os.cpu_count()}"
    )


if __name__ == "__main__":
    main()
