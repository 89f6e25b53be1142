"""Read-only lookups behind the public pages and hosted documents: what an outsider may see,
by public id, loaded in as few queries as each page needs. Nothing here writes.

The documents themselves (assertions, credentials, revocation lists) and the verification of
a presented badge are built by the awards domain (`portfolio.awards.documents`,
`portfolio.awards.revocation`, `portfolio.awards.verification`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portfolio.accounts.models import Organization
from portfolio.awards import issuance
from portfolio.awards.models import Award
from portfolio.core.errors import NotFound
from portfolio.core.ids import is_public_id
from portfolio.credentials.models import Credential, CredentialAlignment, CredentialState
from portfolio.extensions import db
from portfolio.frameworks.models import Competency, RubricElement, RubricVersion
from portfolio.submissions.models import Review, Submission


def get_issuer(oid: str) -> Organization:
    """An issuing organization by public id, or `NotFound`."""
    org = (
        db.session.scalar(select(Organization).where(Organization.public_id == oid))
        if is_public_id(oid)
        else None
    )
    if org is None:
        raise NotFound("No such issuer.")
    return org


def get_visible_credential(cid: str) -> Credential:
    """A credential anyone may see: published, or with awards out in the world."""
    cred = (
        db.session.scalar(select(Credential).where(Credential.public_id == cid))
        if is_public_id(cid)
        else None
    )
    if cred is None or (
        cred.state != CredentialState.PUBLISHED and not issuance.credential_has_awards(cred)
    ):
        raise NotFound("No such credential.")
    return cred


def credential_organization(cred: Credential) -> Organization:
    """The organization that issues `cred`."""
    org = db.session.get(Organization, cred.organization_id)
    if org is None:
        raise NotFound("No such issuer.")
    return org


def get_published_rubric_version(vid: str) -> RubricVersion:
    """A published rubric version (the elements and levels badges cite), or `NotFound`."""
    version = (
        db.session.scalar(select(RubricVersion).where(RubricVersion.public_id == vid))
        if is_public_id(vid)
        else None
    )
    if version is None or version.published_at is None:
        raise NotFound("No such rubric.")
    return version


def get_award_for_page(aid: str) -> Award:
    """The award with everything its public page shows, loaded in a handful of queries rather
    than one lazy load per element, level, score and alignment."""
    if not is_public_id(aid):
        raise NotFound("No such badge.")
    version = selectinload(Award.submission).selectinload(Submission.rubric_version)
    award = db.session.scalar(
        select(Award)
        .where(Award.public_id == aid)
        .options(
            version.selectinload(RubricVersion.elements).selectinload(RubricElement.cells),
            version.selectinload(RubricVersion.levels),
            selectinload(Award.review).selectinload(Review.scores),
            selectinload(Award.evidence),
            selectinload(Award.credential)
            .selectinload(Credential.alignments)
            .selectinload(CredentialAlignment.competency)
            .selectinload(Competency.framework),
        )
    )
    if award is None:
        raise NotFound("No such badge.")
    return award


def stored_columns(aid: str, *columns: Any) -> Any:
    """Stored columns of one award by public id (with `revoked_at` first): one indexed lookup
    of exactly what a hosted document needs, without loading the award's organization,
    credential and recipient as objects (which cost more than the lookup itself)."""
    if not is_public_id(aid):
        raise NotFound("No such badge.")
    row = db.session.execute(
        select(Award.revoked_at, *columns)
        .join(Credential, Credential.id == Award.credential_id)
        .where(Award.public_id == aid)
    ).one_or_none()
    if row is None:
        raise NotFound("No such badge.")
    return row
