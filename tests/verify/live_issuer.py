"""The app served on loopback as an issuer that outside verifiers reach over the network: over
http (the embedded default, keys at their own URLs) or over https with a did:web issuer.

For https the server gets a throwaway self-signed certificate for 127.0.0.1 (and localhost),
written next to the test; Node trusts it through NODE_EXTRA_CA_CERTS, so the verifiers resolve
`did:web:127.0.0.1%3A<port>:issuers:<id>` exactly as they would a public did:web issuer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).parent / "node" / "verify_live.mjs"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate (its own trust anchor) for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class LiveIssuer:
    """The app on 127.0.0.1 over `scheme`, with PUBLIC_BASE_URL pointing at it."""

    def __init__(self, app: Flask, scheme: str, directory: Path) -> None:
        self.scheme = scheme
        self.port = free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.ca_file: Path | None = None
        context = None
        if scheme == "https":
            self.ca_file, key_file = self_signed_certificate(directory)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.ca_file, key_file)
        self._server = make_server("127.0.0.1", self.port, app, threaded=True, ssl_context=context)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        app.config["PORTFOLIO"] = dataclasses.replace(
            app.config["PORTFOLIO"], public_base_url=self.url
        )

    def client_context(self) -> ssl.SSLContext | None:
        if self.ca_file is None:
            return None
        return ssl.create_default_context(cafile=str(self.ca_file))

    def get(self, path: str, accept: str = "application/json") -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url + path, headers={"Accept": accept})
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.client_context()) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.get("/healthz")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.url} did not come up")

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(10)


def node_modules_ready() -> bool:
    """Whether `npm ci` (make vendor / make test) installed the verifier libraries."""
    return (ROOT / "node_modules" / "@digitalcredentials" / "verifier-core").is_dir()


def run_node(issuer: LiveIssuer, script: str, *args: str) -> dict[str, Any]:
    """Run a harness script of tests/verify/node against `issuer`; its report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTP", "NODE_"))}
    env.pop("https_proxy", None)
    env.pop("http_proxy", None)
    if issuer.ca_file is not None:
        env["NODE_EXTRA_CA_CERTS"] = str(issuer.ca_file)
    node = shutil.which("node")
    assert node, "node is needed for the verifier harness"
    result = subprocess.run(
        [node, str(HARNESS.parent / script), *args],
        cwd=HARNESS.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("@@REPORT@@"))
    report: dict[str, Any] = json.loads(line[len("@@REPORT@@") :])
    return report


def run_live_verifiers(
    issuer: LiveIssuer, credential: dict[str, Any], tmp_path: Path, *, db_only: bool = False
) -> dict[str, Any]:
    """Run DCC's verifier-core (unless `db_only`) and Digital Bazaar's vc on `credential`
    (see verify_live.mjs)."""
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(credential), encoding="utf-8")
    return run_node(issuer, HARNESS.name, str(path), *(["--db-only"] if db_only else []))
