"""Fetching a CASE package from a provider's `CFPackages/{id}` URL, safely.

The server fetches a URL an admin types, so it must not become a way into the network it runs
in: only http and https; the host's addresses are resolved once, every one must be a public
address (unless CASE_FETCH_ALLOW_PRIVATE, refused in production, allows private and loopback
ones for a local CASE server), and the connection goes to the checked address (a second DNS
answer cannot swap it). At most a few redirects, each checked the same way; the body is read up
to the import size limit, within a total time limit.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from portfolio.core.errors import DomainError

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT_SECONDS = 15.0
MAX_REDIRECTS = 3


class FetchFailed(DomainError):
    """The package could not be fetched; the message says why."""


@dataclass(frozen=True)
class Fetched:
    url: str
    body: bytes


def _check_address(address: str, allow_private: bool) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if allow_private:
        return
    if not ip.is_global or ip.is_multicast:
        raise FetchFailed(
            "This address is not on the public internet; only public CASE servers can be fetched."
        )


def _resolve(host: str, port: int, allow_private: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise FetchFailed(f"The host {host} was not found.") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise FetchFailed(f"The host {host} was not found.")
    for address in addresses:
        _check_address(str(address), allow_private)
    return str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # Certificate and SNI for the host name, connection to the checked address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch_package(url: str, *, allow_private: bool = False) -> Fetched:
    """GET a CASE package; raise `FetchFailed` with a reason an admin understands."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise FetchFailed("Give an http:// or https:// URL of a CASE package.")
        if parts.username or parts.password:
            raise FetchFailed("The URL must not contain a user name or password.")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _resolve(parts.hostname, port, allow_private)
        cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        conn = cls(parts.hostname, port, address, timeout=max(1.0, deadline - time.monotonic()))
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            conn.request(
                "GET",
                path,
                headers={"Accept": "application/json", "User-Agent": "Portfolio CASE import"},
            )
            response = conn.getresponse()
            if response.status in {301, 302, 303, 307, 308}:
                location = response.getheader("Location") or ""
                conn.close()
                if not location:
                    raise FetchFailed("The server answered with a redirect to nowhere.")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchFailed(f"The server answered {response.status} {response.reason}.")
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > MAX_BYTES:
                raise FetchFailed("The package is larger than 5 MB.")
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise FetchFailed(f"The server took longer than {TIMEOUT_SECONDS:.0f} s.")
                chunk = response.read(64 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_BYTES:
                    raise FetchFailed("The package is larger than 5 MB.")
                chunks.append(chunk)
            return Fetched(url=url, body=b"".join(chunks))
        except TimeoutError:
            raise FetchFailed(f"The server took longer than {TIMEOUT_SECONDS:.0f} s.") from None
        except ssl.SSLError as exc:
            raise FetchFailed(f"The secure connection failed ({exc.reason}).") from None
        except (OSError, http.client.HTTPException) as exc:
            raise FetchFailed(f"The server could not be reached ({exc}).") from None
        finally:
            conn.close()
    raise FetchFailed("The server redirected too many times.")
