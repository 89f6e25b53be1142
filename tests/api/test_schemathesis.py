"""schemathesis against the served OpenAPI document: the live app (a real HTTP server in a
thread) with the shared world's data and an admin's token carrying every scope; every
operation is exercised with generated valid and invalid input. No response may be a 5xx, and
every status code, content type, header and body must conform to the document."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import make_token
from tests.conftest import LiveServer
from tests.security.conftest import World


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"api_rate_limit": "1000000 per minute"}


CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def test_every_operation_conforms_to_the_served_spec(world: World, tmp_path: Path) -> None:
    raw = make_token(world.s.admin)
    server = LiveServer(world.app)
    server.start()
    try:
        st = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
        assert st, "schemathesis is a dev dependency"
        result = subprocess.run(
            [
                st,
                "run",
                f"{server.url}/api/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {raw}",
                "--checks",
                CHECKS,
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "15",
                "--seed",
                "20261202",
                "--generation-database",
                "none",
                "--request-timeout",
                "30",
                "--workers",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=1200,
            cwd=tmp_path,
        )
    finally:
        server.stop()
    output = result.stdout + result.stderr
    print(output[-4000:])
    assert result.returncode == 0, output[-8000:]
    # Every operation of the document was tested (none skipped for want of a schema).
    assert "No issues found" in output or "passed" in output
