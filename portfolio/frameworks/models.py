"""Competency frameworks (a tree of competencies) and versioned rubrics."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portfolio.core.db import TimestampMixin, UTCDateTime, utcnow
from portfolio.core.ids import new_public_id
from portfolio.core.urls import clean_http_url
from portfolio.extensions import db


def new_case_identifier() -> str:
    """A CASE identifier (a UUID) for objects created here rather than imported."""
    return str(uuid.uuid4())


class Framework(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """A competency framework of one organization (a CASE CFDocument)."""

    __tablename__ = "frameworks"
    __table_args__ = (
        UniqueConstraint(
            "organization_id",
            "case_identifier",
            name="uq_frameworks_organization_id_case_identifier",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    #: Free-form version label of the framework publisher, e.g. "2024.1".
    version: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Where the framework is published (CASE officialSourceURL).
    source_url: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    #: CASE CFDocument identifier (UUID); duplicate imports are recognised by it.
    case_identifier: Mapped[str] = mapped_column(
        String(255), nullable=False, default=new_case_identifier
    )
    #: CASE CFDocument URI as published by its source; empty for frameworks made here.
    case_uri: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    #: CASE creator (the publishing body).
    creator: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    #: What an imported CASE package held beyond the columns, kept so an export gives it back:
    #: {"document": the CFDocument as imported, "definitions": CFDefinitions}. Null for a
    #: framework made here.
    case_extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The CASE provider's `CFPackages/{id}` URL this framework was fetched from ("update from
    #: source" fetches it again); empty for uploads and frameworks made here.
    case_package_url: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )

    competencies: Mapped[list[Competency]] = relationship(
        back_populates="framework",
        cascade="all, delete-orphan",
        order_by="Competency.position",
    )
    associations: Mapped[list[CompetencyAssociation]] = relationship(
        back_populates="framework",
        cascade="all, delete-orphan",
        order_by="CompetencyAssociation.id",
    )

    @validates("source_url")
    def _check_source_url(self, _key: str, value: str | None) -> str | None:
        # Shown as a link (and written into badges): http(s) only, never javascript: or data:,
        # whether it comes from a form, a service or an import.
        return None if value is None else clean_http_url(value, what="The source URL")


class Competency(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """One node of a framework's tree (a CASE CFItem)."""

    __tablename__ = "competencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("frameworks.id", ondelete="CASCADE"), index=True
    )
    #: Parent node where the competency is shown with everything below it; null for a top-level
    #: competency (child of the CFDocument). Further parents (CASE items may have several) are
    #: `isChildOf` rows of `CompetencyAssociation`; the competency is listed under each.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("competencies.id", ondelete="CASCADE"), index=True
    )
    #: Order among siblings (CASE sequenceNumber).
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Human code such as `WLD-2.3` (CASE humanCodingScheme).
    code: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    #: CASE fullStatement.
    statement: Mapped[str] = mapped_column(Text, nullable=False)
    #: CASE notes.
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: CASE CFItemType, e.g. "Domain", "Competency", "Skill".
    item_type: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    case_identifier: Mapped[str] = mapped_column(
        String(255), nullable=False, default=new_case_identifier
    )
    case_uri: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    #: The CFItem as imported (every field, including those without a column here, such as
    #: abbreviatedStatement, educationLevel, listEnumeration), so an export gives it back; null
    #: for a competency made here. The columns above win over it on export.
    case_extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    framework: Mapped[Framework] = relationship(back_populates="competencies")
    parent: Mapped[Competency | None] = relationship(remote_side="Competency.id")

    @property
    def label(self) -> str:
        """Code and statement, for lists and select boxes."""
        return f"{self.code} {self.statement}".strip() if self.code else self.statement


class CompetencyAssociation(db.Model):  # type: ignore[name-defined,misc]
    """One CASE CFAssociation of an imported framework, of any type, kept as imported.

    The origin and destination are linked to competencies of the framework when they are in it;
    otherwise (another framework's item, an outside URI, the CFDocument) only the node reference
    in `case_data` names them. The `isChildOf` row that placed a competency under its
    `parent_id` is one of these too.
    """

    __tablename__ = "competency_associations"

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("frameworks.id", ondelete="CASCADE"), index=True
    )
    #: CASE associationType: isChildOf, isRelatedTo, exactMatchOf, precedes, isPartOf, ...
    association_type: Mapped[str] = mapped_column(String(60), nullable=False)
    origin_id: Mapped[int | None] = mapped_column(
        ForeignKey("competencies.id", ondelete="CASCADE"), index=True
    )
    destination_id: Mapped[int | None] = mapped_column(
        ForeignKey("competencies.id", ondelete="CASCADE"), index=True
    )
    case_identifier: Mapped[str] = mapped_column(String(255), nullable=False)
    #: The CFAssociation as imported (node references with title, identifier and URI,
    #: sequenceNumber as a number, lastChangeDateTime, grouping, ...).
    case_data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)

    framework: Mapped[Framework] = relationship(back_populates="associations")
    origin: Mapped[Competency | None] = relationship(foreign_keys=[origin_id])
    destination: Mapped[Competency | None] = relationship(foreign_keys=[destination_id])

    @property
    def sequence_number(self) -> int | None:
        value = self.case_data.get("sequenceNumber")
        return value if isinstance(value, int) else None

    @property
    def destination_ref(self) -> dict[str, str]:
        return self.case_data.get("destinationNodeURI") or {}

    @property
    def origin_ref(self) -> dict[str, str]:
        return self.case_data.get("originNodeURI") or {}


