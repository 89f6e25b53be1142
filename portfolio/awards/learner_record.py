"""The learner's whole record as one signed Comprehensive Learner Record 2.0 `ClrCredential`.

Who signs it: the organization that issued the badges in it, with its own key, named as the
CLR's issuer exactly as in its badges (did:web over https, its key controller URL over http).
A CLR's issuer vouches that the record is the learner's; an organization can vouch only for
what it issued, and the service has no key of its own that verifiers would know. A worker with
badges from several organizations therefore exports one record per organization (My badges
offers one per organization). Revoked badges are left out; expired ones stay in (they are part
of the record, and each says itself that it has expired).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from flask import current_app
from sqlalchemy import select

from portfolio.accounts.models import Organization, User
from portfolio.awards import documents, signing_keys
from portfolio.awards.models import Award
from portfolio.awards.ob import clr, proof
from portfolio.awards.signals import learner_record_links
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import NotFound
from portfolio.core.ids import is_public_id
from portfolio.extensions import db


def record_awards(user: User) -> list[Award]:
    """The worker's awards that go into a learner record: signed and not revoked, oldest
    first (one still being signed joins the next export)."""
    return list(
        db.session.scalars(
            select(Award)
            .where(
                Award.recipient_id == user.id,
                Award.revoked_at.is_(None),
                Award.signed_at.is_not(None),
            )
            .order_by(Award.issued_at, Award.id)
        )
    )


def record_organizations(user: User) -> list[Organization]:
    """The organizations the worker can export a learner record from, by name."""
    orgs = {a.organization_id: a.organization for a in record_awards(user)}
    return sorted(orgs.values(), key=lambda o: o.name.lower())


def _pathway_links(awards: Sequence[Award]) -> list[clr.PathwayLink]:
    links: list[clr.PathwayLink] = []
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for _receiver, result in learner_record_links.send(app, awards=list(awards)):
        links.extend(result or ())
    return links


def export_learner_record(user: User, org_public_id: str | None = None) -> dict[str, Any]:
    """The signed `ClrCredential` of `user`'s badges from one organization (the only one, or
    `org_public_id` when there are several). `NotFound` when there is nothing to export."""
    awards = record_awards(user)
    org_ids = {a.organization_id for a in awards}
    if org_public_id is not None:
        if not is_public_id(org_public_id):
            raise NotFound("No badges of that organization.")
        awards = [a for a in awards if a.organization.public_id == org_public_id]
    elif len(org_ids) > 1:
        # Several issuers: never pick one silently (see the module docstring).
        raise NotFound("Choose the organization whose badges to export.")
    if not awards:
        raise NotFound("You have no badges to export yet.")
    org = awards[0].organization
    credentials = [json.loads(a.ob3_credential or "{}") for a in awards]
    issued = utcnow().replace(microsecond=0)
    unsigned = clr.clr_credential(
        id=f"urn:uuid:{uuid.uuid4()}",
        issuer=documents.issuer_info(org),
        name=f"Learner record of {user.display_name}",
        description=(
            f"The {len(awards)} badge(s) {org.name} issued to {user.display_name} and has "
            f"not revoked, as of {issued:%d %B %Y}."
        ),
        issued=issued,
        recipient_email=user.email,
        salt=secrets.token_hex(16),
        credentials=credentials,
        pathways=_pathway_links(awards),
    )
    private = signing_keys.signing_private_key(org)
    signed = proof.sign_credential(
        unsigned, private, signing_keys.verification_method(org, private), created=issued
    )
    audit.record(
        "award.export_record",
        actor_id=user.id,
        organization_id=org.id,
        subject_type="user",
        subject_id=user.public_id,
        badges=len(awards),
    )
    return signed
