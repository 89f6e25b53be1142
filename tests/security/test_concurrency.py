"""Parallel revocation of one award: exactly one revocation is recorded. (Parallel claims,
double-submitted reviews and parallel issuance are tested in tests/submissions and
tests/awards.)"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from portfolio.accounts.models import User
from portfolio.awards import issuance, revocation
from portfolio.awards.models import Award
from portfolio.core.audit import AuditEvent
from portfolio.extensions import db
from tests.awards.conftest import earned  # noqa: F401 - fixture
from tests.submissions.conftest import scenario  # noqa: F401 - fixture
from tests.submissions.test_queue_and_access import _race


def test_parallel_revocations_record_exactly_one(app: Flask, earned: Any) -> None:
    s, award = earned
    admin_id, aid = s.admin.id, award.public_id

    def revoke(i: int) -> None:
        with app.test_request_context():
            admin = db.session.get(User, admin_id)
            assert admin is not None
            revocation.revoke_award(admin, issuance.get_award(aid), f"reason {i}")

    results = _race(app, 6, revoke)
    assert sorted(results) == ["conflict"] * 5 + ["won"]
    db.session.expire_all()
    award = db.session.scalar(select(Award).where(Award.public_id == aid))
    assert award is not None and award.revoked_at is not None
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "award.revoke"))
    [event] = list(events)
    assert event.data["reason"] == award.revocation_reason