class VersionState(StrEnum):
    """Where a rubric version is in its life."""

    DRAFT = "draft"
    PUBLISHED = "published"


class Rubric(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """A rubric of one organization; its content lives in numbered versions."""

    __tablename__ = "rubrics"
    __table_args__ = (
        UniqueConstraint(
            "organization_id", "case_identifier", name="uq_rubrics_organization_id_case_identifier"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    #: The framework the rubric was imported with or belongs to, if any.
    framework_id: Mapped[int | None] = mapped_column(
        ForeignKey("frameworks.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    case_identifier: Mapped[str] = mapped_column(
        String(255), nullable=False, default=new_case_identifier
    )
    case_uri: Mapped[str] = mapped_column(String(1000), nullable=False, default="")

    framework: Mapped[Framework | None] = relationship()
    versions: Mapped[list[RubricVersion]] = relationship(
        back_populates="rubric", cascade="all, delete-orphan", order_by="RubricVersion.number"
    )

    @property
    def latest(self) -> RubricVersion:
        """The newest version (a draft while someone is editing)."""
        return self.versions[-1]

    @property
    def latest_published(self) -> RubricVersion | None:
        """The newest published version, if any."""
        published = [v for v in self.versions if v.published_at is not None]
        return published[-1] if published else None


class RubricVersion(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """One version of a rubric: elements by levels, cell descriptors and the pass rule.

    Frozen once published (see `services.is_version_locked`); changes start a new version.
    """

    __tablename__ = "rubric_versions"
    __table_args__ = (
        UniqueConstraint("rubric_id", "number", name="uq_rubric_versions_rubric_id_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id", ondelete="CASCADE"), index=True)
    #: 1, 2, 3... within the rubric.
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Title and description as of this version (shown to workers).
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Pass rule, part 1: every required element must score at or above the level at this
    #: position (0 = lowest level). Null until the editor chooses one.
    pass_level_position: Mapped[int | None] = mapped_column(Integer)
    #: Pass rule, part 2 (optional): the weighted total of points must reach this.
    min_total_points: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    rubric: Mapped[Rubric] = relationship(back_populates="versions")
    elements: Mapped[list[RubricElement]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="RubricElement.position"
    )
    levels: Mapped[list[RubricLevel]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="RubricLevel.position"
    )

    @property
    def state(self) -> VersionState:
        return VersionState.PUBLISHED if self.published_at is not None else VersionState.DRAFT

    @property
    def pass_level(self) -> RubricLevel | None:
        """The level every required element must reach."""
        if self.pass_level_position is None:
            return None
        for level in self.levels:
            if level.position == self.pass_level_position:
                return level
        return None

    def cell(self, element: RubricElement, level: RubricLevel) -> RubricCell | None:
        """The descriptor cell of one element at one level."""
        for c in element.cells:
            if c.level_id == level.id or c.level is level:
                return c
        return None


class RubricElement(db.Model):  # type: ignore[name-defined,misc]
    """One row of a rubric: what is assessed (a CASE CFRubricCriterion)."""

    __tablename__ = "rubric_elements"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: What evidence the worker should provide for this element.
    evidence_guidance: Mapped[str] = mapped_column(Text, nullable=False, default="")
    is_required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: Multiplies the level's points in the total (CASE weight).
    weight: Mapped[Decimal] = mapped_column(Numeric(8, 2), nullable=False, default=Decimal(1))
    #: The competency this element assesses, if any (CASE CFItemURI).
    competency_id: Mapped[int | None] = mapped_column(
        ForeignKey("competencies.id", ondelete="SET NULL")
    )
    case_identifier: Mapped[str] = mapped_column(
        String(255), nullable=False, default=new_case_identifier
    )

    version: Mapped[RubricVersion] = relationship(back_populates="elements")
    competency: Mapped[Competency | None] = relationship()
    cells: Mapped[list[RubricCell]] = relationship(
        back_populates="element", cascade="all, delete-orphan"
    )


class RubricLevel(db.Model):  # type: ignore[name-defined,misc]
    """One column of a rubric: a performance level such as "Meets" with its points."""

    __tablename__ = "rubric_levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_versions.id", ondelete="CASCADE"), index=True
    )
    #: 0 = lowest level; the pass rule compares positions.
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    points: Mapped[Decimal] = mapped_column(Numeric(8, 2), nullable=False, default=Decimal(0))

    version: Mapped[RubricVersion] = relationship(back_populates="levels")
    cells: Mapped[list[RubricCell]] = relationship(
        back_populates="level", cascade="all, delete-orphan"
    )


class RubricCell(db.Model):  # type: ignore[name-defined,misc]
    """What performance at one level looks like for one element (a CFRubricCriterionLevel)."""

    __tablename__ = "rubric_cells"
    __table_args__ = (
        UniqueConstraint("element_id", "level_id", name="uq_rubric_cells_element_id_level_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    element_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_elements.id", ondelete="CASCADE"), index=True
    )
    level_id: Mapped[int] = mapped_column(
        ForeignKey("rubric_levels.id", ondelete="CASCADE"), index=True
    )
    descriptor: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: CASE feedback text for this cell, kept for round trips.
    feedback: Mapped[str] = mapped_column(Text, nullable=False, default="")
    case_identifier: Mapped[str] = mapped_column(
        String(255), nullable=False, default=new_case_identifier
    )

    element: Mapped[RubricElement] = relationship(back_populates="cells")
    level: Mapped[RubricLevel] = relationship(back_populates="cells")
