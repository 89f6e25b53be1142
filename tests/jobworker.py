"""A real `flask jobs worker` process against the test Redis broker, on the test's database and
object store: for tests whose point is the queue (an effect happens in the worker, after commit,
once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

ROOT = Path(__file__).resolve().parents[1]


def redis_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings that put the app's queue on this test worker's own Redis database (skips the
    test when `make test` did not start Redis)."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set: run the suite through `make test`")
    queue_db = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0) + 1
    return {"jobs_backend": "redis", "jobs_url": url.rsplit("/", 1)[0] + f"/{queue_db}"}


def wait_for(check: Any, timeout: float = 240.0) -> None:
    """Poll until `check()` holds; the generous deadline only catches a hang."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the worker did not get there"
        time.sleep(0.2)


class JobWorker:
    """`flask jobs worker` in its own process, on the test's database, storage and queue."""

    def __init__(
        self, app: Flask, tmp_path: Path, imports: tuple[str, ...] = (), **extra_env: str
    ) -> None:
        cfg = app.config["PORTFOLIO"]
        #: Modules of test-only jobs the worker imports too.
        self.imports = imports
        self.env = dict(
            os.environ,
            APP_ENV="testing",
            FLASK_APP="wsgi",
            SECRET_KEY=cfg.secret_key,
            DATABASE_URL=cfg.database_url,
            INSTANCE_PATH=str(tmp_path / "worker-instance"),
            JOBS_BACKEND="redis",
            JOBS_URL=cfg.jobs_url,
            PUBLIC_BASE_URL=cfg.public_base_url,
            STORAGE_BACKEND=cfg.storage_backend,
            LOCAL_STORAGE_PATH=cfg.local_storage_path,
            PREVIEW_MODE=cfg.preview_mode,
            **extra_env,
        )
        self.log = tmp_path / "worker.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *imports: str) -> None:
        flask = str(Path(sys.executable).with_name("flask"))
        args = [flask, "jobs", "worker", "--workers", "2"]
        for module in (*self.imports, *imports):
            args += ["--import", module]
        self.proc = subprocess.Popen(
            args, env=self.env, cwd=str(ROOT), stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None
