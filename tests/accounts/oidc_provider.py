"""A real OpenID Provider in its own process for the single sign-on tests: `oidc_provider.mjs`
beside this file runs the OpenID-certified `oidc-provider` package from node_modules (installed
by `npm ci` in `make test`), configured here with one client and test accounts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests

SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
CLIENT_ID = "portfolio-tests"
CLIENT_SECRET = "a-client-secret-for-the-tests-only-0123456789"

#: The provider's people, by login name (the password is not checked by its test login form).
ACCOUNTS: dict[str, dict[str, Any]] = {
    "ada": {"email": "ada@staff.example.org", "email_verified": True, "name": "Ada Lovelace"},
    "unverified": {"email": "mallory@staff.example.org", "email_verified": False, "name": "M"},
    "grace": {"email": "grace@example.org", "email_verified": True, "name": "Grace Hopper"},
}
_FORM_RE = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.IGNORECASE)


class OidcProvider:
    """`node oidc_provider.mjs` on 127.0.0.1, a port of its choosing; `issuer` once started."""

    def __init__(
        self,
        redirect_uris: list[str],
        *,
        accounts: dict[str, dict[str, Any]] | None = None,
        conform_id_token_claims: bool = True,
    ) -> None:
        self.config = {
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": redirect_uris,
                }
            ],
            "accounts": accounts or ACCOUNTS,
            "conform_id_token_claims": conform_id_token_claims,
        }
        self.issuer = ""
        self.proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []
        self._folder = tempfile.TemporaryDirectory(prefix="oidc-provider-")

    def start(self) -> None:
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is needed for the OpenID Provider (make test installs it)")
        if not (SCRIPT.parents[2] / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("node_modules/oidc-provider is missing: run `npm ci` (make test does)")
        path = Path(self._folder.name) / "config.json"
        path.write_text(json.dumps(self.config))
        self.proc = subprocess.Popen(
            [node, str(SCRIPT), str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # printed once the provider answers
        if not line:
            raise RuntimeError(f"the OpenID Provider did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]
        self.issuer = json.loads(line)["issuer"]
        # Keep reading what it says, so a full pipe never blocks it.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None
        self._folder.cleanup()

    # -- a person at the provider, without a browser ------------------------------------------
    def sign_in(self, authorization_url: str, login: str) -> str:
        """Go through the provider's login and consent pages like a browser would, as `login`,
        starting at `authorization_url`; returns the URL it sends the browser back to."""
        browser = requests.Session()
        url = authorization_url
        for _ in range(12):
            response = browser.get(url, allow_redirects=False, timeout=10)
            while response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                if not url.startswith(self.issuer + "/"):
                    return url  # back to the client
                response = browser.get(url, allow_redirects=False, timeout=10)
            match = _FORM_RE.search(response.text)
            assert match, f"no form at the provider: {response.status_code} {response.text[:500]}"
            action = urljoin(url, unescape(match.group(1)))
            if 'name="login"' in response.text:
                data = {"prompt": "login", "login": login, "password": "any"}
            else:
                data = {"prompt": "consent"}
            response = browser.post(action, data=data, allow_redirects=False, timeout=10)
            assert response.is_redirect, (response.status_code, response.text[:500])
            url = urljoin(action, response.headers["Location"])
            if not url.startswith(self.issuer + "/"):
                return url
        raise AssertionError("the provider never sent the browser back")


def path_and_query(url: str) -> str:
    """`/sso/callback?code=...` from an absolute URL, for the Flask test client."""
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """A running provider whose client may return to the test client's base URL; one per test
    session (each sign-in is its own browser at the provider, so tests share nothing)."""
    provider = OidcProvider(["http://localhost/sso/callback"])
    provider.start()
    yield provider
    provider.stop()
