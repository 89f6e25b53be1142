"""Issuer signing keys: each organization's Ed25519 keys (generated on first use, stored
encrypted, rotated by an admin; retired keys stay published so old credentials still verify), the
OB 3.0 issuer id that controls them, and the key documents served for them (Multikey controller
document, one document per key, the did:web DID document over https)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import select, update

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.awards.models import IssuerKey
from portfolio.awards.ob import keys, proof
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.urls import public_url
from portfolio.extensions import db


def _is_https() -> bool:
    return bool(current_app.config["PORTFOLIO"].public_base_url.startswith("https://"))


def controller_id(org: Organization) -> str:
    """The OB 3.0 issuer id, controller of the signing keys: a did:web DID when the service is
    reached over https (its DID document is at <issuer URL>/did.json), otherwise the URL of the
    issuer's Multikey controller document."""
    if _is_https():
        return keys.did_web_from_url(public_url("verify.issuer", oid=org.public_id))
    return public_url("verify.issuer_keys", oid=org.public_id)


def _secret() -> str:
    return str(current_app.config["PORTFOLIO"].signing_key_secret)


def get_or_create_signing_key(org: Organization) -> IssuerKey:
    """The organization's active signing key, generated (and stored encrypted) on first use."""
    key = db.session.scalar(
        select(IssuerKey)
        .where(IssuerKey.organization_id == org.id, IssuerKey.retired_at.is_(None))
        .order_by(IssuerKey.id)
        .limit(1)
    )
    if key is not None:
        return key
    private = keys.generate_private_key()
    key = IssuerKey(
        organization_id=org.id,
        public_key_multibase=keys.public_key_multibase(private),
        private_key_encrypted=keys.encrypt_private_key(private, _secret()),
    )
    db.session.add(key)
    db.session.flush()
    return key


def rotate_signing_key(admin: User, org: Organization) -> IssuerKey:
    """Retire the active key and make a new one. The old key stays published."""
    require_role(admin, org, Role.ADMIN)
    now = utcnow()
    db.session.execute(
        update(IssuerKey)
        .where(IssuerKey.organization_id == org.id, IssuerKey.retired_at.is_(None))
        .values(retired_at=now)
        .execution_options(synchronize_session=False)
    )
    key = get_or_create_signing_key(org)
    audit.record(
        "issuer.rotate_key",
        actor_id=admin.id,
        organization_id=org.id,
        subject_type="organization",
        subject_id=org.public_id,
        key=key.public_key_multibase,
    )
    return key


def private_key_of(key: IssuerKey) -> Ed25519PrivateKey:
    return keys.decrypt_private_key(key.private_key_encrypted, _secret())


def signing_private_key(org: Organization) -> Ed25519PrivateKey:
    """The organization's active private key (decrypted for one signature)."""
    return private_key_of(get_or_create_signing_key(org))


def published_keys(org: Organization) -> list[Ed25519PublicKey]:
    """Every key of the organization, retired ones too (old credentials must still verify)."""
    rows = db.session.scalars(
        select(IssuerKey).where(IssuerKey.organization_id == org.id).order_by(IssuerKey.id)
    )
    return [keys.public_key_from_multibase(k.public_key_multibase) for k in rows]


def controller_document(org: Organization) -> dict[str, Any]:
    """The Multikey controller document served at the issuer's keys URL: each key under its
    own URL (`key_document`) and under the older fragment id."""
    return keys.controller_document(
        public_url("verify.issuer_keys", oid=org.public_id), published_keys(org), own_urls=True
    )


def verification_method(org: Organization, key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The `verificationMethod` that new proofs name: the DID URL `<did>#<key>` over https,
    otherwise the key's own URL under the controller document (a Multikey document)."""
    if _is_https():
        return keys.verification_method_id(controller_id(org), key)
    return keys.key_url(public_url("verify.issuer_keys", oid=org.public_id), key)


def key_document(org: Organization, multibase: str) -> dict[str, Any]:
    """The Multikey document of one key of `org` (retired keys too), or `NotFound`."""
    row = db.session.scalar(
        select(IssuerKey).where(
            IssuerKey.organization_id == org.id, IssuerKey.public_key_multibase == multibase
        )
    )
    if row is None:
        raise NotFound("No such key.")
    controller = public_url("verify.issuer_keys", oid=org.public_id)
    public = keys.public_key_from_multibase(row.public_key_multibase)
    return keys.multikey(
        controller, public, with_context=True, method_id=keys.key_url(controller, public)
    )


def did_document(org: Organization) -> dict[str, Any] | None:
    """The did:web DID document (only meaningful when the service is reached over https)."""
    if not _is_https():
        return None
    return keys.did_document(controller_id(org), published_keys(org))


@dataclass(frozen=True)
class PublishedKeys:
    """An issuer's public id and the multibase of each of its keys (retired ones too, oldest
    first): all the key documents are built from, read in one query."""

    public_id: str
    multibases: tuple[str, ...]

    @property
    def keys(self) -> list[Ed25519PublicKey]:
        return [keys.public_key_from_multibase(m) for m in self.multibases]


def published_keys_of(oid: str) -> PublishedKeys | None:
    """The issuer with public id `oid` and its keys in one query; None for no such issuer."""
    if not is_public_id(oid):
        return None
    rows = db.session.execute(
        select(Organization.public_id, IssuerKey.public_key_multibase)
        .outerjoin(IssuerKey, IssuerKey.organization_id == Organization.id)
        .where(Organization.public_id == oid)
        .order_by(IssuerKey.id)
    ).all()
    if not rows:
        return None
    return PublishedKeys(oid, tuple(r.public_key_multibase for r in rows if r.public_key_multibase))


def controller_document_of(issuer: PublishedKeys) -> dict[str, Any]:
    """`controller_document` from the keys read by `published_keys_of`."""
    return keys.controller_document(
        public_url("verify.issuer_keys", oid=issuer.public_id), issuer.keys, own_urls=True
    )


def key_document_of(issuer: PublishedKeys, multibase: str) -> dict[str, Any]:
    """`key_document` from the keys read by `published_keys_of`, or `NotFound`."""
    if multibase not in issuer.multibases:
        raise NotFound("No such key.")
    controller = public_url("verify.issuer_keys", oid=issuer.public_id)
    public = keys.public_key_from_multibase(multibase)
    return keys.multikey(
        controller, public, with_context=True, method_id=keys.key_url(controller, public)
    )


def did_document_of(issuer: PublishedKeys) -> dict[str, Any] | None:
    """`did_document` from the keys read by `published_keys_of` (https only)."""
    if not _is_https():
        return None
    did = keys.did_web_from_url(public_url("verify.issuer", oid=issuer.public_id))
    return keys.did_document(did, issuer.keys)


def key_resolver_for(org: Organization) -> proof.KeyResolver:
    """Resolve verification methods against the issuer's published keys (no network)."""
    documents = [controller_document(org)]
    did = did_document(org)
    if did is not None:
        documents.append(did)
    return proof.key_resolver(documents)
