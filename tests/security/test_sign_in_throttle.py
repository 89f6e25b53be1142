"""Sign-in does the same work on every path and its pause cannot lock the owner out
(issue 14, class 7)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask

from portfolio.accounts import sign_in
from tests.conftest import PASSWORD, Client

ATTACKER, OWNER = "192.0.2.66", "198.51.100.20"


@pytest.fixture
def hasher_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts every Argon2 `hash` and `verify` the app makes."""
    calls: Counter[str] = Counter()
    real_verify, real_hash = PasswordHasher.verify, PasswordHasher.hash

    def verify(self: PasswordHasher, *args: Any, **kwargs: Any) -> Any:
        calls["verify"] += 1
        return real_verify(self, *args, **kwargs)

    def hash_(self: PasswordHasher, *args: Any, **kwargs: Any) -> Any:
        calls["hash"] += 1
        return real_hash(self, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    monkeypatch.setattr(PasswordHasher, "hash", hash_)
    yield calls


def _sign_in(client: Client, email: str, password: str, remote: str = ATTACKER) -> Any:
    token = client.csrf_token("/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password},
        environ_base={"REMOTE_ADDR": remote},
    )


def _alert(resp: Any) -> list[str]:
    return re.findall(r'role="alert">([^<]*)<', resp.get_data(as_text=True))


def test_every_sign_in_path_checks_exactly_one_password_hash(
    client: Client, other_client: Client, make: Any, hasher_calls: Counter[str]
) -> None:
    make.user(email="wren@example.org")
    _sign_in(client, "warm-up@example.org", "whatever123")  # builds the dummy hash once
    answers = {}
    for case, email, password in [
        ("unknown address", "nobody@example.org", "whatever123"),
        ("wrong password", "wren@example.org", "not it at all"),
        ("right password", "wren@example.org", PASSWORD),
    ]:
        hasher_calls.clear()
        who = other_client if password == PASSWORD else client
        resp = _sign_in(who, email, password, remote=f"203.0.113.{len(answers)}")
        answers[case] = _alert(resp)
        assert hasher_calls == Counter(verify=1), case
    # Paused: the attacker's device after five wrong passwords, then even the right one.
    for _ in range(sign_in.MAX_FAILED_LOGINS):
        _sign_in(client, "wren@example.org", "not it at all")
    for case, email in [("paused account", "wren@example.org"), ("paused unknown", "no@x.org")]:
        if case == "paused unknown":
            for _ in range(sign_in.MAX_FAILED_LOGINS):
                _sign_in(client, email, "not it at all")
        hasher_calls.clear()
        resp = _sign_in(client, email, PASSWORD)
        answers[case] = _alert(resp)
        assert hasher_calls == Counter(verify=1), case
        assert resp.status_code == 200
    # Nothing in the answer tells an unknown address from a paused or wrong one.
    refused = {k: v for k, v in answers.items() if k != "right password"}
    assert len({tuple(v) for v in refused.values()}) == 1, refused
    assert "Wrong email or password." in refused["paused account"][0]


def test_a_pause_on_one_device_does_not_lock_the_owner_out(
    app: Flask, make: Any, client: Client, other_client: Client
) -> None:
    make.user(email="wren@example.org")
    for _ in range(sign_in.MAX_FAILED_LOGINS * 3):
        _sign_in(client, "wren@example.org", "not it at all", remote=ATTACKER)
    # The attacker's device is paused, right password or not ...
    assert _sign_in(client, "wren@example.org", PASSWORD, remote=ATTACKER).status_code == 200
    assert client.get("/dashboard").status_code == 302
    # ... the owner's device is not.
    assert _sign_in(other_client, "wren@example.org", PASSWORD, remote=OWNER).status_code == 302
    assert other_client.get("/dashboard").status_code == 200
    # The owner is told once, not once per wrong guess.
    paused_mails = [m for m in _outbox(app) if "paused" in m["subject"]]
    assert len(paused_mails) == 1 and paused_mails[0]["to"] == "wren@example.org"


def test_a_reset_link_always_gets_the_owner_back_in(app: Flask, make: Any, client: Client) -> None:
    make.user(email="wren@example.org")
    # The owner shares an address with the attacker (same office, same carrier NAT).
    for _ in range(sign_in.MAX_FAILED_LOGINS):
        _sign_in(client, "wren@example.org", "not it at all", remote=ATTACKER)
    assert _sign_in(client, "wren@example.org", PASSWORD, remote=ATTACKER).status_code == 200
    client.submit("/forgot-password", {"email": "wren@example.org"})
    body = _outbox(app)[-1]["body"]
    link = next(line for line in body.splitlines() if "/reset-password/" in line)
    path = link.split("localhost", 1)[1].strip()
    resp = client.submit(
        path, {"new_password": "a brand new secret", "confirm": "a brand new secret"}
    )
    assert resp.status_code == 302
    # Same address, right after the pause: the new password works at once.
    assert (
        _sign_in(client, "wren@example.org", "a brand new secret", remote=ATTACKER).status_code
        == 302
    )
    assert client.get("/dashboard").status_code == 200


def test_a_successful_sign_in_starts_the_count_again(
    make: Any, client: Client, other_client: Client
) -> None:
    make.user(email="wren@example.org")
    for _ in range(sign_in.MAX_FAILED_LOGINS - 1):
        _sign_in(client, "wren@example.org", "not it at all")
    assert _sign_in(client, "wren@example.org", PASSWORD).status_code == 302
    # Another browser on the same address: four more wrong guesses do not pause it.
    for _ in range(sign_in.MAX_FAILED_LOGINS - 1):
        _sign_in(other_client, "wren@example.org", "not it at all")
    assert _sign_in(other_client, "wren@example.org", PASSWORD).status_code == 302


def _outbox(app: Flask) -> list[dict[str, str]]:
    return app.extensions.setdefault("portfolio.outbox", [])  # type: ignore[no-any-return]
