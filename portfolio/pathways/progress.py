"""A worker's progress towards pathways: which components they hold, which wait, which are
missing, for the worker's pages and the learner record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from flask import Flask
from sqlalchemy import select

from portfolio.accounts.models import Organization, Role, User
from portfolio.awards import documents
from portfolio.awards.models import Award
from portfolio.awards.ob.clr import PathwayLink
from portfolio.core.db import utcnow
from portfolio.credentials.models import Credential, CredentialState
from portfolio.extensions import db
from portfolio.pathways.models import (
    Pathway,
)
from portfolio.pathways.services import _counts, stack_award
from portfolio.submissions.models import Submission, SubmissionState


class ComponentStatus(StrEnum):
    EARNED = "earned"
    PENDING = "pending"
    LAPSED = "lapsed"
    UNTRUSTED = "untrusted"
    MISSING = "missing"


@dataclass
class ComponentProgress:
    credential: Credential
    organization: Organization
    status: ComponentStatus
    award: Award | None = None
    submission: Submission | None = None


@dataclass
class PathwayProgress:
    pathway: Pathway
    components: list[ComponentProgress]
    stack: Award | None

    @property
    def earned(self) -> int:
        return sum(1 for c in self.components if c.status == ComponentStatus.EARNED)

    @property
    def credits_earned(self) -> list[str]:
        """The credit of the components earned so far, per unit."""
        from portfolio.pathways.models import total_credits

        return total_credits(
            (c.award.credits_earned, c.credential.credits_unit)
            for c in self.components
            if c.status == ComponentStatus.EARNED and c.award is not None
        )


_PENDING_STATES = {
    SubmissionState.DRAFT,
    SubmissionState.SUBMITTED,
    SubmissionState.IN_REVIEW,
    SubmissionState.NEEDS_REVISION,
}


def pathway_progress(worker: User, pathway: Pathway) -> PathwayProgress:
    """Which components the worker has earned, has pending, has lost or still misses."""
    cred_ids = [c.credential_id for c in pathway.components]
    now = utcnow()
    awards: dict[int, list[Award]] = {}
    for a in db.session.scalars(
        select(Award)
        .where(Award.recipient_id == worker.id, Award.credential_id.in_(cred_ids))
        .order_by(Award.issued_at.desc())
    ):
        awards.setdefault(a.credential_id, []).append(a)
    subs: dict[int, Submission] = {}
    for s in db.session.scalars(
        select(Submission)
        .where(Submission.learner_id == worker.id, Submission.credential_id.in_(cred_ids))
        .order_by(Submission.attempt)
    ):
        subs[s.credential_id] = s
    items = []
    for component in pathway.components:
        cred = component.credential
        org = db.session.get(Organization, cred.organization_id)
        assert org is not None
        mine = awards.get(cred.id, [])
        valid = [a for a in mine if not a.is_revoked and not a.is_expired(now)]
        sub = subs.get(cred.id)
        if valid and not _counts(pathway, cred):
            status = ComponentStatus.UNTRUSTED
        elif valid:
            status = ComponentStatus.EARNED
        elif sub is not None and sub.state in _PENDING_STATES:
            status = ComponentStatus.PENDING
        elif mine:
            status = ComponentStatus.LAPSED
        else:
            status = ComponentStatus.MISSING
        items.append(
            ComponentProgress(cred, org, status, (valid or mine or [None])[0], sub)  # type: ignore[arg-type,list-item]
        )
    return PathwayProgress(pathway, items, stack_award(pathway, worker.id))


def my_pathways(worker: User) -> list[PathwayProgress]:
    """Progress on every pathway of the organizations where the user is a worker."""
    org_ids = [m.organization_id for m in worker.memberships if m.role == Role.LEARNER]
    if not org_ids:
        return []
    pathways = db.session.scalars(
        select(Pathway)
        .join(Credential, Credential.id == Pathway.credential_id)
        .where(Pathway.organization_id.in_(org_ids), Credential.state == CredentialState.PUBLISHED)
        .order_by(Pathway.id)
    )
    return [pathway_progress(worker, p) for p in pathways]


def learner_record_pathways(
    sender: Flask, *, awards: Sequence[Award], **_: object
) -> list[PathwayLink]:
    """For a learner record: each stacked award's pathway achievement and the achievements of
    its components (the CLR's `association`s)."""
    pathway_ids = {a.pathway_id for a in awards if a.pathway_id is not None}
    if not pathway_ids:
        return []
    links = []
    for pathway in db.session.scalars(select(Pathway).where(Pathway.id.in_(pathway_ids))):
        links.append(
            PathwayLink(
                parent=documents.badge_class_url(pathway.credential),
                children=tuple(documents.badge_class_url(c.credential) for c in pathway.components),
            )
        )
    return links
