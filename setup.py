"""Build hook: the wheel carries the top-level `templates/`, `static/` and `migrations/` folders.

They stay at the top of the checkout (where `create_app` finds them in development); a built
wheel holds copies under `portfolio/_resources/`, which `portfolio.config.RESOURCE_ROOT` points
at when the package runs installed. Editable installs copy nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
RESOURCES = ("templates", "static", "migrations")
#: Front-end bundles `make vendor` copies from npm; a wheel without them serves broken pages.
REQUIRED_VENDOR_FILES = ("static/vendor/uppy/uppy.min.js", "static/vendor/uppy/uppy.min.css")


class BuildWithResources(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        missing = [name for name in REQUIRED_VENDOR_FILES if not (ROOT / name).is_file()]
        if missing:
            raise SystemExit(f"missing {', '.join(missing)}: run `make vendor` before building")
        target = Path(self.build_lib) / "portfolio" / "_resources"
        for name in RESOURCES:
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(
                ROOT / name,
                target / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".copied"),
            )


setup(cmdclass={"build_py": BuildWithResources})
