"""A shared world for the security suite: two organizations, seven roles and one object of
every kind, each built once per test through the pages or the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portfolio.accounts import organizations
from portfolio.accounts.models import Membership, Organization, Role, User
from portfolio.accounts.sign_in import find_user_by_email
from portfolio.awards.models import Award, BulkAwardBatch
from portfolio.core.audit import AuditEvent
from portfolio.core.db import utcnow
from portfolio.credentials.models import Credential
from portfolio.evidence import services as evidence_services
from portfolio.evidence import uploads as evidence_uploads
from portfolio.evidence.models import EvidenceItem
from portfolio.extensions import db
from portfolio.frameworks.models import Competency, Framework, RubricVersion
from portfolio.frameworks.services import competencies as competency_services
from portfolio.frameworks.services import frameworks as framework_services
from portfolio.submissions.models import Submission, SubmissionEvidence
from tests.awards.conftest import award_of, pass_submission
from tests.conftest import Client
from tests.submissions.conftest import (  # noqa: F401 - the scenario fixture is reused here
    Scenario,
    attach_all,
    build_credential,
    scenario,
    start,
    submit,
)

#: The roles every endpoint is requested as. "worker" owns the evidence, submissions and badge;
#: "peer" is another worker of the same organization; "*_b" belong to another organization.
ROLES = (
    "anonymous",
    "worker",
    "peer",
    "assessor",
    "assessor_b",
    "admin",
    "admin_b",
    "moderator",
    "verifier",
)
EMAILS = {
    "worker": "wren@example.org",
    "peer": "peer@example.org",
    "assessor": "sam@example.org",
    "assessor_b": "bea@example.org",
    "admin": "admin@example.org",
    "admin_b": "bob@example.org",
    "moderator": "mo@example.org",
    "verifier": "vera@example.org",
}


@dataclass
class World:
    app: Flask
    s: Scenario
    org_b: Organization
    award: Award
    cred2: Credential
    sub_pid: str  #: the worker's submitted submission (in the queue)
    clients: dict[str, Client]
    ids: dict[str, Any] = field(default_factory=dict)

    def client(self, role: str) -> Client:
        return self.clients[role]


def new_client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def sign_in(client: Client, email: str) -> None:
    """Put a signed-in session into the client's cookie, as the sign-in form does, without
    spending a password hash per role (the sign-in form has its own tests)."""
    user = find_user_by_email(email)
    assert user is not None
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def _quiet_user(email: str, org: Organization, role: Role) -> User:
    """A member with a password nobody can type: no password hashing needed."""
    user = User(
        email=email,
        display_name=email.split("@")[0],
        password_hash="!",
        email_confirmed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    organizations.add_membership(user, org, role)
    return user


@pytest.fixture
def world(app: Flask, make: Any, scenario: Scenario) -> World:
    s = scenario
    org_b = make.org("Other Issuer")
    _quiet_user(EMAILS["peer"], s.org, Role.LEARNER)
    _quiet_user(EMAILS["assessor_b"], org_b, Role.ASSESSOR)
    _quiet_user(EMAILS["admin_b"], org_b, Role.ADMIN)
    _quiet_user(EMAILS["moderator"], s.org, Role.MODERATOR)
    _quiet_user(EMAILS["verifier"], s.org, Role.INTERNAL_VERIFIER)
    db.session.commit()

    clients = {role: new_client(app) for role in ROLES}
    for role, email in EMAILS.items():
        sign_in(clients[role], email)

    # A badge earned through the pages, and a second attempt waiting in the queue.
    award = award_of(pass_submission(clients["worker"], clients["assessor"], s))
    cred2 = build_credential(s.org, s.version, name="Pipe Welding")
    db.session.commit()
    s2 = Scenario(s.org, s.admin, s.assessor, s.assessor2, s.worker, cred2, s.version, s.items)
    sub_pid = start(clients["worker"], s2)
    attach_all(clients["worker"], s2, sub_pid)
    submit(clients["worker"], sub_pid)
    # The assessor's claim from passing the first one is over; release nothing else.

    framework = framework_services.create_framework(s.admin, s.org, title="Welding competencies")
    comp = competency_services.add_competency(
        s.admin, framework, statement="Prepare a joint", code="W1"
    )
    doomed_comp = competency_services.add_competency(
        s.admin, framework, statement="To delete", code="W9"
    )
    doomed_fw = framework_services.create_framework(s.admin, s.org, title="Framework to delete")
    spare = evidence_services.create_reflection(s.worker, title="Spare note", body="delete me")
    db.session.commit()
    with app.test_request_context():
        pending, _ = evidence_uploads.start_direct_upload(s.worker, filename="a.pdf", size=100)
        cancelled, _ = evidence_uploads.start_direct_upload(s.worker, filename="b.pdf", size=100)
    bystander = _quiet_user("bystander@example.org", s.org, Role.LEARNER)
    db.session.commit()

    sub = db.session.scalar(select(Submission).where(Submission.public_id == sub_pid))
    assert sub is not None
    version = db.session.get(RubricVersion, s.version.id)
    assert version is not None
    w = World(app, s, org_b, award, cred2, sub_pid, clients)
    w.ids = {
        "slug": s.org.slug,
        "slug_b": org_b.slug,
        "oid": s.org.public_id,
        "fid": framework.public_id,
        "comp": comp.public_id,
        "doomed_fid": doomed_fw.public_id,
        "doomed_comp": doomed_comp.public_id,
        "rid": version.rubric.public_id,
        "vid": version.public_id,
        "cred": s.credential.public_id,
        "cred2": cred2.public_id,
        "sub": sub_pid,
        "link": sub.evidence_links[0].public_id,
        "aid": award.public_id,
        "eid": award.evidence[0].public_id,
        "item": s.items["photo"].public_id,
        "spare": spare.public_id,
        "pending": pending.public_id,
        "cancelled": cancelled.public_id,
        "membership": next(m.id for m in bystander.memberships),
    }
    return w


#: Tables whose row counts a refused request must leave unchanged.
COUNTED = (
    User,
    Membership,
    Framework,
    Competency,
    RubricVersion,
    Credential,
    EvidenceItem,
    Submission,
    SubmissionEvidence,
    Award,
    BulkAwardBatch,
    AuditEvent,
)


def row_counts() -> tuple[int, ...]:
    """Row counts of the tables above, in one query."""
    query = select(*(select(func.count()).select_from(m).scalar_subquery() for m in COUNTED))
    row = db.session.execute(query).one()
    db.session.rollback()
    return tuple(row)


def make_bulk_batch(w: World) -> str:
    """A bulk award of organization A's credential to one outside address (issued at once by
    the immediate job on commit); its batch's public id."""
    from portfolio.awards import bulk, bulk_upload

    records = bulk_upload.check_records(
        [{"line": 2, "email": "prior@outside.example", "name": "Pat Prior", "source_id": "P-1"}]
    )
    cred = db.session.get(Credential, w.s.credential.id)
    admin = db.session.get(User, w.s.admin.id)
    org = db.session.get(Organization, w.s.org.id)
    assert cred is not None and admin is not None and org is not None
    batch = bulk.start_bulk_award(admin, org, cred, records, "recognition of prior learning")
    public_id = batch.public_id
    db.session.commit()
    return public_id
