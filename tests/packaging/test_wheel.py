"""The built wheel runs on its own: installed into a fresh virtualenv outside the checkout, it
migrates an empty SQLite database, loads the demo data and serves the login page and a badge page
from a real gunicorn process."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.wheel,
    pytest.mark.skipif(
        importlib.util.find_spec("setuptools") is None,
        reason="the build backend (setuptools) is not installed",
    ),
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the checkout (so the build leaves nothing behind in it),
    with the build backend this environment has, as `pip wheel .` builds it."""
    source = tmp_path_factory.mktemp("source") / "portfolio"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "node_modules",
            "build",
            "instance",
            "test-artifacts",
            "*.egg-info",
            "__pycache__",
            ".*_cache",
        ),
    )
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"),
            *("--no-build-isolation", "--wheel-dir", str(out), str(source)),
        ],
        check=True,
        cwd=out,
    )
    (built,) = out.glob("portfolio-*.whl")
    return built


def test_wheel_carries_templates_static_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "portfolio/_resources/templates/base.html",
        "portfolio/_resources/static/vendor/uppy/uppy.min.js",
        "portfolio/_resources/migrations/env.py",
        "portfolio/_resources/migrations/alembic.ini",
    ):
        assert name in names, f"{name} is not in {wheel.name}"
    versions = [n for n in names if n.startswith("portfolio/_resources/migrations/versions/")]
    assert len(versions) >= len(list((ROOT / "migrations" / "versions").glob("*.py")))
    assert not any("__pycache__" in n for n in names)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel; its dependencies come from this environment's
    site-packages (already installed from the lock) through a .pth path entry, which neither
    runs this environment's .pth files nor sees the checkout's editable install."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile"),
            *("--target", purelib, str(wheel)),
        ],
        check=True,
    )
    return python


@pytest.fixture
def deployment(installed: Path, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    port = free_port()
    workdir = tmp_path / "site"
    workdir.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "APP_ENV": "production",
        "SECRET_KEY": "wheel-test-secret-key-that-is-long-enough-0123456789",
        "SIGNING_KEY_SECRET": "wheel-test-signing-key-secret-long-enough-0123456789",
        "INSTANCE_PATH": str(workdir / "instance"),
        "DATABASE_URL": f"sqlite:///{workdir / 'portfolio.db'}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "FLASK_APP": "portfolio.wsgi",
        "PORT": str(port),
    }
    yield workdir, env


def _run(python: Path, workdir: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(python), *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_installed_wheel_migrates_and_serves_outside_the_checkout(
    installed: Path, deployment: tuple[Path, dict[str, str]]
) -> None:
    workdir, env = deployment
    where = _run(installed, workdir, env, "-c", "import portfolio; print(portfolio.__file__)")
    assert str(installed.parent.parent) in where and str(ROOT) not in where, where

    print(_run(installed, workdir, env, "-m", "flask", "db", "upgrade"))
    assert (workdir / "portfolio.db").is_file()
    demo = _run(installed, workdir, env, "-m", "flask", "demo-data")
    print(demo)
    match = re.search(r"Issued badge \(public, no login\): (\S+)", demo)
    assert match, demo
    badge_url = match.group(1)
    assert badge_url.startswith(env["PUBLIC_BASE_URL"] + "/")

    server = subprocess.Popen(
        [
            *(str(installed), "-m", "gunicorn", "--bind", f"127.0.0.1:{env['PORT']}"),
            *("--workers", "1", "--timeout", "120", "--graceful-timeout", "5"),
            "portfolio.wsgi:app",
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # A loaded machine can take a while to boot the worker: wait generously, fail clearly.
        wait_for_http(env["PUBLIC_BASE_URL"] + "/healthz", timeout=240)
        with urllib.request.urlopen(env["PUBLIC_BASE_URL"] + "/login", timeout=10) as resp:
            login = resp.read().decode()
        assert resp.status == 200
        assert 'name="password"' in login and 'name="csrf_token"' in login
        with urllib.request.urlopen(badge_url, timeout=10) as resp:
            badge = resp.read().decode()
        assert resp.status == 200
        assert "Vertical Fillet Welder (3G)" in badge and "Erin Earner" in badge, badge[:800]
        for src in re.findall(r'(?:href|src)="(/static/[^"?]+)', login + badge):
            with urllib.request.urlopen(env["PUBLIC_BASE_URL"] + src, timeout=10) as resp:
                assert resp.status == 200, src
    finally:
        server.terminate()
        try:
            out, _ = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            out, _ = server.communicate()
        print(out.decode(errors="replace")[-3000:])
