"""Pathways and their components: the rule that earns a stacked credential, the credentials
that count towards it, trusted issuers, and the component badges each stacked award rests on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portfolio.accounts.models import Organization
from portfolio.awards.models import Award
from portfolio.core.db import TimestampMixin, UTCDateTime
from portfolio.core.ids import new_public_id
from portfolio.core.urls import clean_http_url
from portfolio.credentials.models import Credential, credits_label
from portfolio.extensions import db


class PathwayRule(StrEnum):
    """How many components earn the stack."""

    ALL = "all"
    N_OF = "n_of"


class Pathway(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """The rule that earns a stacked credential."""

    __tablename__ = "pathways"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    #: The stacked credential (no rubric); one pathway per credential.
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="RESTRICT"), unique=True
    )
    rule: Mapped[PathwayRule] = mapped_column(String(8), nullable=False, default=PathwayRule.ALL)
    #: For `n_of`: how many distinct components are needed.
    required_count: Mapped[int | None] = mapped_column(Integer)
    #: All counted components issued within this many days of each other; null: any time.
    window_days: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    organization: Mapped[Organization] = relationship()
    credential: Mapped[Credential] = relationship(lazy="joined")
    components: Mapped[list[PathwayComponent]] = relationship(
        back_populates="pathway", cascade="all, delete-orphan", order_by="PathwayComponent.position"
    )
    trusted_issuers: Mapped[list[PathwayTrustedIssuer]] = relationship(
        back_populates="pathway", cascade="all, delete-orphan", order_by="PathwayTrustedIssuer.id"
    )

    @property
    def needed(self) -> int:
        """How many distinct components earn the stack."""
        if self.rule == PathwayRule.N_OF and self.required_count:
            return self.required_count
        return len(self.components)

    @property
    def credit_totals(self) -> list[str]:
        """The credit of the components added up, per unit, e.g. ["9 credit hours"]."""
        return total_credits(
            (c.credential.credits_available, c.credential.credits_unit) for c in self.components
        )

    def describe(self) -> str:
        """The rule in words."""
        count = len(self.components)
        what = (
            f"all {count} component badges"
            if self.rule == PathwayRule.ALL
            else f"any {self.needed} of {count} component badges"
        )
        window = (
            f", earned within {self.window_days} days of each other" if self.window_days else ""
        )
        return f"Hold {what}{window}."


def total_credits(values: Iterable[tuple[float | None, str | None]]) -> list[str]:
    """Add credits up per unit (credentials may count in different units): labels in the order
    the units first appear; none for no credit at all."""
    totals: dict[str, float] = {}
    for value, unit in values:
        if value is not None:
            key = unit or ""
            totals[key] = totals.get(key, 0.0) + float(value)
    return [label for u, v in totals.items() if (label := credits_label(v, u))]


class PathwayComponent(db.Model):  # type: ignore[name-defined,misc]
    """One credential that counts towards a pathway."""

    __tablename__ = "pathway_components"
    __table_args__ = (
        UniqueConstraint(
            "pathway_id", "credential_id", name="uq_pathway_components_pathway_id_credential"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(ForeignKey("pathways.id", ondelete="CASCADE"))
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    pathway: Mapped[Pathway] = relationship(back_populates="components")
    credential: Mapped[Credential] = relationship(lazy="joined")


class PathwayTrustedIssuer(db.Model):  # type: ignore[name-defined,misc]
    """An issuer profile URL whose badges count towards a pathway of another organization."""

    __tablename__ = "pathway_trusted_issuers"
    __table_args__ = (
        UniqueConstraint("pathway_id", "issuer_url", name="uq_pathway_trusted_issuers_url"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(ForeignKey("pathways.id", ondelete="CASCADE"))
    issuer_url: Mapped[str] = mapped_column(String(500), nullable=False)

    pathway: Mapped[Pathway] = relationship(back_populates="trusted_issuers")

    @validates("issuer_url")
    def _check_issuer_url(self, _key: str, value: str | None) -> str | None:
        # Shown as a link (and written into badges): http(s) only, never javascript: or data:,
        # whether it comes from a form, a service or an import.
        return None if value is None else clean_http_url(value, what="The issuer URL")


class PathwayAwardComponent(db.Model):  # type: ignore[name-defined,misc]
    """A component badge a stacked award was issued on, and whether it has lapsed since."""

    __tablename__ = "pathway_award_components"
    __table_args__ = (
        UniqueConstraint(
            "award_id", "component_award_id", name="uq_pathway_award_components_award_component"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The stacked award.
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id", ondelete="CASCADE"), index=True)
    #: The component badge it was issued on.
    component_award_id: Mapped[int] = mapped_column(
        ForeignKey("awards.id", ondelete="CASCADE"), index=True
    )
    #: Set when the component was revoked or expired: the stack is then "affected".
    affected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    affected_reason: Mapped[str | None] = mapped_column(Text)

    award: Mapped[Award] = relationship(foreign_keys=[award_id])
    component: Mapped[Award] = relationship(foreign_keys=[component_award_id], lazy="joined")
