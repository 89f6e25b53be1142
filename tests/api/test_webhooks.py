"""Webhooks to a real local HTTP receiver that checks the Standard Webhooks signature.

Jobs run in the tests' immediate mode: the first attempt runs when the action commits; the
worker's later retries are made explicit by running the same job again (the retry policy itself,
about a day of exponential backoff, is checked on the registered job)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from portfolio.api import webhooks
from portfolio.core.jobs import registered_jobs
from portfolio.extensions import db
from tests.api.conftest import call, make_token
from tests.conftest import Client, free_port
from tests.security.conftest import World, sign_in


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"webhook_allow_private_targets": True}


class Receiver:
    """An HTTP server that accepts only correctly signed, fresh posts and records them."""

    def __init__(self, secret: str, port: int) -> None:
        self.key = base64.b64decode(secret.removeprefix("whsec_"))
        self.port = port
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                msg_id = self.headers["webhook-id"]
                stamp = self.headers["webhook-timestamp"]
                expected = base64.b64encode(
                    hmac.new(
                        receiver.key, f"{msg_id}.{stamp}.{body}".encode(), hashlib.sha256
                    ).digest()
                ).decode()
                given = [v.split(",", 1)[1] for v in self.headers["webhook-signature"].split()]
                if not any(hmac.compare_digest(expected, g) for g in given):
                    receiver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.received.append({"id": msg_id, "body": json.loads(body)})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server: HTTPServer | None = None
        self._handler = Handler

    def start(self) -> None:
        self.server = HTTPServer(("127.0.0.1", self.port), self._handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def test_retry_policy_covers_about_a_day() -> None:
    spec = registered_jobs()["portfolio.api.webhooks.deliver"]
    total = sum(spec.retry_delay * 2**i for i in range(spec.retries))
    assert 20 * 3600 <= total <= 30 * 3600


def test_revocation_is_delivered_once_after_the_receiver_was_down_twice(
    world: World, client: Client
) -> None:
    w = world
    port = free_port()
    endpoint = webhooks.add_endpoint(
        w.s.admin, w.s.org, f"http://127.0.0.1:{port}/hooks", ["award.revoked"]
    )
    db.session.commit()
    receiver = Receiver(endpoint.secret, port)
    # Receiver down: the revocation's first attempt (run on commit) finds nobody listening.
    raw = make_token(w.s.admin)
    resp = call(
        client,
        "POST",
        f"/api/v1/organizations/{w.ids['slug']}/awards/{w.ids['aid']}/revoke",
        raw,
        json={"reason": "Issued in error"},
    )
    assert resp.status_code == 200
    delivery = db.session.scalar(select(webhooks.WebhookDelivery))
    assert delivery is not None and delivery.event == "award.revoked"
    db.session.refresh(delivery)
    assert delivery.attempts == 1 and delivery.state == "failed"
    # The worker's first retry: still down.
    with pytest.raises(webhooks.DeliveryFailed):
        webhooks.deliver(delivery.public_id)
    db.session.rollback()
    receiver.start()
    try:
        webhooks.deliver(delivery.public_id)  # second retry: up, delivered
        db.session.commit()
        webhooks.deliver(delivery.public_id)  # a duplicate run sends nothing
        db.session.commit()
    finally:
        receiver.stop()
    assert receiver.bad_signatures == 0
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got["id"] == delivery.public_id
    assert got["body"]["type"] == "award.revoked"
    assert got["body"]["data"] == {
        "organization": w.s.org.slug,
        "id": w.ids["aid"],
        "reason": "Issued in error",
    }
    db.session.refresh(delivery)
    assert delivery.state == "delivered" and delivery.attempts == 3
    assert [a["status"] for a in delivery.log] == [None, None, 204]
    # The log is on the webhook's page, with a "send again" button.
    client.login("admin@example.org")
    page = client.get(f"/o/{w.ids['slug']}/webhooks/{endpoint.public_id}").get_data(as_text=True)
    assert page.count("no answer") == 2 and "HTTP 204" in page and "Send again" in page


def test_send_again_repeats_the_same_signed_message(world: World, client: Client) -> None:
    w = world
    port = free_port()
    endpoint = webhooks.add_endpoint(
        w.s.admin, w.s.org, f"http://127.0.0.1:{port}/hooks", list(webhooks.EVENT_TYPES)
    )
    db.session.commit()
    receiver = Receiver(endpoint.secret, port)
    receiver.start()
    try:
        raw = make_token(w.s.admin)
        call(
            client,
            "POST",
            f"/api/v1/organizations/{w.ids['slug']}/awards/{w.ids['aid']}/revoke",
            raw,
            json={"reason": "Wrong person"},
        )
        assert [r["body"]["type"] for r in receiver.received] == ["award.revoked"]
        delivery = db.session.scalar(select(webhooks.WebhookDelivery))
        client.login("admin@example.org")
        page = f"/o/{w.ids['slug']}/webhooks/{endpoint.public_id}"
        client.submit(f"{page}/deliveries/{delivery.public_id}/send", {}, page=page)
    finally:
        receiver.stop()
    assert [r["id"] for r in receiver.received] == [delivery.public_id] * 2


def test_a_rolled_back_action_sends_nothing_and_other_orgs_see_no_webhook(
    world: World, client: Client, other_client: Client
) -> None:
    w = world
    endpoint = webhooks.add_endpoint(w.s.admin, w.s.org, "http://127.0.0.1:9/x", ["award.revoked"])
    db.session.commit()
    raw = make_token(w.s.admin)
    resp = call(
        client,
        "POST",
        f"/api/v1/organizations/{w.ids['slug']}/awards/{w.ids['aid']}/revoke",
        raw,
        json={"reason": " "},
    )
    assert resp.status_code == 400  # no reason: refused by the service, rolled back
    assert db.session.scalar(select(webhooks.WebhookDelivery)) is None
    sign_in(other_client, "bob@example.org")  # admin of the other organization
    assert other_client.get(f"/o/{w.ids['slug']}/webhooks/{endpoint.public_id}").status_code == 404
    assert other_client.get(f"/o/{w.ids['slug']}/webhooks").status_code == 404
