"""Credential versions: what an issued badge shows is frozen. Badges show their credential as it
was when they were issued. Saving a change to a credential that has badges first records the
content those badges were showing as a numbered version and points them at it; badges issued
afterwards show the credential as it is until the next change freezes them in turn. The signed
copies inside the badges never change either way."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.awards.models import Award
from portfolio.core.db import UTCDateTime, utcnow
from portfolio.core.ids import new_public_id
from portfolio.credentials.models import Credential, credits_label
from portfolio.extensions import db


class CredentialVersion(db.Model):  # type: ignore[name-defined,misc]
    """The public content of a credential at one time, as badges issued then show it."""

    __tablename__ = "credential_versions"
    __table_args__ = (
        UniqueConstraint("credential_id", "number", name="uq_credential_versions_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), index=True
    )
    #: 1, 2, 3... in the order the changes were saved.
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    criteria_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The alignments shown, as JSON: [{"code", "name", "url", "framework"}, ...].
    alignments_json: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    #: The credit and its unit as they were (see `Credential.credits_available`).
    credits_available: Mapped[float | None] = mapped_column(Numeric(8, 2, asdecimal=False))
    credits_unit: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


@dataclass(frozen=True)
class ShownAlignment:
    code: str
    name: str
    target_url: str
    framework_name: str


@dataclass(frozen=True)
class ShownCredential:
    """What a badge's public page shows of its credential (live or a frozen version)."""

    public_id: str
    name: str
    description: str
    criteria_html: str
    alignments: list[ShownAlignment] = field(default_factory=list)
    version: int | None = None
    credits_available: float | None = None
    credits_unit: str = ""

    @property
    def credits_label(self) -> str | None:
        """The credit in words, e.g. "3 credit hours"; None without credit."""
        return credits_label(self.credits_available, self.credits_unit)


def _alignments_of(cred: Credential) -> list[dict[str, str]]:
    return [
        {"code": a.code, "name": a.name, "url": a.target_url, "framework": a.framework_name}
        for a in cred.alignments
    ]


def awards_showing_live(cred: Credential) -> int:
    """How many badges of `cred` show its current content (and would be frozen by a change)."""
    return int(
        db.session.scalar(
            select(func.count(Award.id)).where(
                Award.credential_id == cred.id, Award.credential_version_id.is_(None)
            )
        )
        or 0
    )


def next_version_number(cred: Credential) -> int:
    """The number the next frozen version of `cred` will get."""
    top = db.session.scalar(
        select(func.max(CredentialVersion.number)).where(CredentialVersion.credential_id == cred.id)
    )
    return int(top or 0) + 1


def freeze_for_issued_badges(cred: Credential) -> CredentialVersion | None:
    """Before `cred` changes: record what its badges show now as a version and point them at
    it. Nothing to do (None) when no badge shows the live content."""
    if not awards_showing_live(cred):
        return None
    version = CredentialVersion(
        credential_id=cred.id,
        number=next_version_number(cred),
        name=cred.name,
        description=cred.description or "",
        criteria_html=cred.criteria_html or "",
        alignments_json=json.dumps(_alignments_of(cred)),
        credits_available=cred.credits_available,
        credits_unit=cred.credits_unit or "",
    )
    db.session.add(version)
    db.session.flush()
    db.session.execute(
        update(Award)
        .where(Award.credential_id == cred.id, Award.credential_version_id.is_(None))
        .values(credential_version_id=version.id)
        .execution_options(synchronize_session=False)
    )
    return version


def shown_credential(award: Award) -> ShownCredential:
    """The credential as this badge shows it: its frozen version, or the live credential."""
    cred = award.credential
    version = (
        db.session.get(CredentialVersion, award.credential_version_id)
        if award.credential_version_id is not None
        else None
    )
    if version is None:
        rows = _alignments_of(cred)
        return ShownCredential(
            cred.public_id,
            cred.name,
            cred.description or "",
            cred.criteria_html or "",
            [ShownAlignment(r["code"], r["name"], r["url"], r["framework"]) for r in rows],
            credits_available=cred.credits_available,
            credits_unit=cred.credits_unit or "",
        )
    rows = json.loads(version.alignments_json or "[]")
    return ShownCredential(
        cred.public_id,
        version.name,
        version.description,
        version.criteria_html,
        [ShownAlignment(r["code"], r["name"], r["url"], r["framework"]) for r in rows],
        version.number,
        credits_available=version.credits_available,
        credits_unit=version.credits_unit or "",
    )
