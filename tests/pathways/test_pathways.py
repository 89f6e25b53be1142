"""Stacked credentials: issued exactly when the rule is met (all-of, N-of, window), exactly once,
with evidence pointing at the component badges; lapsed components mark the stack and tell the
admins; cross-organization components count only from trusted issuers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portfolio.accounts.models import Role
from portfolio.awards import revocation, verification
from portfolio.awards.models import Award
from portfolio.core.audit import AuditEvent
from portfolio.core.errors import DomainError
from portfolio.core.urls import public_url
from portfolio.extensions import db
from portfolio.pathways import lapses
from portfolio.pathways import services as pathways
from portfolio.pathways.progress import pathway_progress
from portfolio.pathways.services import Held, PathwayAwardComponent, satisfying_set
from portfolio.submissions.models import Notification
from tests.conftest import Client
from tests.pathways.conftest import T0, Stack
from tests.submissions.conftest import build_credential, build_version


def stacks_of(stack: Stack, pathway: pathways.Pathway) -> list[Award]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Award).where(
                Award.pathway_id == pathway.id, Award.recipient_id == stack.worker.id
            )
        )
    )


def test_rule_in_isolation() -> None:
    def held(cred: int, day: int) -> Held:
        return Held(cred, cred * 100 + day, T0 + timedelta(days=day))

    assert satisfying_set([held(1, 0), held(2, 5)], needed=3, window_days=None) is None
    chosen = satisfying_set([held(1, 0), held(2, 5), held(3, 9)], needed=2, window_days=None)
    assert chosen is not None and [h.credential_id for h in chosen] == [2, 3]
    # Window: 0 and 40 are too far apart; 40 and 55 fit in 30 days.
    assert satisfying_set([held(1, 0), held(2, 40)], needed=2, window_days=30) is None
    chosen = satisfying_set([held(1, 0), held(2, 40), held(3, 55)], needed=2, window_days=30)
    assert chosen is not None and [h.credential_id for h in chosen] == [2, 3]
    # Two badges of the same credential count once.
    assert satisfying_set([held(1, 0), held(1, 1)], needed=2, window_days=None) is None


def test_all_of_is_issued_with_the_last_component_not_before(stack: Stack) -> None:
    pathway = stack.pathway()
    first = stack.grant(stack.creds[0], day=0)
    stack.grant(stack.creds[1], day=3)
    assert stacks_of(stack, pathway) == []
    last = stack.grant(stack.creds[2], day=7)
    [stacked] = stacks_of(stack, pathway)
    assert stacked.submission_id is None and stacked.credential_id == pathway.credential_id
    assert stacked.issued_at == T0 + timedelta(days=7)
    components = lapses.stack_components(stacked)
    assert {c.component_award_id for c in components} == {
        first.id,
        last.id,
        *[c.component_award_id for c in components],
    }
    assert len(components) == 3
    # Evidence entries of both documents point at the component badges.
    ob2 = json.loads(stacked.ob2_assertion)
    urls = {e["id"] for e in ob2["evidence"]}
    assert public_url("verify.badge", aid=first.public_id) in urls and len(urls) == 3
    ob3 = json.loads(stacked.ob3_credential)
    assert {e["id"] for e in ob3["evidence"]} == urls
    assert verification.verify_award(stacked).valid
    # The worker was told; the issuance is audited.
    assert db.session.scalar(
        select(func.count()).where(
            AuditEvent.action == "award.issue", AuditEvent.subject_id == stacked.public_id
        )
    )
    assert db.session.scalar(
        select(Notification).where(
            Notification.user_id == stack.worker.id, Notification.message.contains("pathway")
        )
    )


def test_exactly_once(stack: Stack) -> None:
    pathway = stack.pathway(rule="n_of", required_count=2)
    a = stack.grant(stack.creds[0])
    b = stack.grant(stack.creds[1], day=1)
    stack.grant(stack.creds[2], day=2)  # a third component issues nothing more
    assert len(stacks_of(stack, pathway)) == 1
    assert pathways.check_pathways(b) == []
    # The database refuses a second stack even if the service were bypassed.
    pathway = db.session.get(pathways.Pathway, pathway.id)
    assert pathway is not None
    with pytest.raises(IntegrityError), db.session.begin_nested():
        again = pathways.issue_stack(pathway, stack.worker, [a, b])
        assert again is None  # the service itself answers "already there"
        db.session.add(
            Award(
                organization_id=stack.org.id,
                credential_id=pathway.credential_id,
                recipient_id=stack.worker.id,
                pathway_id=pathway.id,
                recipient_salt="x",
                ob2_assertion="{}",
                ob3_credential="{}",
                ob2_sha256="0",
                ob3_sha256="0",
            )
        )
        db.session.flush()


def test_n_of(stack: Stack) -> None:
    pathway = stack.pathway(rule="n_of", required_count=2)
    stack.grant(stack.creds[2], day=0)
    assert stacks_of(stack, pathway) == []
    stack.grant(stack.creds[0], day=1)
    assert len(stacks_of(stack, pathway)) == 1


def test_window(stack: Stack) -> None:
    pathway = stack.pathway(rule="n_of", required_count=2, window_days=30)
    stack.grant(stack.creds[0], day=0)
    stack.grant(stack.creds[1], day=40)
    assert stacks_of(stack, pathway) == [], "40 days apart is outside a 30-day window"
    c = stack.grant(stack.creds[2], day=55)
    [stacked] = stacks_of(stack, pathway)
    used = {link.component_award_id for link in lapses.stack_components(stacked)}
    assert c.id in used and len(used) == 2


def test_revoked_component_does_not_count(stack: Stack) -> None:
    pathway = stack.pathway(stack.creds[:2])
    a = stack.grant(stack.creds[0])
    revocation.revoke_award(stack.admin, a, "Evidence was not the worker's own.")
    db.session.commit()
    stack.grant(stack.creds[1], day=1)
    assert stacks_of(stack, pathway) == []


def test_expired_component_does_not_count(stack: Stack) -> None:
    stack.creds[0].expiry_months = 1
    db.session.commit()
    pathway = stack.pathway(stack.creds[:2])
    stack.grant(stack.creds[0], day=0)
    stack.grant(stack.creds[1], day=45)
    assert stacks_of(stack, pathway) == []


def test_revoking_a_component_marks_the_stack_and_tells_the_admin(stack: Stack) -> None:
    pathway = stack.pathway(stack.creds[:2])
    a = stack.grant(stack.creds[0])
    stack.grant(stack.creds[1], day=1)
    [stacked] = stacks_of(stack, pathway)
    revocation.revoke_award(stack.admin, a, "Copied evidence.")
    db.session.commit()
    [link] = lapses.affected_stacks(stack.admin, stack.org)
    assert link.award_id == stacked.id and link.component_award_id == a.id
    assert "Copied evidence." in (link.affected_reason or "")
    # The stack itself stays valid until an admin decides.
    assert stacks_of(stack, pathway)[0].status() == "valid"
    note = db.session.scalar(select(Notification).where(Notification.user_id == stack.admin.id))
    assert note is not None and "affected" in note.message
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "pathway.affected", AuditEvent.subject_id == stacked.public_id
        )
    )


def test_expiring_a_component_marks_the_stack(stack: Stack) -> None:
    stack.creds[1].expiry_months = 1
    db.session.commit()
    pathway = stack.pathway(stack.creds[:2])
    stack.grant(stack.creds[0], day=0)
    stack.grant(stack.creds[1], day=1)
    assert len(stacks_of(stack, pathway)) == 1
    assert lapses.mark_expired_components(T0 + timedelta(days=10)) == 0
    assert lapses.mark_expired_components(T0 + timedelta(days=40)) == 1
    assert lapses.mark_expired_components(T0 + timedelta(days=41)) == 0  # once
    [link] = db.session.scalars(
        select(PathwayAwardComponent).where(PathwayAwardComponent.affected_at.is_not(None))
    )
    assert (link.affected_reason or "").startswith("expired")


def test_cross_organization_components_need_a_trusted_issuer(stack: Stack, make) -> None:  # type: ignore[no-untyped-def]
    other = make.org("Pipe Guild", slug="guild")
    other_admin = make.user((other, Role.ADMIN))
    make.user((other, Role.ASSESSOR))
    foreign = build_credential(other, build_version(other, other_admin), name="Guild Safety")
    db.session.commit()
    with pytest.raises(DomainError, match="trusted issuers"):
        stack.pathway([stack.creds[0], foreign])
    db.session.rollback()
    pathway = stack.pathway(
        [stack.creds[0], foreign], trusted_issuers=[pathways.issuer_url(other) + "/"]
    )
    stack.grant(stack.creds[0])
    stack.grant(foreign, day=2)
    [stacked] = stacks_of(stack, pathway)
    assert stacked.organization_id == stack.org.id
    # Trust withdrawn: the foreign badge no longer counts for other workers.
    pathway = db.session.get(pathways.Pathway, pathway.id)
    assert pathway is not None
    pathway.trusted_issuers.clear()
    db.session.commit()
    second = make.user((stack.org, Role.LEARNER))
    stack.grant(stack.creds[0], worker=second, day=3)
    stack.grant(foreign, worker=second, day=4)
    assert pathways.stack_award(pathway, second.id) is None
    progress = pathway_progress(second, pathway)
    assert [c.status for c in progress.components] == ["earned", "untrusted"]


def test_stack_of_stacks(stack: Stack) -> None:
    inner = stack.pathway(stack.creds[:2], name="Plate Certificate")
    outer = stack.pathway([inner.credential, stack.creds[2]], name="Master Welder")
    stack.grant(stack.creds[2], day=0)
    stack.grant(stack.creds[0], day=1)
    stack.grant(stack.creds[1], day=2)
    assert len(stacks_of(stack, inner)) == 1
    assert len(stacks_of(stack, outer)) == 1


# -- pages ---------------------------------------------------------------------------------------


def test_worker_sees_progress_with_links(stack: Stack, client: Client) -> None:
    stack.pathway(rule="n_of", required_count=3)
    stack.grant(stack.creds[0])
    from portfolio.submissions.models import Submission

    pending = Submission(
        learner_id=stack.worker.id,
        organization_id=stack.org.id,
        credential_id=stack.creds[1].id,
        rubric_version_id=stack.creds[1].rubric_version_id,
    )
    db.session.add(pending)
    db.session.commit()
    client.login("wren@example.org")
    html = client.get("/pathways").get_data(as_text=True)
    assert "Welding Certificate" in html and "1 of 3" in html
    assert "earned" in html and "pending" in html and "missing" in html
    assert f"/o/acme/catalogue/{stack.creds[2].public_id}" in html  # start the missing one
    assert f"/submissions/{pending.public_id}" in html


def test_admin_creates_a_pathway_through_the_form(stack: Stack, client: Client) -> None:
    client.login("admin@example.org")
    page = client.get("/o/acme/pathways/new").get_data(as_text=True)
    assert "Fillet Welding" in page
    resp = client.submit(
        "/o/acme/pathways/new",
        {"name": "Certificate", "component": [stack.creds[0].public_id], "rule": "all"},
    )
    assert resp.status_code == 400 and "at least two" in resp.get_data(as_text=True)
    resp = client.submit(
        "/o/acme/pathways/new",
        {
            "name": "Certificate",
            "component": [c.public_id for c in stack.creds],
            "rule": "n_of",
            "required_count": "2",
            "window_days": "90",
        },
    )
    assert resp.status_code == 302
    html = client.get("/o/acme/pathways").get_data(as_text=True)
    assert "Hold any 2 of 3 component badges, earned within 90 days of each other." in html


def test_stack_badge_page_lists_components(stack: Stack, client: Client) -> None:
    pathway = stack.pathway(stack.creds[:2])
    a = stack.grant(stack.creds[0])
    stack.grant(stack.creds[1], day=1)
    [stacked] = stacks_of(stack, pathway)
    html = client.get(f"/badges/{stacked.public_id}").get_data(as_text=True)
    assert "Earned through a pathway" in html and f"/badges/{a.public_id}" in html
    revocation.revoke_award(stack.admin, a, "Copied evidence.")
    db.session.commit()
    client.login("admin@example.org")
    html = client.get("/o/acme/pathways").get_data(as_text=True)
    assert "affected" in html and "Copied evidence." in html


def test_access(stack: Stack, client: Client) -> None:
    assert client.get("/pathways").status_code == 302
    assert client.get("/o/acme/pathways").status_code == 302
    client.login("wren@example.org")
    assert client.get("/o/acme/pathways").status_code == 403
    assert client.get("/o/acme/pathways/new").status_code == 403


def test_the_completion_check_runs_after_commit_and_not_after_a_rollback(stack: Stack) -> None:
    pathway = stack.pathway(stack.creds[:2])
    stack.grant(stack.creds[0], day=0)
    # The last component is issued, then its transaction rolls back: no check, no stack.
    stack.grant(stack.creds[1], day=1, commit=False)
    db.session.commit()
    assert stacks_of(stack, pathway) == []
    # Issued for real: the check job runs once the award is committed.
    stack.grant(stack.creds[1], day=2)
    assert len(stacks_of(stack, pathway)) == 1


def test_expired_components_are_marked_by_the_hourly_job_not_by_opening_the_page(
    stack: Stack, client: Client
) -> None:
    from portfolio.core.jobs import get_queue

    stack.creds[1].expiry_months = 1
    db.session.commit()
    stack.pathway(stack.creds[:2])
    stack.grant(stack.creds[0], day=0)
    stack.grant(stack.creds[1], day=1)
    stack.clock.at(40)
    client.login("admin@example.org")
    page = client.get(f"/o/{stack.org.slug}/pathways").get_data(as_text=True)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(PathwayAwardComponent)
            .where(PathwayAwardComponent.affected_at.is_not(None))
        )
        == 0
    ), page[:200]
    huey = get_queue().huey
    huey.execute(get_queue().tasks["portfolio.pathways.jobs.sweep_expired_components"].s())
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(PathwayAwardComponent)
            .where(PathwayAwardComponent.affected_at.is_not(None))
        )
        == 1
    )
    assert "expired" in client.get(f"/o/{stack.org.slug}/pathways").get_data(as_text=True)
