# Throwaway secrets and subprocesses for local servers the benchmark itself starts:
# ruff: noqa: S603, S607
"""`make bench`: the performance benchmark, measured side by side in one run, at two scales.

For each scale (`--scale 10000,100000` by default: workers, waiting submissions and awards):

1. Starts a throwaway PostgreSQL cluster on 127.0.0.1:31432 and builds the data set
   (bench/dataset.py: N workers with 10 evidence items each, one of them with 2,000, N waiting
   and N passed submissions, N awards).
2. Starts the app under gunicorn with production settings (APP_ENV=production, local storage)
   on :31500, bench/minimal_app.py under the same gunicorn settings on :31501 (answering with
   the bytes the app answered for one award, from memory), and nginx on :31510 with the
   README's proxy_cache configuration in front of the app, which also serves the same page
   bytes as a static file.
3. With wrk (bench/wrk.lua), in interleaved rounds so that noise hits both sides alike:
   - the OB 2.0 assertion, the OB 3.0 credential and the public badge page of random awards
     against the minimal endpoint with the same bytes (32 connections);
   - repeat views of one badge page through the nginx cache against nginx serving the same
     bytes as a static file (32 connections);
   - the review queue, first page and a deep keyset page, of the organization with N waiting
     and of the one with 1k waiting, at ONE connection.
4. Signed-in pages timed one request at a time against the minimal endpoint: the admin reports
   dashboard, the awards list and the members list, a worker's portfolio with 2,000 items.
5. In this process: a CASE import of 5,000 items; at the largest scale also passing decisions
   per second (claim, review, sign OB 3.0, store) and baked PNGs per second.
6. bench/upload_stream.py with a smaller file (--upload-mib), once.
7. EXPLAIN ANALYZE of the hot queries into bench/explain.txt, and the table into bench/README.md.

    .venv/bin/python bench/run.py [--scale 10000,100000] [--runs 3] [--duration 8]
                                  [--upload-mib 256] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).absolute().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import dataset  # noqa: E402

PG_PORT, APP_PORT, MINIMAL_PORT, NGINX_PORT = 31432, 31500, 31501, 31510
GUNICORN_WORKERS = 4  # as in the README's production command
BIN = Path(sys.executable).parent
JSONLD = "application/ld+json"


def log(message: str) -> None:
    print(message, flush=True)


# -- processes -----------------------------------------------------------------------------------
def as_postgres(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run the cluster as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres(work: Path) -> Iterator[str]:
    pgbin = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)[-1]
    data = work / "pg"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(work, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run(
        as_postgres(
            [
                str(pgbin / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {PG_PORT} -k {data} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100 "
        "-c shared_buffers=512MB -c maintenance_work_mem=256MB"
    )
    subprocess.run(
        as_postgres(
            [
                str(pgbin / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-l",
                str(data / "log"),
                "-o",
                options,
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            as_postgres(
                [
                    str(pgbin / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(PG_PORT),
                    "-U",
                    "postgres",
                    "bench",
                ]
            ),
            check=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{PG_PORT}/bench"
    finally:
        subprocess.run(
            as_postgres([str(pgbin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own local servers
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def gunicorn(app: str, port: int, env: dict[str, str], work: Path) -> Iterator[None]:
    """The same settings for the app and the reference: sync workers, no access log."""
    logfile = (work / f"gunicorn-{port}.log").open("w")
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(GUNICORN_WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--forwarded-allow-ips",
            "127.0.0.1",
            "--chdir",
            str(ROOT),
            "--pythonpath",
            f"{ROOT},{BENCH}",
            app,
        ],
        env=env,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )
    try:
        try:
            wait_for(
                f"http://127.0.0.1:{port}/healthz"
                if app == "wsgi:app"
                else f"http://127.0.0.1:{port}/ob2",
                timeout=180,  # four workers importing the app on a busy machine
            )
        except RuntimeError:
            logfile.flush()
            log((work / f"gunicorn-{port}.log").read_text()[-3000:])
            raise
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        logfile.close()


# -- HTTP helpers ------------------------------------------------------------------------------
def fetch(
    port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, Any, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.headers, body


def session_cookie(headers: Any) -> str:
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("session="):
            return value.split(";", 1)[0]
    raise RuntimeError("no session cookie in the response")


def login(email: str, password: str) -> str:
    """One real sign-in (the login form's CSRF token, then the post); returns the Cookie header.
    The session cookie is marked Secure in production; we send it back over plain HTTP here."""
    status, headers, body = fetch(APP_PORT, "/login")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
    assert status == 200 and token, status
    cookie = session_cookie(headers)
    form = urllib.parse.urlencode(
        {"csrf_token": token.group(1).decode(), "email": email, "password": password}
    )
    conn = http.client.HTTPConnection("127.0.0.1", APP_PORT, timeout=30)
    conn.request(
        "POST",
        "/login",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "User-Agent": "portfolio-bench",
        },
    )
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 302, f"sign-in failed: {resp.status}"
    return session_cookie(resp.headers)


def wrk(
    port: int,
    path: str,
    *,
    connections: int,
    threads: int,
    seconds: float,
    ids: Path | None = None,
    cookie: str = "",
    accept: str = "",
) -> dict[str, float]:
    env = {
        **os.environ,
        "WRK_PATH": path,
        "WRK_IDS": str(ids or ""),
        "WRK_COOKIE": cookie,
        "WRK_ACCEPT": accept,
    }
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{round(seconds)}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "wrk.lua"),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    if data["errors"] or data["non2xx"]:
        raise RuntimeError(f"wrk {path}: {data['errors']} errors, {data['non2xx']} non-2xx")
    return data


# -- in-process measurements -------------------------------------------------------------------
def capture_sql(engine: Any, action: Callable[[], Any]) -> list[tuple[str, Any]]:
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", before)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


def explain(engine: Any, statement: str, params: Any) -> str:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
        return "\n".join(row[0] for row in cur.fetchall())
    finally:
        raw.close()


def deep_cursor(app: Any, slug: str, position: int) -> str:
    """The keyset cursor after `position` rows of the organization's queue."""
    from sqlalchemy import select

    from portfolio.accounts.models import Organization
    from portfolio.extensions import db
    from portfolio.submissions import assessor_queue
    from portfolio.submissions.models import Submission

    with app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == slug))
        sub = db.session.scalar(
            select(Submission)
            .where(
                Submission.organization_id == org.id,
                Submission.state.in_(assessor_queue.QUEUE_STATES),
            )
            .order_by(Submission.submitted_at, Submission.id)
            .offset(position - 1)
            .limit(1)
        )
        return assessor_queue.encode_cursor(sub)


