"""Webhooks: an organization's endpoints receive `award.issued`, `award.revoked`,
`submission.decided` and `submission.submitted`, signed the Standard Webhooks way.

Events come from the audit trail: when a transaction adds the audit event of one of these
actions (`award.issue`, `award.revoke`, `review.record`, `submission.submit`), a delivery row is
written for every subscribed endpoint in the same transaction, and a job sends it after commit.
So a rolled-back action sends nothing, and no domain needs to know that webhooks exist.

Signing (https://www.standardwebhooks.com): headers `webhook-id` (the delivery's id, the same on
every retry), `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`
(`v1,` + base64 HMAC-SHA256 over `id.timestamp.body` with the endpoint's secret, whose key is
the base64 after `whsec_`). Failed attempts are retried with exponential backoff for about a
day (20 s doubling, 12 retries: 22.75 h); each attempt is logged; admins can send one again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portfolio.accounts.models import Organization, Role, User
from portfolio.core import audit
from portfolio.core.audit import AuditEvent
from portfolio.core.db import TimestampMixin, UTCDateTime, utcnow
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.ids import is_public_id, new_public_id
from portfolio.core.jobs import enqueue, job
from portfolio.core.transaction import commit
from portfolio.extensions import db

#: Webhook event type for each audited action.
EVENTS_BY_ACTION = {
    "award.issue": "award.issued",
    "award.revoke": "award.revoked",
    "review.record": "submission.decided",
    "submission.submit": "submission.submitted",
}
EVENT_TYPES = tuple(EVENTS_BY_ACTION.values())
#: Audit data passed on in the payload (nothing else of the audit row leaves the service).
_PAYLOAD_FIELDS = {
    "award.issued": ("credential", "submission", "batch", "without_assessment"),
    "award.revoked": ("reason",),
    "submission.decided": ("outcome",),
    "submission.submitted": ("attempt",),
}
#: Retry policy: 20 s, 40 s, ... doubling, 12 retries: the last attempt ~22.75 h after the first.
RETRIES, RETRY_DELAY = 12, 20
#: One attempt waits this long for the receiver.
TIMEOUT_SECONDS = 10


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEndpoint(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """A URL of an organization that receives signed events."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    #: `whsec_` + base64 of 32 random bytes; the receiver needs it to check signatures, so it is
    #: kept (shown to the organization's admins only), unlike API tokens.
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    events: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    organization: Mapped[Organization] = relationship()


class WebhookDelivery(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """One event for one endpoint, with the log of its attempts."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The `webhook-id` header: the same on every attempt, so receivers can drop duplicates.
    public_id: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event: Mapped[str] = mapped_column(String(40), nullable=False)
    #: The body exactly as signed and sent.
    body: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[DeliveryState] = mapped_column(
        String(16), nullable=False, default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: One entry per attempt: {"at", "status", "error"}.
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    endpoint: Mapped[WebhookEndpoint] = relationship()


# -- signing -------------------------------------------------------------------------------------
def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` value for one attempt."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


# -- endpoints -----------------------------------------------------------------------------------
def _require_admin(actor: User, org: Organization) -> None:
    if not actor.has_role(org.id, Role.ADMIN):
        raise NotFound("No such organization.")


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    cfg = current_app.config["PORTFOLIO"]
    allowed = {"https"} if cfg.env == "production" else {"https", "http"}
    if parts.scheme not in allowed or not parts.hostname or len(url) > 2000:
        raise DomainError(
            "Give the full address of the receiver, starting with https://."
            if cfg.env == "production"
            else "Give the full address of the receiver, starting with https:// or http://."
        )
    return url


def _is_private_target(host: str) -> bool:
    """True when the host resolves to a loopback, private, link-local or reserved address:
    webhooks must not become a way to reach the service's own network."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: the attempt fails and is logged
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if not addr.is_global:
            return True
    return False


def list_endpoints(admin: User, org: Organization) -> list[WebhookEndpoint]:
    """The organization's endpoints (admins)."""
    _require_admin(admin, org)
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organization_id == org.id)
            .order_by(WebhookEndpoint.id)
        )
    )


