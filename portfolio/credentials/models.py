"""Credentials (Open Badges BadgeClass / OB 3.0 Achievement): what a worker can earn."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portfolio.core.db import TimestampMixin, UTCDateTime, utcnow
from portfolio.core.ids import new_public_id
from portfolio.core.urls import clean_http_url
from portfolio.extensions import db
from portfolio.frameworks.models import Competency, RubricVersion


class CredentialState(StrEnum):
    """Drafts are private; published credentials are in the catalogue; archived ones are
    no longer offered but their awards stay valid."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Credential(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """A credential an organization issues (badge class / achievement)."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: Plain-text summary (OB `description`).
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Storage key of the badge image (PNG, or SVG after sanitizing), if any.
    image_key: Mapped[str | None] = mapped_column(String(512))
    #: image/png or image/svg+xml.
    image_content_type: Mapped[str | None] = mapped_column(String(100))
    #: Criteria narrative as written (Markdown) and as rendered once on write (sanitized HTML).
    criteria_md: Mapped[str] = mapped_column(Text, nullable=False, default="")
    criteria_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The rubric version submissions for this credential are assessed against.
    rubric_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("rubric_versions.id", ondelete="RESTRICT"), index=True
    )
    #: Months an award stays valid; null means it never expires.
    expiry_months: Mapped[int | None] = mapped_column(Integer)
    #: How many submissions a worker may make; null means no limit.
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    #: The credit a badge of it is worth (OB 3.0 `creditsAvailable`), e.g. 3 or 1.5; null:
    #: no credit. Earned in full with the badge (its `creditsEarned`).
    credits_available: Mapped[float | None] = mapped_column(Numeric(8, 2, asdecimal=False))
    #: The unit the issuer counts credit in, as shown beside the number, e.g. "credit hours"
    #: ("credits" when empty). OB 3.0 has no term for it: the documents carry the number only.
    credits_unit: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    state: Mapped[CredentialState] = mapped_column(
        String(16), nullable=False, default=CredentialState.DRAFT
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )

    rubric_version: Mapped[RubricVersion | None] = relationship()
    tags: Mapped[list[CredentialTag]] = relationship(
        back_populates="credential", cascade="all, delete-orphan", order_by="CredentialTag.name"
    )
    alignments: Mapped[list[CredentialAlignment]] = relationship(
        back_populates="credential",
        cascade="all, delete-orphan",
        order_by="CredentialAlignment.position",
    )

    @property
    def is_published(self) -> bool:
        return self.state == CredentialState.PUBLISHED

    @property
    def tag_names(self) -> list[str]:
        return [t.name for t in self.tags]

    @property
    def credits_label(self) -> str | None:
        """The credit in words, e.g. "3 credit hours"; None without credit."""
        return credits_label(self.credits_available, self.credits_unit)


def format_credits(value: float) -> str:
    """3.0 -> "3", 1.5 -> "1.5", 0.25 -> "0.25"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def credits_label(value: float | None, unit: str | None) -> str | None:
    """A credit value with its unit, e.g. "1.5 credit hours"; None without a value."""
    if value is None:
        return None
    return f"{format_credits(value)} {unit or 'credits'}"


class CredentialTag(db.Model):  # type: ignore[name-defined,misc]
    """A keyword of a credential (OB `tags`)."""

    __tablename__ = "credential_tags"
    __table_args__ = (
        UniqueConstraint("credential_id", "name", name="uq_credential_tags_credential_id_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60), nullable=False)

    credential: Mapped[Credential] = relationship(back_populates="tags")


class CredentialAlignment(db.Model):  # type: ignore[name-defined,misc]
    """What a credential aligns to: a competency of one of our frameworks, or an external
    target described by name, URL, framework and code (OB `alignment`)."""

    __tablename__ = "credential_alignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Set for an alignment to one of our competencies; the fields below are then derived.
    competency_id: Mapped[int | None] = mapped_column(
        ForeignKey("competencies.id", ondelete="CASCADE"), index=True
    )
    target_name: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    target_url: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    target_description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    target_framework: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    target_code: Mapped[str] = mapped_column(String(100), nullable=False, default="")

    credential: Mapped[Credential] = relationship(back_populates="alignments")
    competency: Mapped[Competency | None] = relationship()

    @validates("target_url")
    def _check_target_url(self, _key: str, value: str | None) -> str | None:
        # Shown as a link (and written into badges): http(s) only, never javascript: or data:,
        # whether it comes from a form, a service or an import.
        return None if value is None else clean_http_url(value, what="The alignment URL")

    @property
    def name(self) -> str:
        return self.competency.statement if self.competency else self.target_name

    @property
    def code(self) -> str:
        return self.competency.code if self.competency else self.target_code

    @property
    def framework_name(self) -> str:
        return self.competency.framework.title if self.competency else self.target_framework
