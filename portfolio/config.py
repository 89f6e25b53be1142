"""Typed settings. The only module in the application that reads the environment.

`Config.from_env()` builds a frozen settings object; `create_app(config)` receives it. Tests build
their own `Config` directly, so nothing in the code under test depends on the process environment.
"""

from __future__ import annotations

import itertools
import math
import os
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: Placeholder used in development and tests only; refused anywhere else.
DEV_SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - refused outside dev/testing below

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Where `templates/`, `static/` and `migrations/` live: the checkout's top-level folders, or the
#: copies an installed wheel carries inside the package (see setup.py).
_PACKAGED_RESOURCES = Path(__file__).resolve().parent / "_resources"
RESOURCE_ROOT = (
    _PACKAGED_RESOURCES if (_PACKAGED_RESOURCES / "templates").is_dir() else PROJECT_ROOT
)


_GENERATE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


class ConfigError(RuntimeError):
    """Raised when the settings cannot run the application safely."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


#: Least estimated entropy of a production secret, in bits. `secrets.token_urlsafe(48)` gives
#: about 300; 32 random hex digits (128 real bits) are estimated at about 100.
MIN_SECRET_BITS = 90


def secret_weakness(value: str) -> str | None:
    """Why a secret is too weak to sign sessions or protect keys, or None when it is not.

    The estimate is deliberately simple: the length times the Shannon entropy of the character
    frequencies, plus two checks that frequencies miss — repetition (the value compresses well)
    and runs like `abcdef` or `123456`. It refuses typed and patterned values, not every weak one.
    """
    if len(value) < 32:
        return "it is shorter than 32 characters"
    counts = Counter(value)
    bits = -sum(n * math.log2(n / len(value)) for n in counts.values())
    if bits < MIN_SECRET_BITS:
        return f"it is too predictable (about {bits:.0f} bits, at least {MIN_SECRET_BITS} needed)"
    if len(zlib.compress(value.encode(), 9)) < 0.6 * len(value.encode()):
        return "it repeats itself"
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(value)]
    in_runs = sum(1 for a, b in itertools.pairwise(steps) if a == b)
    if in_runs > len(value) // 4:
        return "it is made of runs of consecutive characters"
    return None


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain `postgres://` / `postgresql://` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


@dataclass(frozen=True)
class Config:
    """Every setting the application knows, with the environment variable that sets it."""

    #: APP_ENV: development | testing | production. Production refuses unsafe defaults.
    env: str = "development"
    #: SECRET_KEY: signs sessions, CSRF tokens, invitations, reset links and local storage URLs.
    secret_key: str = DEV_SECRET_KEY
    #: DATABASE_URL: SQLAlchemy URL; defaults to an SQLite file in instance/.
    database_url: str = ""
    #: INSTANCE_PATH: folder for the embedded database and local object store.
    instance_path: str = str(PROJECT_ROOT / "instance")
    #: PUBLIC_BASE_URL: scheme://host[:port] that outsiders use to reach the app (badge URLs).
    public_base_url: str = "http://127.0.0.1:5000"
    #: TRUSTED_HOSTS: comma-separated host[:port] values a request may name in its Host header;
    #: others get 400. Production defaults to PUBLIC_BASE_URL's host; development and tests
    #: accept any host unless set.
    trusted_hosts: tuple[str, ...] = ()
    #: TRUSTED_PROXIES: how many proxies in front of the app append to X-Forwarded-For and set
    #: X-Forwarded-Proto. 0 (the default) trusts no forwarding header: the connecting address is
    #: the client. Behind one TLS-terminating proxy, 1.
    trusted_proxies: int = 0

    #: CASE_FETCH_ALLOW_PRIVATE: let "import CASE by URL" reach private and loopback addresses
    #: (a local CASE server in development and tests). Refused in production.
    case_fetch_allow_private: bool = False
    #: SSO_ALLOW_PRIVATE_ISSUERS: let organizations' OpenID Providers live on private and
    #: loopback addresses, over http (a provider on the same machine in development and
    #: tests). Refused in production.
    sso_allow_private_issuers: bool = False

    #: STORAGE_BACKEND: local | s3.
    storage_backend: str = "local"
    #: LOCAL_STORAGE_PATH: root folder of the local object store.
    local_storage_path: str = ""
    #: S3_ENDPOINT_URL / S3_BUCKET / S3_REGION / S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY.
    s3_endpoint_url: str | None = None
    s3_bucket: str = "portfolio"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    #: S3_ADDRESSING_STYLE: path | virtual (path suits MinIO, Ceph and most self-hosted stores).
    s3_addressing_style: str = "path"
    #: S3_TIMEOUT_SECONDS / S3_MAX_ATTEMPTS: how long one S3 call may wait for the endpoint
    #: (connect and read) and how often it is tried; a slow store then fails fast with "try
    #: again" instead of holding the request.
    s3_timeout_seconds: int = 10
    s3_max_attempts: int = 2
    #: SIGNED_URL_SECONDS: lifetime of signed download and upload URLs.
    signed_url_seconds: int = 300

    #: MAX_UPLOAD_BYTES: largest single evidence file.
    max_upload_bytes: int = 512 * 1024 * 1024
    #: MAX_FORM_BYTES: largest non-upload request body (forms, JSON, imports).
    max_form_bytes: int = 16 * 1024 * 1024
    #: USER_QUOTA_BYTES: total size of the files one worker may keep in their portfolio.
    user_quota_bytes: int = 5 * 1024 * 1024 * 1024
    #: PREVIEW_MODE: background | inline | off. How preview images of HEIC photos, videos,
    #: PDFs and office files are made: in background threads after the upload (default), at
    #: once (command-line use) or not at all.
    preview_mode: str = "background"
    #: CSP_EXTRA_ORIGINS: comma-separated origins browsers may upload to and load files from
    #: (besides S3_ENDPOINT_URL's origin, which is added automatically), e.g. a CDN.
    csp_extra_origins: tuple[str, ...] = ()

    #: SMTP_HOST / SMTP_PORT / SMTP_USERNAME / SMTP_PASSWORD / SMTP_USE_TLS / MAIL_FROM.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_use_tls: bool = True
    mail_from: str = "Portfolio <no-reply@localhost>"
    #: MAIL_BACKEND: smtp | log | memory. Defaults to smtp when SMTP_HOST is set, else log;
    #: memory (a bounded list read by tests) is the default, and only allowed, in testing.
    mail_backend: str = ""

    #: JOBS_BACKEND: sqlite (an SQLite file, embedded default) | redis (production) | immediate
    #: (tests: each job runs when its transaction commits).
    jobs_backend: str = "sqlite"
    #: JOBS_URL: redis://host:port/db for redis; the SQLite file for sqlite (default
    #: instance/jobs.sqlite3).
    jobs_url: str = ""

    #: RATELIMIT_STORAGE_URI: memory:// for one process; redis:// or memcached:// when scaled out.
    ratelimit_storage_uri: str = "memory://"
    #: LOGIN_RATE_LIMIT: limit on login and password-reset attempts per client address.
    login_rate_limit: str = "10 per minute"
    #: API_RATE_LIMIT: limit on API requests per token (per client address without one).
    api_rate_limit: str = "600 per minute"
    #: WEBHOOK_ALLOW_PRIVATE_TARGETS: let webhooks reach loopback and private addresses (local
    #: development and tests only; otherwise refused, so webhooks cannot probe the internal
    #: network).
    webhook_allow_private_targets: bool = False
    #: SESSION_COOKIE_SECURE: send the session cookie over HTTPS only (forced on in production).
    session_cookie_secure: bool = False
    #: INVITATION_MAX_AGE_SECONDS / RESET_MAX_AGE_SECONDS: lifetime of emailed links.
    invitation_max_age_seconds: int = 7 * 24 * 3600
    reset_max_age_seconds: int = 3600
    #: EMAIL_CONFIRMATION_MAX_AGE_SECONDS: lifetime of the link that confirms a self-registered
    #: address; unconfirmed accounts older than this are removed.
    email_confirmation_max_age_seconds: int = 3 * 24 * 3600
    #: LOG_LEVEL: logging level name.
    log_level: str = "INFO"
    #: CLAIM_LEASE_SECONDS: how long an assessor's claim on a submission lasts.
    claim_lease_seconds: int = 2 * 3600
    #: SIGNING_KEY_SECRET: encrypts issuers' Ed25519 signing keys at rest (required in
    #: production; development and tests derive it from SECRET_KEY).
    signing_key_secret: str = ""

    @property
    def is_production(self) -> bool:
        return self.env not in {"development", "testing"}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        """Build settings from environment variables (see the README for the full list)."""
        env = dict(os.environ if environ is None else environ)
        # Safe by default: without APP_ENV the app assumes production and demands a real key.
        app_env = env.get("APP_ENV", "production")
        instance = env.get("INSTANCE_PATH", str(PROJECT_ROOT / "instance"))
        return cls(
            env=app_env,
            secret_key=env.get("SECRET_KEY", DEV_SECRET_KEY),
            database_url=env.get("DATABASE_URL", ""),
            instance_path=instance,
            # Without PUBLIC_BASE_URL, the address `make run` serves on (PORT, default 5000).
            public_base_url=env.get(
                "PUBLIC_BASE_URL", f"http://127.0.0.1:{env.get('PORT') or 5000}"
            ).rstrip("/"),
            trusted_hosts=tuple(
                h.strip().lower() for h in env.get("TRUSTED_HOSTS", "").split(",") if h.strip()
            ),
            case_fetch_allow_private=_bool(env.get("CASE_FETCH_ALLOW_PRIVATE")),
            sso_allow_private_issuers=_bool(env.get("SSO_ALLOW_PRIVATE_ISSUERS")),
            trusted_proxies=_int(env, "TRUSTED_PROXIES", 0),
            storage_backend=env.get("STORAGE_BACKEND", "local"),
            local_storage_path=env.get("LOCAL_STORAGE_PATH", ""),
            s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
            s3_bucket=env.get("S3_BUCKET", "portfolio"),
            s3_region=env.get("S3_REGION", "us-east-1"),
            s3_access_key_id=env.get("S3_ACCESS_KEY_ID") or env.get("AWS_ACCESS_KEY_ID"),
            s3_secret_access_key=env.get("S3_SECRET_ACCESS_KEY")
            or env.get("AWS_SECRET_ACCESS_KEY"),
            s3_addressing_style=env.get("S3_ADDRESSING_STYLE", "path"),
            s3_timeout_seconds=_int(env, "S3_TIMEOUT_SECONDS", 10),
            s3_max_attempts=_int(env, "S3_MAX_ATTEMPTS", 2),
            signed_url_seconds=_int(env, "SIGNED_URL_SECONDS", 300),
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 512 * 1024 * 1024),
            max_form_bytes=_int(env, "MAX_FORM_BYTES", 16 * 1024 * 1024),
            user_quota_bytes=_int(env, "USER_QUOTA_BYTES", 5 * 1024 * 1024 * 1024),
            preview_mode=env.get("PREVIEW_MODE", "background"),
            csp_extra_origins=tuple(
                o.strip().rstrip("/")
                for o in env.get("CSP_EXTRA_ORIGINS", "").split(",")
                if o.strip()
            ),
            smtp_host=env.get("SMTP_HOST") or None,
            smtp_port=_int(env, "SMTP_PORT", 587),
            smtp_username=env.get("SMTP_USERNAME") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            smtp_use_tls=_bool(env.get("SMTP_USE_TLS"), True),
            mail_from=env.get("MAIL_FROM", "Portfolio <no-reply@localhost>"),
            jobs_backend=env.get("JOBS_BACKEND", "sqlite"),
            jobs_url=env.get("JOBS_URL", ""),
            mail_backend=env.get("MAIL_BACKEND", ""),
            ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI", "memory://"),
            login_rate_limit=env.get("LOGIN_RATE_LIMIT", "10 per minute"),
            api_rate_limit=env.get("API_RATE_LIMIT", "600 per minute"),
            webhook_allow_private_targets=_bool(env.get("WEBHOOK_ALLOW_PRIVATE_TARGETS")),
            session_cookie_secure=_bool(env.get("SESSION_COOKIE_SECURE"), app_env == "production"),
            invitation_max_age_seconds=_int(env, "INVITATION_MAX_AGE_SECONDS", 7 * 24 * 3600),
            reset_max_age_seconds=_int(env, "RESET_MAX_AGE_SECONDS", 3600),
            email_confirmation_max_age_seconds=_int(
                env, "EMAIL_CONFIRMATION_MAX_AGE_SECONDS", 3 * 24 * 3600
            ),
            log_level=env.get("LOG_LEVEL", "INFO"),
            claim_lease_seconds=_int(env, "CLAIM_LEASE_SECONDS", 2 * 3600),
            signing_key_secret=env.get("SIGNING_KEY_SECRET", ""),
        )

    def resolved(self) -> Config:
        """Fill derived defaults and refuse settings that are unsafe for the environment."""
        cfg = self
        if not cfg.database_url:
            cfg = replace(cfg, database_url=f"sqlite:///{Path(cfg.instance_path) / 'portfolio.db'}")
        else:
            cfg = replace(cfg, database_url=normalize_database_url(cfg.database_url))
        if not cfg.local_storage_path:
            cfg = replace(cfg, local_storage_path=str(Path(cfg.instance_path) / "storage"))
        if cfg.storage_backend not in {"local", "s3"}:
            raise ConfigError(
                f"STORAGE_BACKEND must be 'local' or 's3', got {cfg.storage_backend!r}"
            )
        if cfg.jobs_backend not in {"sqlite", "redis", "immediate"}:
            raise ConfigError(
                f"JOBS_BACKEND must be 'sqlite', 'redis' or 'immediate', got {cfg.jobs_backend!r}"
            )
        if cfg.jobs_backend == "redis" and not cfg.jobs_url.startswith(("redis://", "rediss://")):
            raise ConfigError("JOBS_BACKEND=redis needs JOBS_URL=redis://host:port/db")
        if not cfg.mail_backend:
            default = "memory" if cfg.env == "testing" else ("smtp" if cfg.smtp_host else "log")
            cfg = replace(cfg, mail_backend=default)
        if cfg.mail_backend not in {"smtp", "log", "memory"}:
            raise ConfigError(
                f"MAIL_BACKEND must be 'smtp', 'log' or 'memory', got {cfg.mail_backend!r}"
            )
        if cfg.mail_backend == "memory" and cfg.env != "testing":
            # Kept in the process only for tests to read; never a way to "send" real mail.
            raise ConfigError("MAIL_BACKEND=memory is for tests only (APP_ENV=testing).")
        if cfg.mail_backend == "smtp" and not cfg.smtp_host:
            raise ConfigError("MAIL_BACKEND=smtp needs SMTP_HOST.")
        if cfg.preview_mode not in {"background", "inline", "off"}:
            raise ConfigError(
                f"PREVIEW_MODE must be 'background', 'inline' or 'off', got {cfg.preview_mode!r}"
            )
        if cfg.trusted_proxies < 0:
            raise ConfigError(f"TRUSTED_PROXIES must be 0 or more, got {cfg.trusted_proxies}")
        if cfg.is_production:
            # A guessable key lets anyone forge sessions, invitations and reset links.
            weakness = (
                "it is the development placeholder"
                if cfg.secret_key in {"", DEV_SECRET_KEY}
                else secret_weakness(cfg.secret_key)
            )
            if weakness:
                raise ConfigError(
                    "SECRET_KEY must be set to a random value of at least 32 characters when "
                    f"APP_ENV={cfg.env!r} ({weakness}). Generate one with: {_GENERATE}"
                )
            cfg = replace(cfg, session_cookie_secure=True)
            # The server would fetch URLs an admin types: it must not become a way into the
            # private network it runs in (metadata services, databases, admin consoles).
            if cfg.case_fetch_allow_private:
                raise ConfigError(
                    f"CASE_FETCH_ALLOW_PRIVATE cannot be set when APP_ENV={cfg.env!r}."
                )
            # The same for the OpenID Providers an organization admin types in.
            if cfg.sso_allow_private_issuers:
                raise ConfigError(
                    f"SSO_ALLOW_PRIVATE_ISSUERS cannot be set when APP_ENV={cfg.env!r}."
                )
            if not cfg.trusted_hosts:
                # Only the public host: a forged Host header cannot reach any page.
                cfg = replace(cfg, trusted_hosts=(urlsplit(cfg.public_base_url).netloc.lower(),))
            # Without it the issuers' private keys would be protected by nothing secret.
            weakness = secret_weakness(cfg.signing_key_secret)
            if weakness:
                raise ConfigError(
                    "SIGNING_KEY_SECRET must be set to a random value of at least 32 characters "
                    f"when APP_ENV={cfg.env!r} ({weakness}); it encrypts the issuers' signing "
                    f"keys. Generate one with: {_GENERATE} Keep it stable: changing it makes "
                    "existing keys unreadable."
                )
            # One leaked value must not give away both the sessions and the signing keys.
            if cfg.signing_key_secret.strip() == cfg.secret_key.strip():
                raise ConfigError(
                    "SIGNING_KEY_SECRET must differ from SECRET_KEY: a leak of one would expose "
                    f"both sessions and signing keys. Generate a second value with: {_GENERATE}"
                )
        elif not cfg.signing_key_secret:
            cfg = replace(cfg, signing_key_secret="signing-key:" + cfg.secret_key)
        return cfg

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
