"""Issue 14, class 8: an organization never loses its last admin.

What is sent: two admins who remove each other's admin role at the same moment (threads that
start together, each with its own connection: PostgreSQL row locks, SQLite's write lock), and
an admin who deletes their own account while the only admin. The database keeps one admin.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from portfolio.accounts import organizations
from portfolio.accounts.models import Membership, Organization, Role, User
from portfolio.core.errors import Conflict, DomainError, Forbidden
from portfolio.extensions import db
from tests.conftest import Client


def admins(org_id: int) -> int:
    db.session.expire_all()
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.organization_id == org_id, Membership.role == Role.ADMIN)
        )
        or 0
    )


def test_two_admins_removing_each_other_at_once_leave_one(app: Flask, make: Any) -> None:
    org = make.org("Acme")
    a = make.user((org, Role.ADMIN), email="ada@example.org")
    b = make.user((org, Role.ADMIN), email="bob@example.org")
    pairs = [(a.id, b.id), (b.id, a.id)]
    org_id = org.id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def remove(actor_id: int, target_id: int) -> None:
        with app.test_request_context():
            try:
                actor = db.session.get(User, actor_id)
                o = db.session.get(Organization, org_id)
                assert actor is not None and o is not None
                membership = db.session.scalar(
                    select(Membership).where(
                        Membership.user_id == target_id,
                        Membership.organization_id == org_id,
                        Membership.role == Role.ADMIN,
                    )
                )
                assert membership is not None
                barrier.wait(60)
                organizations.remove_membership(actor, o, membership)
                db.session.commit()
                outcomes.append("removed")
            except (Conflict, Forbidden) as exc:
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=remove, args=p) for p in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(outcomes) in (["Conflict", "removed"], ["Forbidden", "removed"]), outcomes
    assert admins(org_id) == 1


def test_last_admin_cannot_remove_themselves_through_the_page(client: Client, make: Any) -> None:
    org = make.org("Acme")
    ada = make.user((org, Role.ADMIN), email="ada@example.org")
    client.login("ada@example.org")
    [membership] = ada.memberships
    resp = client.submit(
        f"/o/{org.slug}/members/{membership.id}/remove", {}, page=f"/o/{org.slug}/members"
    )
    assert resp.status_code == 302
    page = client.get(resp.location).get_data(as_text=True)
    assert "An organization needs at least one admin." in page
    assert admins(org.id) == 1


def test_the_last_admin_cannot_delete_their_account(app: Flask, make: Any) -> None:
    from portfolio.accounts import account_settings
    from tests.conftest import PASSWORD

    org = make.org("Acme")
    ada = make.user((org, Role.ADMIN), email="ada@example.org")
    try:
        account_settings.delete_account(ada, PASSWORD)
        raise AssertionError("the last admin's account was deleted")
    except DomainError as exc:
        assert "only admin of Acme" in exc.message
    db.session.rollback()
    assert admins(org.id) == 1
    # With a second admin the account can go.
    make.user((org, Role.ADMIN), email="bob@example.org")
    account_settings.delete_account(db.session.get(User, ada.id), PASSWORD)  # type: ignore[arg-type]
    assert admins(org.id) == 1
