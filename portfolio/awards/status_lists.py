"""W3C Bitstring Status Lists of an issuer: which bit of which list each OB 3.0 credential
names in its `credentialStatus`, and the signed `BitstringStatusListCredential` of each list.

Indexes are drawn at random (herd privacy); a list takes new credentials until half of its
bits are allocated, then a new list starts, so a random draw almost always finds a free bit.
Credentials issued before status lists existed name the 1EdTech revocation list and have no
entry here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from portfolio.accounts.models import Organization
from portfolio.awards.documents import as_json, sha256_hex
from portfolio.awards.models import Award
from portfolio.awards.ob import proof, status_list
from portfolio.awards.signing_keys import (
    controller_id,
    get_or_create_signing_key,
    private_key_of,
    verification_method,
)
from portfolio.core.db import TimestampMixin, UTCDateTime, utcnow
from portfolio.core.errors import NotFound
from portfolio.core.ids import is_public_id, new_public_id
from portfolio.core.jobs import enqueue
from portfolio.core.urls import public_url
from portfolio.extensions import db


class StatusList(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """One Bitstring Status List of an organization and its signed list credential."""

    __tablename__ = "status_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Id in the list credential's public URL.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True, nullable=False
    )
    #: `statusPurpose` of the list (only "revocation" for now).
    purpose: Mapped[str] = mapped_column(String(16), nullable=False, default=status_list.REVOCATION)
    #: Number of bits (at least 131,072).
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=status_list.MIN_SIZE)
    #: The signed BitstringStatusListCredential exactly as served (JSON), re-signed on change.
    credential: Mapped[str | None] = mapped_column(Text)
    #: Hex SHA-256 of `credential`: the ETag.
    sha256: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Set when a revocation changed the list after it was last signed; the publishing job
    #: re-signs it and clears this. Until then the list is signed afresh when served.
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    organization: Mapped[Organization] = relationship()


class StatusListEntry(db.Model):  # type: ignore[name-defined,misc]
    """The bit of a status list that one award's OB 3.0 credential names."""

    __tablename__ = "status_list_entries"
    __table_args__ = (
        UniqueConstraint(
            "status_list_id", "bit_index", name="uq_status_list_entries_status_list_id_bit_index"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status_list_id: Mapped[int] = mapped_column(
        ForeignKey("status_lists.id", ondelete="CASCADE"), nullable=False
    )
    #: `statusListIndex` of the credential.
    bit_index: Mapped[int] = mapped_column(Integer, nullable=False)
    award_id: Mapped[int] = mapped_column(
        ForeignKey("awards.id", ondelete="CASCADE"), unique=True, nullable=False
    )

    status_list: Mapped[StatusList] = relationship()
    # `Award.status_entry`: set before the award is first flushed, so the entry is written in
    # the same savepoint as the award (and rolled back with it).
    award: Mapped[Award] = relationship(
        backref=backref("status_entry", uselist=False, cascade="all, delete-orphan")
    )


def _open_list(org: Organization) -> StatusList:
    """The organization's list that takes new credentials, started when there is none or the
    newest is half full."""
    newest = db.session.scalar(
        select(StatusList)
        .where(
            StatusList.organization_id == org.id,
            StatusList.purpose == status_list.REVOCATION,
        )
        .order_by(StatusList.id.desc())
        .limit(1)
    )
    if newest is not None:
        used = db.session.scalar(
            select(func.count(StatusListEntry.id)).where(
                StatusListEntry.status_list_id == newest.id
            )
        )
        if (used or 0) < newest.size // 2:
            return newest
    new = StatusList(organization_id=org.id, purpose=status_list.REVOCATION)
    new.organization = org
    db.session.add(new)
    db.session.flush()
    return new


def allocate_entry(award: Award, org: Organization) -> StatusListEntry:
    """The status list bit of `award`: its existing entry, or a random free bit of the open
    list attached to the (possibly not yet written) award."""
    existing: StatusListEntry | None = getattr(award, "status_entry", None)
    if existing is not None:
        return existing
    target = _open_list(org)

    def is_used(index: int) -> bool:
        return (
            db.session.scalar(
                select(StatusListEntry.id).where(
                    StatusListEntry.status_list_id == target.id,
                    StatusListEntry.bit_index == index,
                )
            )
            is not None
        )

    entry = StatusListEntry(bit_index=status_list.random_index(is_used, target.size))
    entry.status_list = target
    award.status_entry = entry  # type: ignore[attr-defined]
    return entry


def revoked_indexes(lst: StatusList) -> list[int]:
    """The bits of `lst` whose awards are revoked."""
    return list(
        db.session.scalars(
            select(StatusListEntry.bit_index)
            .join(Award, Award.id == StatusListEntry.award_id)
            .where(StatusListEntry.status_list_id == lst.id, Award.revoked_at.is_not(None))
            .order_by(StatusListEntry.bit_index)
        )
    )


def entry_of(award: Award) -> StatusListEntry | None:
    """The status list entry of a written award, if its credential has one."""
    return db.session.scalar(select(StatusListEntry).where(StatusListEntry.award_id == award.id))


def get_list(org: Organization, public_id: str) -> StatusList | None:
    return db.session.scalar(
        select(StatusList).where(
            StatusList.organization_id == org.id, StatusList.public_id == public_id
        )
    )


def stored_status_list(oid: str, lid: str) -> tuple[str, str]:
    """The signed status list credential `lid` of the issuer `oid` and its hash (the ETag), in
    one query, or `NotFound`."""
    lst = StatusList
    row = (
        db.session.execute(
            select(lst.id, lst.credential, lst.sha256, lst.changed_at)
            .join(Organization, Organization.id == lst.organization_id)
            .where(Organization.public_id == oid, lst.public_id == lid)
        ).one_or_none()
        if is_public_id(oid) and is_public_id(lid)
        else None
    )
    if row is None or row.credential is None or row.sha256 is None:
        raise NotFound("No such status list.")
    if row.changed_at is not None:
        # A revocation committed and its publishing job has not run yet: sign the current
        # state for this answer (not stored; the job stores it), so a verifier never sees a
        # revoked badge as valid in between.
        changed = db.session.get(lst, row.id)
        assert changed is not None
        fresh = signed_status_list(changed)
        return fresh, sha256_hex(fresh)
    return row.credential, row.sha256


def status_list_url(lst: StatusList) -> str:
    """The public URL of a status list credential (also its id)."""
    return public_url("verify.status_list", oid=lst.organization.public_id, lid=lst.public_id)


def signed_status_list(lst: StatusList) -> str:
    """The `BitstringStatusListCredential` of `lst` built from the revoked awards it covers now
    and signed with the issuer's active key (JSON as served)."""
    org = lst.organization
    private = private_key_of(get_or_create_signing_key(org))
    now = utcnow().replace(microsecond=0)
    url = status_list_url(lst)
    encoded = status_list.encode_list(revoked_indexes(lst), lst.size)
    unsigned = status_list.status_list_credential(
        url, controller_id(org), encoded, now, lst.purpose
    )
    signed = proof.sign_credential(
        unsigned, private, verification_method(org, private), created=now
    )
    return as_json(signed)


def sign_status_list(lst: StatusList) -> None:
    """(Re)build and sign the `BitstringStatusListCredential` of `lst` and store it as served;
    the list is then up to date (`changed_at` cleared)."""
    lst.credential = signed_status_list(lst)
    lst.sha256 = sha256_hex(lst.credential)
    lst.signed_at = utcnow().replace(microsecond=0)
    lst.changed_at = None


def status_list_changed(lst: StatusList) -> None:
    """A revocation changed `lst`: mark it, and queue the job that re-signs and stores it once
    this transaction commits. Until that job ran, the list is signed afresh when served."""
    from portfolio.awards.jobs import publish_status_list

    lst.changed_at = utcnow()
    enqueue(publish_status_list, lst.public_id, organization_id=lst.organization_id)
