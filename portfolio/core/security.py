"""Login-required-by-default, security headers and safe redirects.

Every view needs a logged-in user unless it is decorated with `@public`. The check runs before
each request, so a new view is private unless somebody decides otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request, url_for
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., object])

#: Scripts and styles only from our own origin: no inline script can run even if markup slips in.
#: Images, media and connections from our own origin only, plus the configured object store
#: (`build_csp`): never "any https host", so injected markup cannot load from or send to a
#: host of an attacker's choosing. Frames only from our own origin (inline previews of files
#: are served through the app).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "frame-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def build_csp(extra_origins: tuple[str, ...] = ()) -> str:
    """The policy with `extra_origins` (the object store, for direct uploads, thumbnails and
    downloads) allowed to be fetched from and uploaded to; never framed, never for scripts or
    styles."""
    if not extra_origins:
        return CONTENT_SECURITY_POLICY
    extra = " " + " ".join(extra_origins)
    directives = []
    for directive in CONTENT_SECURITY_POLICY.split("; "):
        name = directive.split(" ", 1)[0]
        if name in {"img-src", "media-src", "connect-src"}:
            directive += extra
        directives.append(directive)
    return "; ".join(directives)


def storage_origins(cfg: object) -> tuple[str, ...]:
    """Origins of the object store that browsers talk to directly, plus configured extras."""
    origins = list(getattr(cfg, "csp_extra_origins", ()) or ())
    endpoint = getattr(cfg, "s3_endpoint_url", None)
    if getattr(cfg, "storage_backend", "local") == "s3" and endpoint:
        parts = urlsplit(endpoint)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(dict.fromkeys(origins))


def public(view: F) -> F:
    """Mark a view as reachable without logging in."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def is_safe_redirect(target: str | None) -> bool:
    """Only same-site relative paths: no `//evil`, `https://evil`, backslashes or `javascript:`."""
    if not target:
        return False
    # Browsers drop tabs and newlines inside URLs ("/\t/evil" becomes "//evil"), and a newline
    # cannot go into a Location header at all: refuse whitespace and control characters.
    if any(ch <= " " or ch == "\x7f" for ch in target):
        return False
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(default_endpoint: str = "accounts.dashboard") -> str:
    """The `next` parameter when it is safe, else the default page (no open redirects)."""
    target = request.values.get("next")
    if target and is_safe_redirect(target):
        return target
    return url_for(default_endpoint)


def security_headers_of(app: Flask) -> tuple[tuple[str, str], ...]:
    """The headers every response carries (unless it sets its own), fixed by the settings:
    computed once, and shared with the hosted-documents fast path (`portfolio.verify.fastpath`)."""
    headers = [
        ("Content-Security-Policy", build_csp(storage_origins(app.config.get("PORTFOLIO")))),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if app.config.get("SESSION_COOKIE_SECURE"):
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return tuple(headers)


def init_security(app: Flask) -> None:
    """Install the login gate and the security headers."""
    trusted = set(app.config["PORTFOLIO"].trusted_hosts)

    @app.before_request
    def require_trusted_host() -> Response | None:
        # Nothing may answer a request that names another host: pages and mails would otherwise
        # carry links to it. The health check is exempt: load balancers call it by address.
        if not trusted or request.host.lower() in trusted or request.path == "/healthz":
            return None
        return Response(
            "Bad request: this service does not answer for that host name.\n",
            status=400,
            mimetype="text/plain",
        )

    @app.before_request
    def refuse_nul_in_address() -> Response | None:
        # No id, slug or query value ever holds a NUL character, and PostgreSQL text cannot
        # hold one at all: such an address is refused before anything looks it up.
        if "\x00" in request.path or any(
            "\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)
        ):
            detail = "The address contains a NUL character."
            if request.path.startswith("/api/"):  # the API answers in problem details
                body = {"type": "about:blank", "title": "Bad Request", "status": 400}
                return Response(
                    json.dumps({**body, "detail": detail}),
                    status=400,
                    mimetype="application/problem+json",
                )
            return Response(f"Bad request: {detail}\n", status=400, mimetype="text/plain")
        return None

    @app.before_request
    def require_login() -> Response | None:
        if request.endpoint is None:
            return None  # 404s are handled by the error handlers
        view = current_app.view_functions.get(request.endpoint)
        if view is None or getattr(view, "is_public", False):
            return None
        if request.endpoint == "static":
            return None
        if not current_user.is_authenticated:
            login_manager = current_app.login_manager  # type: ignore[attr-defined]
            return login_manager.unauthorized()  # type: ignore[no-any-return]
        return None

    headers = security_headers_of(app)

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in headers:
            response.headers.setdefault(name, value)
        # A response that says how to cache it is left alone without loading the user: the
        # public pages and documents never open the session.
        if "Cache-Control" not in response.headers and current_user.is_authenticated:
            # Pages behind a login must not be kept by shared caches or the back button.
            response.headers["Cache-Control"] = "no-store"
        return response
