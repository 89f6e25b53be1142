"""Credentials of an organization: read, create, change, publish and archive."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portfolio.accounts.models import Organization, Role
from portfolio.api import schemas as s
from portfolio.api.blueprint import (
    actor,
    admin,
    bp,
    commit_use,
    need,
    organization,
)
from portfolio.core.errors import DomainError
from portfolio.core.security import public
from portfolio.extensions import db


def _credential_input(org: Organization, data: dict[str, Any]) -> Any:
    from portfolio.credentials.services import CredentialInput
    from portfolio.frameworks.models import Rubric, RubricVersion

    version_id = None
    if data.get("rubric_version"):
        version_id = db.session.scalar(
            select(RubricVersion.id)
            .join(Rubric)
            .where(
                RubricVersion.public_id == data["rubric_version"], Rubric.organization_id == org.id
            )
        )
        if version_id is None:
            raise DomainError("No such rubric version in this organization.")
    return CredentialInput(
        name=data["name"],
        description=data["description"],
        criteria_md=data["criteria_md"],
        tags=list(data["tags"]),
        rubric_version_id=version_id,
        expiry_months=data["expiry_months"],
        max_attempts=data["max_attempts"],
        credits_available=data["credits_available"],
        credits_unit=data["credits_unit"],
    )


@bp.get("/organizations/<slug>/credentials")
@bp.response(200, s.CredentialOut(many=True))
@public
def list_credentials(slug: str) -> list[Any]:
    """Credentials of the organization: every one for staff, the published ones for others."""
    from portfolio.credentials import services as creds

    need("read")
    org = organization(slug)
    if actor().has_role(org.id, Role.ADMIN, Role.ASSESSOR):
        return creds.list_credentials(org)
    return creds.published_credentials(org)


@bp.get("/organizations/<slug>/credentials/<credential_id>")
@bp.response(200, s.CredentialOut)
@public
def get_credential(slug: str, credential_id: str) -> Any:
    """One credential (drafts and archived ones for staff only)."""
    from portfolio.credentials import services as creds

    need("read")
    org = organization(slug)
    if actor().has_role(org.id, Role.ADMIN, Role.ASSESSOR):
        return creds.get_credential(org, credential_id)
    return creds.get_published_credential(org, credential_id)


@bp.post("/organizations/<slug>/credentials")
@bp.arguments(s.CredentialIn)
@bp.response(201, s.CredentialOut)
@public
def create_credential(data: dict[str, Any], slug: str) -> Any:
    """Create a draft credential (admins)."""
    from portfolio.credentials import services as creds

    need("credentials:write")
    org = organization(slug)
    cred = creds.create_credential(actor(), org, _credential_input(org, data))
    commit_use("credential.create", "credential", cred.public_id)
    return cred


@bp.put("/organizations/<slug>/credentials/<credential_id>")
@bp.arguments(s.CredentialIn)
@bp.response(200, s.CredentialOut)
@public
def update_credential(data: dict[str, Any], slug: str, credential_id: str) -> Any:
    """Change a credential (admins); the same rules as the edit page."""
    from portfolio.credentials import services as creds

    need("credentials:write")
    org = organization(slug)
    admin(org)
    cred = creds.get_credential(org, credential_id)
    creds.update_credential(actor(), cred, _credential_input(org, data))
    commit_use("credential.update", "credential", cred.public_id)
    return cred


def _credential_action(slug: str, credential_id: str, verb: str) -> Any:
    from portfolio.credentials import services as creds

    need("credentials:write")
    org = organization(slug)
    admin(org)
    cred = creds.get_credential(org, credential_id)
    getattr(creds, f"{verb}_credential")(actor(), cred)
    commit_use(f"credential.{verb}", "credential", cred.public_id)
    return cred


@bp.post("/organizations/<slug>/credentials/<credential_id>/publish")
@bp.response(200, s.CredentialOut)
@public
def publish_credential(slug: str, credential_id: str) -> Any:
    """Publish a credential (admins); refused with the reasons while it is incomplete."""
    return _credential_action(slug, credential_id, "publish")


@bp.post("/organizations/<slug>/credentials/<credential_id>/archive")
@bp.response(200, s.CredentialOut)
@public
def archive_credential(slug: str, credential_id: str) -> Any:
    """Archive a credential (admins): no longer offered; its awards stay valid."""
    return _credential_action(slug, credential_id, "archive")