def add_endpoint(admin: User, org: Organization, url: str, events: list[str]) -> WebhookEndpoint:
    """Register a receiver for some event types (admins). Audited."""
    _require_admin(admin, org)
    chosen = sorted(set(events))
    if not chosen or any(e not in EVENT_TYPES for e in chosen):
        raise DomainError("Choose at least one of the events offered.")
    endpoint = WebhookEndpoint(
        organization_id=org.id, url=_check_url(url), secret=new_secret(), events=chosen
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record(
        "webhook.add",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="webhook",
        subject_id=endpoint.public_id,
        url=endpoint.url,
        events=chosen,
    )
    return endpoint


def get_endpoint(admin: User, org: Organization, public_id: str) -> WebhookEndpoint:
    _require_admin(admin, org)
    endpoint = None
    if is_public_id(public_id):
        endpoint = db.session.scalar(
            select(WebhookEndpoint).where(
                WebhookEndpoint.public_id == public_id, WebhookEndpoint.organization_id == org.id
            )
        )
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


def remove_endpoint(admin: User, endpoint: WebhookEndpoint) -> None:
    """Stop sending to an endpoint (its log goes with it). Audited."""
    _require_admin(admin, endpoint.organization)
    audit.record(
        "webhook.remove",
        actor_id=admin.id,
        organization_id=endpoint.organization_id,
        subject_type="webhook",
        subject_id=endpoint.public_id,
    )
    db.session.delete(endpoint)


def deliveries(endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def send_again(admin: User, endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery:
    """Queue a delivery again (the same id and body), whatever its state. Audited."""
    _require_admin(admin, endpoint.organization)
    delivery = db.session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.public_id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id
        )
    )
    if delivery is None:
        raise NotFound("No such delivery.")
    delivery.state = DeliveryState.PENDING
    audit.record(
        "webhook.resend",
        actor_id=admin.id,
        organization_id=endpoint.organization_id,
        subject_type="webhook_delivery",
        subject_id=delivery.public_id,
    )
    enqueue(deliver, delivery.public_id, organization_id=endpoint.organization_id)
    return delivery


# -- events from the audit trail -----------------------------------------------------------------
def _payload(event_type: str, org: Organization, row: AuditEvent) -> str:
    data: dict[str, Any] = {"organization": org.slug, "id": row.subject_id}
    for name in _PAYLOAD_FIELDS[event_type]:
        if name in (row.data or {}):
            data[name] = row.data[name]
    body = {"type": event_type, "timestamp": utcnow().isoformat(), "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


@event.listens_for(Session, "before_flush")
def _deliveries_for_new_events(session: Session, _context: object, _instances: object) -> None:
    rows = [
        obj
        for obj in session.new
        if isinstance(obj, AuditEvent)
        and obj.action in EVENTS_BY_ACTION
        and obj.organization_id is not None
    ]
    if not rows:
        return
    with session.no_autoflush:
        for row in rows:
            event_type = EVENTS_BY_ACTION[row.action]
            endpoints = [
                e
                for e in session.scalars(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.organization_id == row.organization_id,
                        WebhookEndpoint.is_active.is_(True),
                    )
                )
                if event_type in e.events
            ]
            for endpoint in endpoints:
                delivery = WebhookDelivery(
                    public_id="msg_" + new_public_id(),
                    endpoint_id=endpoint.id,
                    event=event_type,
                    body=_payload(event_type, endpoint.organization, row),
                )
                session.add(delivery)
                enqueue(deliver, delivery.public_id, organization_id=endpoint.organization_id)


# -- delivery ------------------------------------------------------------------------------------
class DeliveryFailed(Exception):
    """An attempt failed; the job system retries it later."""


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str]:
    """One attempt: the status code (None when nothing answered) and an error text."""
    cfg = current_app.config["PORTFOLIO"]
    host = urlsplit(endpoint.url).hostname or ""
    if not cfg.webhook_allow_private_targets and _is_private_target(host):
        return None, "refused: the address is in a private or local network"
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 - the scheme was checked to be http(s)
        endpoint.url,
        data=delivery.body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Portfolio-Webhooks/1",
            "webhook-id": delivery.public_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(
                endpoint.secret, delivery.public_id, timestamp, delivery.body
            ),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:500]


def attempt_delivery(delivery_id: str) -> str | None:
    """Send one delivery and log the attempt on it; a 2xx answer ends it. Returns what went
    wrong (None when delivered, or when there is nothing to send). Idempotent: a delivered one
    is not sent again (unless an admin asked for it again, which sets it back to pending)."""
    delivery = db.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.public_id == delivery_id)
    )
    if delivery is None or delivery.state == DeliveryState.DELIVERED:
        return None
    status, error = _post(delivery.endpoint, delivery)
    ok = status is not None and 200 <= status < 300
    delivery.attempts += 1
    delivery.log = [
        *delivery.log,
        {"at": utcnow().isoformat(), "status": status, "error": error},
    ]
    if ok:
        delivery.state = DeliveryState.DELIVERED
        delivery.delivered_at = utcnow()
        return None
    delivery.state = DeliveryState.FAILED
    return f"{delivery.endpoint.url}: {error or status}"


@job(retries=RETRIES, retry_delay=RETRY_DELAY)
def deliver(delivery_id: str) -> None:
    """The job that sends a delivery (`attempt_delivery`). A failed attempt is logged and
    committed, then raised so the job system retries with backoff."""
    failure = attempt_delivery(delivery_id)
    if failure is not None:
        # The job owns its transaction (as a view owns a request's), and the job system rolls
        # back a run that raises: commit first, so the log of this attempt survives the retry.
        commit()
        raise DeliveryFailed(failure)