def write_explain(app: Any, data: dataset.DataSet, cursors: dict[str, str]) -> str:
    from sqlalchemy import select

    from portfolio.accounts.models import Organization, User
    from portfolio.awards import issuance
    from portfolio.extensions import db
    from portfolio.submissions import assessor_queue

    sections = []
    with app.app_context():
        engine = db.engine
        assessor = db.session.scalar(select(User).where(User.email == data.assessor_email))
        org = db.session.scalar(select(Organization).where(Organization.slug == data.big_slug))
        cases = [
            (
                "Award lookup by public id (every badge URL)",
                lambda: issuance.get_award(data.award_ids[len(data.award_ids) // 2]),
                "FROM awards",
            ),
            (
                "Review queue, 100k waiting: first page",
                lambda: assessor_queue.review_queue(assessor, org, assessor_queue.QueueFilter()),
                "ORDER BY",
            ),
            (
                "Review queue, 100k waiting: deep keyset page",
                lambda: assessor_queue.review_queue(
                    assessor, org, assessor_queue.QueueFilter(), cursors["big"]
                ),
                "ORDER BY",
            ),
            (
                "Review queue, 100k waiting: the count of waiting work",
                lambda: assessor_queue.review_queue(assessor, org, assessor_queue.QueueFilter()),
                "count(",
            ),
        ]
        for title, action, marker in cases:
            statements = capture_sql(engine, action)
            db.session.rollback()
            statement, params = next(s for s in statements if marker in s[0])
            sections.append(
                f"== {title}\n\n{statement}\n\n{json.dumps(params, default=str)}\n\n"
                f"{explain(engine, statement, params)}\n"
            )
    return "\n".join(sections)


def issuance_rate(app: Any, data: dataset.DataSet, count: int) -> float:
    """Passing decisions per second in one process: claim, score every element at the top
    level, record the review (the badge is signed and its documents stored in the same
    transaction), commit. Takes the newest waiting submissions of the big organization."""
    from sqlalchemy import select

    from portfolio.accounts.models import Organization, User
    from portfolio.extensions import db
    from portfolio.submissions import access, assessor_queue, scoring
    from portfolio.submissions.models import Submission

    cfg = app.config["PORTFOLIO"]
    with app.test_request_context(base_url=cfg.public_base_url):
        assessor = db.session.scalar(select(User).where(User.email == data.assessor_email))
        org = db.session.scalar(select(Organization).where(Organization.slug == data.big_slug))
        ids = list(
            db.session.scalars(
                select(Submission.public_id)
                .where(Submission.organization_id == org.id, Submission.state == "submitted")
                .order_by(Submission.submitted_at.desc())
                .limit(count)
            )
        )
        first = access.get_submission(ids[0])
        version = first.rubric_version
        top = max(version.levels, key=lambda lv: lv.position)
        scores = [scoring.ScoreInput(e.public_id, top.id, "Fine.") for e in version.elements]
        db.session.commit()
        started = time.perf_counter()
        for public_id in ids:
            sub = access.get_submission(public_id)
            assessor_queue.claim(assessor, org, sub)
            review = scoring.record_review(assessor, org, sub, scores, "Passed.")
            db.session.commit()
            assert review.outcome == "pass"
        elapsed = time.perf_counter() - started
    return len(ids) / elapsed


def baking_rate(app: Any, award_ids: list[str]) -> float:
    """Baked OB 3.0 PNGs per second on first download (bake and store), in one process."""
    from portfolio.awards import baking, issuance

    with app.app_context():
        awards = [issuance.get_award(a) for a in award_ids]
        started = time.perf_counter()
        for award in awards:
            body, content_type = baking.baked_badge(award, "3.0", "png")
            assert content_type == "image/png" and body
        return len(awards) / (time.perf_counter() - started)


def upload_figures(size_mib: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(BENCH / "upload_stream.py"), "--size-mib", str(size_mib)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    plain = re.search(r"plain boto3 upload\s+([\d.]+) s\s+([\d.]+) MiB/s", out)
    stream = re.search(r"app streaming path\s+([\d.]+) s\s+([\d.]+) MiB/s\s+\(([\d.]+)x", out)
    growth = re.search(r"peak memory growth\s+([\d.]+) MiB", out)
    assert plain and stream and growth, out
    return {
        "size_mib": size_mib,
        "plain_mibs": float(plain.group(2)),
        "stream_mibs": float(stream.group(2)),
        "ratio": float(stream.group(3)),
        "growth_mib": float(growth.group(1)),
    }


# -- nginx in front: the README's cache configuration ----------------------------------------
NGINX_CONF = """
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-tmp/body;
    proxy_temp_path {work}/nginx-tmp/proxy;
    fastcgi_temp_path {work}/nginx-tmp/fastcgi;
    uwsgi_temp_path {work}/nginx-tmp/uwsgi;
    scgi_temp_path {work}/nginx-tmp/scgi;
    # The README's configuration (section "A cache in front"), with a local upstream.
    proxy_cache_path {work}/nginx-cache levels=1:2 keys_zone=portfolio:10m max_size=1g
                     inactive=10m use_temp_path=off;
    upstream portfolio_app {{ server 127.0.0.1:{app_port}; }}
    server {{
        listen 127.0.0.1:{port};
        # The reference: the very bytes of the badge page as a static file.
        location = /static/badge.html {{
            alias {capture}/html.body;
            default_type text/html;
        }}
        location / {{
            proxy_pass http://portfolio_app;
            # The README passes $host; here wrk talks to nginx's own port and the app answers
            # for its public base URL (the upstream's address) only.
            proxy_set_header Host 127.0.0.1:{app_port};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_cache portfolio;
            # Signed-in visitors get pages of their own: never from or into the cache.
            proxy_cache_bypass $cookie_session $cookie_remember_token $http_authorization;
            proxy_no_cache $cookie_session $cookie_remember_token $http_authorization;
            proxy_cache_revalidate on;
            proxy_cache_lock on;
            proxy_cache_use_stale updating error timeout;
            add_header X-Cache-Status $upstream_cache_status always;
        }}
    }}
}}
"""


@contextmanager
def nginx(work: Path, capture: Path) -> Iterator[None]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    (work / "nginx-tmp").mkdir(exist_ok=True)
    (work / "nginx-cache").mkdir(exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            work=work,
            capture=capture,
            port=NGINX_PORT,
            app_port=APP_PORT,
            # A root master would drop its workers to "nobody", who cannot read the work dir.
            user="user root;" if os.geteuid() == 0 else "",
        )
    )
    proc = subprocess.Popen(
        [binary, "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=(work / "nginx.out").open("w"),
    )
    try:
        wait_for(f"http://127.0.0.1:{NGINX_PORT}/static/badge.html")
        yield
    finally:
        proc.terminate()
        proc.wait(20)


# -- stored badge pages ------------------------------------------------------------------------
def prerender_pages(app: Any, data: dataset.DataSet) -> None:
    """Every bulk award gets the stored page of the template award (its public id replaced),
    as if each had been viewed once since its last change: the benchmark measures serving
    stored pages. The template's own page is rendered by the app on a first anonymous view."""
    from sqlalchemy import text

    from portfolio.extensions import db

    status, _headers, _body = fetch(
        APP_PORT, f"/badges/{data.template_award_id}", {"Accept": "text/html"}
    )
    assert status == 200, status
    with app.app_context(), db.engine.begin() as conn:
        t0 = time.monotonic()
        result = conn.execute(
            text(
                "UPDATE awards a SET page_html = replace(t.page_html, t.public_id, a.public_id), "
                "page_key = t.page_key, page_etag = encode(sha256(convert_to("
                "replace(t.page_html, t.public_id, a.public_id), 'UTF8')), 'hex') "
                "FROM awards t WHERE t.public_id = :t AND t.page_html IS NOT NULL "
                "AND a.id <> t.id"
            ),
            {"t": data.template_award_id},
        )
        log(f"  stored pages copied to {result.rowcount:,} awards in {time.monotonic() - t0:.1f} s")
        assert result.rowcount == len(data.award_ids), result.rowcount
    # The copy rewrote every award row (and its TOASTed page): vacuum and checkpoint now, so
    # that autovacuum and the checkpointer do not write those gigabytes during the timing.
    t0 = time.monotonic()
    with (
        app.app_context(),
        db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
    ):
        conn.execute(text("VACUUM (ANALYZE) awards"))
        conn.execute(text("CHECKPOINT"))
    log(f"  vacuum and checkpoint after the copy: {time.monotonic() - t0:.1f} s")


# -- signed-in pages, one request at a time ---------------------------------------------------
def timed_gets(
    port: int, path: str, *, cookie: str = "", count: int, budget: float = 60.0
) -> dict[str, float]:
    """Latency of `count` GETs one after the other, fewer when they take longer than `budget`
    seconds in all (at least 3, or 1 for a page slower than budget / 3). Timed after a warm-up
    of two requests per gunicorn worker, so that each worker has served the page once (its
    first one opens the worker's database connection and compiles the templates: a one-off
    per worker process, not the page's cost)."""
    headers = {"Cookie": cookie, "Accept": "text/html"} if cookie else {"Accept": "text/html"}
    t0 = time.perf_counter()
    status, _h, body = fetch(port, path, headers, timeout=600)
    assert status == 200, (path, status)
    for _ in range(2 * GUNICORN_WORKERS - 1):
        fetch(port, path, headers, timeout=600)
    # A page that takes a third of the budget on its own is timed once or twice, not thrice.
    least = 3 if time.perf_counter() - t0 < budget / 3 else 1
    times: list[float] = []
    started = time.monotonic()
    while len(times) < count and (len(times) < least or time.monotonic() - started < budget):
        t0 = time.perf_counter()
        status, _h, _b = fetch(port, path, headers, timeout=600)
        times.append((time.perf_counter() - t0) * 1e6)
        assert status == 200, (path, status)
    times.sort()
    return {
        "n": len(times),
        "p50_us": statistics.median(times),
        "p95_us": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "bytes": len(body),
    }


def case_import_seconds(app: Any, data: dataset.DataSet, items: int) -> dict[str, float]:
    """A CASE package of `items` items (bench/frameworks.py's shape) imported by the admin of
    the big organization, committed; in this process."""
    import random

    import frameworks
    from sqlalchemy import select

    from portfolio.accounts.models import Organization, User
    from portfolio.extensions import db
    from portfolio.frameworks.case import importer as case_importer

    random.seed(1)
    raw = json.dumps(frameworks.build_package(items)).encode()
    cfg = app.config["PORTFOLIO"]
    with app.test_request_context(base_url=cfg.public_base_url):
        admin = db.session.scalar(select(User).where(User.email == data.admin_email))
        org = db.session.scalar(select(Organization).where(Organization.slug == data.big_slug))
        started = time.perf_counter()
        result = case_importer.import_case_package(admin, org, raw, "bench.json")
        db.session.commit()
        seconds = time.perf_counter() - started
        n = len(json.loads(raw)["CFItems"])
        assert result.framework is not None
    return {"seconds": seconds, "items": n, "mib": len(raw) / 2**20}


# -- the report ----------------------------------------------------------------------------------
def machine() -> str:
    cores = os.cpu_count()
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    cpu = model.group(1).strip() if model else platform.machine()
    return (
        f"{cores} cores ({cpu}), {mem / 1024 / 1024:.0f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, PostgreSQL {pg_version()}"
    )


def pg_version() -> str:
    found = sorted(p.name for p in Path("/usr/lib/postgresql").iterdir())
    return found[-1] if found else "?"


def commit() -> str:
    if os.environ.get("BENCH_COMMIT"):  # a run from an exported tree names its commit
        return os.environ["BENCH_COMMIT"]
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return head or "unknown"


def median(values: list[float]) -> float:
    return statistics.median(values)


def ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


PAGES = {
    "reports": "Admin reports dashboard, big organization",
    "awards": "Awards list (admin), big organization",
    "members": "Members list (admin), big organization",
    "portfolio": "A worker's portfolio with 2,000 items",
}


def table(results: dict[str, Any]) -> str:
    """The table: one row per benchmark and scale, ratios within the same run, the growth
    from the smallest to the largest scale where both ran."""
    scales = sorted(int(k) for k in results["scales"])
    rows: list[str] = []

    def label(n: int) -> str:
        return f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"

    def add(
        name: str,
        scale: int | None,
        figure: str,
        ratio: str,
        target: str,
        met: bool | None,
        growth: str = "",
    ) -> None:
        verdict = "" if met is None else ("met" if met else "**missed**")
        where = label(scale) if scale else ""
        rows.append(f"| {name} | {where} | {figure} | {ratio} | {growth} | {target} | {verdict} |")

    def growth_of(value: Callable[[dict[str, Any]], float | None], scale: int) -> tuple[str, float]:
        """'a.bx' from the smallest scale to this one (shown on the largest scale's row)."""
        if len(scales) < 2 or scale != scales[-1]:
            return "", 0.0
        first = value(results["scales"][str(scales[0])])
        last = value(results["scales"][str(scale)])
        if not first or not last:
            return "", 0.0
        g = last / first
        return f"{g:.2f}x ({label(scales[0])}→{label(scale)})", g

    for key, name in (
        ("ob2", "OB 2.0 assertion JSON, random award"),
        ("ob3", "OB 3.0 credential JSON, random award"),
        ("html", "Public badge page (HTML, stored), random award"),
    ):
        for scale in scales:
            r = results["scales"][str(scale)]
            app_rps = median([x["rps"] for x in r["app"][key]])
            min_rps = median([x["rps"] for x in r["minimal"][key]])
            p99 = median([x["p99_us"] for x in r["app"][key]])
            ratio = app_rps / min_rps
            docs = key != "html"
            met = ratio >= 0.3 and (not docs or p99 < 30_000)
            grow, _ = growth_of(lambda d, k=key: median([x["p99_us"] for x in d["app"][k]]), scale)
            add(
                name,
                scale,
                f"{app_rps:,.0f} req/s, p99 {ms(p99)}",
                f"**{ratio:.2f}x** of {min_rps:,.0f} req/s (p99 "
                f"{ms(median([x['p99_us'] for x in r['minimal'][key]]))})",
                "≥ 0.3x" + (", p99 < 30 ms" if docs else ""),
                met,
                grow + (" in p99" if grow else ""),
            )
    for scale in scales:
        r = results["scales"][str(scale)]
        cached = median([x["rps"] for x in r["nginx"]["cached"]])
        static = median([x["rps"] for x in r["nginx"]["static"]])
        add(
            "Badge page repeat views through the nginx cache (README config)",
            scale,
            f"{cached:,.0f} req/s, p99 {ms(median([x['p99_us'] for x in r['nginx']['cached']]))}",
            f"**{cached / static:.2f}x** of nginx serving the same bytes as a static file "
            f"{static:,.0f} req/s",
            "≥ 0.5x",
            cached / static >= 0.5,
        )
    for page, name in (("first", "first page"), ("deep", "deep keyset page")):
        for scale in scales:
            r = results["scales"][str(scale)]
            big = median([x["p95_us"] for x in r["queue"][f"big-{page}"]])
            small = median([x["p95_us"] for x in r["queue"][f"small-{page}"]])
            big50 = median([x["p50_us"] for x in r["queue"][f"big-{page}"]])
            small50 = median([x["p50_us"] for x in r["queue"][f"small-{page}"]])
            grow, _ = growth_of(
                lambda d, p=page: median([x["p95_us"] for x in d["queue"][f"big-{p}"]]), scale
            )
            add(
                f"Review queue, {name}, {label(scale)} waiting",
                scale,
                f"p95 {ms(big)} (p50 {ms(big50)})",
                f"**{big / small:.2f}x** of 1k waiting: p95 {ms(small)} (p50 {ms(small50)})",
                "p95 < 50 ms, ≤ 1.5x",
                big < 50_000 and big / small <= 1.5,
                grow + (" in p95" if grow else ""),
            )
    for key, name in PAGES.items():
        for scale in scales:
            r = results["scales"][str(scale)]
            pg = r["pages"][key]
            ref = r["pages"]["minimal"]
            if "error" in pg:
                add(name, scale, f"failed: `{pg['error']}`", "", "", None)
                continue
            grow, g = growth_of(lambda d, k=key: d["pages"][k].get("p95_us"), scale)
            met: bool | None
            if key == "reports":
                target, met = "p95 < 300 ms", pg["p95_us"] < 300_000
            elif key in ("awards", "members"):
                target = "keyset pages: flat (≤ 1.5x growth)"
                met = (g <= 1.5) if g else None
            else:
                target, met = "", None
            add(
                name,
                scale,
                f"p95 {ms(pg['p95_us'])} (p50 {ms(pg['p50_us'])}, {pg['n']} requests, "
                f"{pg['bytes'] / 1024:,.0f} KiB)",
                f"**{pg['p95_us'] / ref['p95_us']:,.1f}x** the minimal endpoint's p95 "
                f"({ms(ref['p95_us'])})",
                target,
                met,
                grow + (" in p95" if grow else ""),
            )
    for scale in scales:
        c = results["scales"][str(scale)].get("case")
        if c:
            add(
                f"CASE import of {c['items']:,} items ({c['mib']:.1f} MiB), one process",
                scale,
                f"{c['seconds']:.1f} s",
                "",
                "",
                None,
            )
    zip_file = BENCH / "zip_export_results.json"
    if zip_file.exists():  # written by `make bench-export` (bench/zip_export.py)
        z = json.loads(zip_file.read_text())
        add(
            f"ZIP export of a {z['portfolio_bytes'] / 1024**3:.1f} GiB portfolio "
            f"({z['files']} files), background job, one process (`make bench-export`)",
            None,
            f"{z['seconds']:.1f} s ({z['mib_per_s']:.0f} MiB/s), memory growth "
            f"{z['memory_growth_mib']:.1f} MiB",
            "",
            "bounded memory (< one 16 MiB file)",
            z["memory_growth_mib"] < z["file_mib"],
        )
    else:
        add(
            "ZIP export of a 1 GiB portfolio (memory bounded)",
            None,
            "not measured: run `make bench-export`",
            "",
            "bounded memory",
            None,
        )
    last = results["scales"][str(scales[-1])]
    if last.get("issuance"):
        issue = median(last["issuance"])
        # The decision and the signing job run in one process here; the signing target
        # (>= 100 credentials/s per worker process) is measured by `make bench-signing`.
        add(
            "Passing decisions with their OB 3.0 signature in the same process (claim, "
            "review, sign, store; signing alone: see the signing section)",
            scales[-1],
            f"{issue:,.0f} awards/s",
            "",
            "",
            None,
        )
    if last.get("baking"):
        bake = median(last["baking"])
        add(
            "Baking OB 3.0 PNGs on first download (bake + store), one process",
            scales[-1],
            f"{bake:,.0f} PNGs/s",
            "",
            "≥ 100/s",
            bake >= 100,
        )
    up = results.get("upload")
    if up:
        add(
            f"Streaming upload, {up['size_mib']} MiB WAV (S3 backend on moto), one run",
            None,
            f"{up['stream_mibs']:.1f} MiB/s, peak memory growth {up['growth_mib']:.1f} MiB",
            f"**{up['ratio']:.2f}x** of plain boto3 {up['plain_mibs']:.1f} MiB/s",
            "≥ 0.8x, < 64 MiB",
            up["ratio"] >= 0.8 and up["growth_mib"] < 64,
        )
    r = results
    data_sets = "; ".join(
        f"{label(n)}: " + ", ".join(f"{k} {v:,}" for k, v in r["scales"][str(n)]["counts"].items())
        for n in scales
    )
    header = [
        f"Run of {r['date']} · commit `{r['commit']}` · {r['machine']}",
        "",
        f"**Conditions: {r['conditions']}**",
        "",
        f"Medians of {r['runs']} interleaved rounds (wrk {r['duration']} s each, "
        f"{r['connections']} connections, 2 threads; queue pages at 1 connection; signed-in "
        f"pages one request at a time). Data sets: {data_sets}. Gunicorn: "
        f"{GUNICORN_WORKERS} sync workers for both the app and the minimal endpoint; nginx "
        "2 workers.",
        "",
        "| benchmark | scale | figure | ratio (same run) | growth | target | |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(header + rows) + "\n"


def write_readme(report: str) -> None:
    readme = BENCH / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:results -->", "<!-- /bench:results -->"
    block = f"{start}\n{report}{end}"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text)


# -- main --------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scale", default="10000,100000", help="workers (= waiting = awards), comma-separated"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--queue-duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--page-requests", type=int, default=20, help="per signed-in page")
    parser.add_argument("--case-items", type=int, default=5000, help="0 skips the CASE import")
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--bakes", type=int, default=300)
    parser.add_argument("--upload-mib", type=int, default=256, help="0 skips the upload run")
    parser.add_argument("--conditions", default="2 cores shared with other work; noisy.")
    parser.add_argument("--no-write", action="store_true", help="print, do not write README")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: scripts/apt-install wrk")
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        sys.exit("nginx is not installed: scripts/apt-install nginx")
    scales = sorted({int(x) for x in str(args.scale).split(",") if x.strip()})

    started = time.monotonic()
    load_before = os.getloadavg()
    results: dict[str, Any] = {"scales": {}}
    for n, scale in enumerate(scales):
        log(f"== Scale {scale:,}")
        results["scales"][str(scale)] = run_scale(args, scale, last=n == len(scales) - 1)
    if args.upload_mib:
        log(f"Streaming upload ({args.upload_mib} MiB)")
        results["upload"] = upload_figures(args.upload_mib)
    load_after = os.getloadavg()
    results.update(
        date=dt.date.today().isoformat(),
        commit=commit(),
        machine=machine(),
        runs=args.runs,
        duration=args.duration,
        connections=args.connections,
        conditions=args.conditions
        + f" Load average (1 min) {load_before[0]:.1f} at the start, {load_after[0]:.1f} at "
        f"the end. Whole run {time.monotonic() - started:.0f} s.",
    )
    report = table(results)
    print(report)
    (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if not args.no_write:
        write_readme(report)


def run_scale(args: argparse.Namespace, scale: int, *, last: bool) -> dict[str, Any]:
    """Everything measured on one data set, in its own throwaway cluster."""
    work = Path(tempfile.mkdtemp(prefix="portfolio-bench."))
    try:
        with postgres(work) as database_url:
            env = {
                **os.environ,
                "APP_ENV": "production",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "SIGNING_KEY_SECRET": secrets.token_urlsafe(48),
                "DATABASE_URL": database_url,
                "STORAGE_BACKEND": "local",
                "INSTANCE_PATH": str(work / "instance"),
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{APP_PORT}",
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT),
                "FLASK_APP": "wsgi",
            }
            subprocess.run(
                [str(BIN / "flask"), "db", "upgrade"],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            from portfolio import create_app
            from portfolio.config import Config

            app = create_app(Config.from_env(env))
            log("Building the data set")
            data = dataset.build(app, log, workers=scale)
            from portfolio.extensions import db

            with app.app_context():
                counts = dataset.counts(db.engine)
            ids_file = work / "award_ids.txt"
            ids_file.write_text("\n".join(data.award_ids) + "\n")
            capture = work / "capture"
            capture.mkdir()
            with gunicorn("wsgi:app", APP_PORT, env, work):
                prerender_pages(app, data)
                sample = data.award_ids[0]
                for name, path, accept in (
                    ("ob2", f"/badges/{sample}/assertion.json", ""),
                    ("ob3", f"/badges/{sample}/credential.json", ""),
                    ("html", f"/badges/{sample}", "text/html"),
                ):
                    status, headers, body = fetch(APP_PORT, path, {"Accept": accept})
                    assert status == 200, (path, status)
                    (capture / f"{name}.body").write_bytes(body)
                    (capture / f"{name}.type").write_text(headers["Content-Type"])
                cookie = login(data.assessor_email, data.password)
                cookies = {
                    "admin": login(data.admin_email, data.password),
                    "worker": login(data.portfolio_email, data.password),
                }
                cursors = {
                    "big": deep_cursor(app, data.big_slug, round(scale * 0.9)),
                    "small": deep_cursor(app, data.small_slug, 900),
                }
                (BENCH / "explain.txt").write_text(
                    "EXPLAIN (ANALYZE, BUFFERS) of the hot queries, captured from the services "
                    f"on the benchmark data set of {scale:,} ({commit()}, {dt.date.today()}).\n\n"
                    + write_explain(app, data, cursors)
                )
                menv = {**env, "BENCH_CAPTURE_DIR": str(capture)}
                with gunicorn("minimal_app:app", MINIMAL_PORT, menv, work), nginx(work, capture):
                    results = measure(args, data, ids_file, cookie, cursors, sample)
                    results["pages"] = measure_pages(args, data, cookies, work)
            results["counts"] = counts
            if args.case_items:
                log(f"CASE import of {args.case_items:,} items (one process)")
                results["case"] = case_import_seconds(app, data, args.case_items)
            if last:
                log("Issuance and baking (one process)")
                results["issuance"] = [
                    issuance_rate(app, data, args.decisions) for _ in range(args.runs)
                ]
                # Each round bakes awards not baked before (a first download).
                results["baking"] = [
                    baking_rate(app, data.award_ids[-(i + 1) * args.bakes :][: args.bakes])
                    for i in range(args.runs)
                ]
            with app.app_context():
                db.engine.dispose()
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_pages(
    args: argparse.Namespace, data: dataset.DataSet, cookies: dict[str, str], work: Path
) -> dict[str, Any]:
    """Signed-in pages one request at a time, and the minimal endpoint the same way."""
    slug = data.big_slug
    pages = {
        "reports": (f"/o/{slug}/reports", "admin"),
        "awards": (f"/o/{slug}/awards", "admin"),
        "members": (f"/o/{slug}/members", "admin"),
        "portfolio": ("/portfolio/", "worker"),
    }
    out: dict[str, Any] = {"minimal": timed_gets(MINIMAL_PORT, "/html", count=args.page_requests)}
    for key, (path, who) in pages.items():
        try:
            out[key] = timed_gets(APP_PORT, path, cookie=cookies[who], count=args.page_requests)
        except (AssertionError, OSError) as exc:  # reported in the table, the run goes on
            out[key] = {"error": repr(exc)[:200]}
            log(f"  {key}: FAILED {exc!r}")
            app_log = work / f"gunicorn-{APP_PORT}.log"
            if app_log.exists():
                log(app_log.read_text()[-4000:])
            continue
        log(
            f"  {key}: p50 {ms(out[key]['p50_us'])} p95 {ms(out[key]['p95_us'])} "
            f"({out[key]['n']} requests, {out[key]['bytes'] / 1024:,.0f} KiB)"
        )
    return out


def measure(
    args: argparse.Namespace,
    data: dataset.DataSet,
    ids: Path,
    cookie: str,
    cursors: dict[str, str],
    sample: str,
) -> dict[str, Any]:
    """Interleaved rounds: every target once per round, app and reference back to back."""
    targets = {
        "ob2": ("/badges/{id}/assertion.json", "/ob2", ""),
        "ob3": ("/badges/{id}/credential.json", "/ob3", ""),
        "html": ("/badges/{id}", "/html", "text/html"),
    }
    queue_pages = {
        "big-first": f"/o/{data.big_slug}/queue",
        "big-deep": f"/o/{data.big_slug}/queue?after={cursors['big']}",
        "small-first": f"/o/{data.small_slug}/queue",
        "small-deep": f"/o/{data.small_slug}/queue?after={cursors['small']}",
    }
    results: dict[str, Any] = {"app": {}, "minimal": {}, "queue": {}, "nginx": {}}
    cached_path = f"/badges/{sample}"
    status, headers, _body = fetch(NGINX_PORT, cached_path, {"Accept": "text/html"})
    status, headers, _body = fetch(NGINX_PORT, cached_path, {"Accept": "text/html"})
    assert status == 200 and headers["X-Cache-Status"] == "HIT", (status, headers)
    log("Warming up")
    for path, ref, accept in targets.values():
        wrk(APP_PORT, path, connections=8, threads=2, seconds=2, ids=ids, accept=accept)
        wrk(MINIMAL_PORT, ref, connections=8, threads=2, seconds=1)
    for path in queue_pages.values():
        wrk(APP_PORT, path, connections=1, threads=1, seconds=1, cookie=cookie)
    for round_no in range(1, args.runs + 1):
        for key, (path, ref, accept) in targets.items():
            a = wrk(
                APP_PORT,
                path,
                connections=args.connections,
                threads=2,
                seconds=args.duration,
                ids=ids,
                accept=accept,
            )
            m = wrk(
                MINIMAL_PORT, ref, connections=args.connections, threads=2, seconds=args.duration
            )
            results["app"].setdefault(key, []).append(a)
            results["minimal"].setdefault(key, []).append(m)
            log(
                f"  round {round_no} {key}: app {a['rps']:,.0f} req/s p99 {ms(a['p99_us'])}, "
                f"minimal {m['rps']:,.0f} req/s ({a['rps'] / m['rps']:.2f}x)"
            )
        c = wrk(
            NGINX_PORT,
            cached_path,
            connections=args.connections,
            threads=2,
            seconds=args.duration,
            accept="text/html",
        )
        st = wrk(
            NGINX_PORT,
            "/static/badge.html",
            connections=args.connections,
            threads=2,
            seconds=args.duration,
            accept="text/html",
        )
        results["nginx"].setdefault("cached", []).append(c)
        results["nginx"].setdefault("static", []).append(st)
        log(
            f"  round {round_no} nginx: cache {c['rps']:,.0f} req/s, static {st['rps']:,.0f} "
            f"req/s ({c['rps'] / st['rps']:.2f}x)"
        )
        for key, path in queue_pages.items():
            q = wrk(
                APP_PORT, path, connections=1, threads=1, seconds=args.queue_duration, cookie=cookie
            )
            results["queue"].setdefault(key, []).append(q)
            log(f"  round {round_no} queue {key}: p50 {ms(q['p50_us'])} p95 {ms(q['p95_us'])}")
    return results


if __name__ == "__main__":
    main()
