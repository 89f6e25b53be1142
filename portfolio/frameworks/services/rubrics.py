"""Rubrics and their versions: a version is immutable once `is_version_locked` says so;
changing a locked rubric starts a new draft version. Saving the editor's grid, publication
checks and the pass rule as words."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from portfolio.accounts.models import Organization, User
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.sanitize import clean_text
from portfolio.extensions import db
from portfolio.frameworks.models import (
    Framework,
    Rubric,
    RubricCell,
    RubricElement,
    RubricLevel,
    RubricVersion,
)
from portfolio.frameworks.services.frameworks import framework_org, require_admin

#: Levels a new rubric starts with: name and points, lowest first.
DEFAULT_LEVELS: tuple[tuple[str, int], ...] = (
    ("Not yet", 0),
    ("Developing", 1),
    ("Meets", 2),
    ("Exceeds", 3),
)
MAX_ELEMENTS = 50
MAX_LEVELS = 10


def is_version_locked(version: RubricVersion) -> bool:
    """True when a rubric version may no longer change.

    This is the single place that decides it. Today a version is locked once published; the
    submissions package extends this check so a version any submission uses is locked too (a
    published version already is, so that only tightens the rule).
    """
    return version.published_at is not None


def require_unlocked(version: RubricVersion) -> None:
    """Raise `Conflict` when the version is frozen."""
    if is_version_locked(version):
        raise Conflict(
            f"Version {version.number} of this rubric is published and can no longer change. "
            "Start a new draft version to edit it."
        )


def list_rubrics(org: Organization) -> list[Rubric]:
    """The organization's rubrics by title."""
    return list(
        db.session.scalars(
            select(Rubric).where(Rubric.organization_id == org.id).order_by(Rubric.title)
        )
    )


def get_rubric(org: Organization, public_id: str) -> Rubric:
    """A rubric of this organization, or `NotFound`."""
    rubric = None
    if is_public_id(public_id):
        rubric = db.session.scalar(
            select(Rubric).where(Rubric.public_id == public_id, Rubric.organization_id == org.id)
        )
    if rubric is None:
        raise NotFound("No such rubric in this organization.")
    return rubric


def get_version(rubric: Rubric, public_id: str) -> RubricVersion:
    """One version of the rubric, or `NotFound`."""
    for v in rubric.versions:
        if v.public_id == public_id:
            return v
    raise NotFound("No such version of this rubric.")


def published_versions(org: Organization) -> list[RubricVersion]:
    """Every published rubric version of the organization, for credential forms."""
    return list(
        db.session.scalars(
            select(RubricVersion)
            .join(Rubric)
            .where(Rubric.organization_id == org.id, RubricVersion.published_at.is_not(None))
            .order_by(Rubric.title, RubricVersion.number)
        )
    )


def create_rubric(
    actor: User,
    org: Organization,
    *,
    title: str,
    description: str = "",
    framework: Framework | None = None,
    with_default_levels: bool = True,
) -> Rubric:
    """Create a rubric with a first draft version (default levels, no elements yet)."""
    require_admin(actor, org)
    title = clean_text(title, 300)
    if not title:
        raise DomainError("A rubric needs a title.")
    if framework is not None and framework.organization_id != org.id:
        raise DomainError("The framework belongs to another organization.")
    rubric = Rubric(organization_id=org.id, title=title, framework=framework)
    version = RubricVersion(rubric=rubric, number=1, title=title, description=description.strip())
    if with_default_levels:
        for i, (name, points) in enumerate(DEFAULT_LEVELS):
            version.levels.append(RubricLevel(position=i, name=name, points=Decimal(points)))
        version.pass_level_position = 2
    db.session.add(rubric)
    db.session.flush()
    audit.record(
        "rubric.create",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="rubric",
        subject_id=rubric.public_id,
    )
    return rubric


def copy_version(source: RubricVersion, number: int) -> RubricVersion:
    """An unsaved draft with the same content as `source` (new rows, same CASE identifiers)."""
    new = RubricVersion(
        number=number,
        title=source.title,
        description=source.description,
        pass_level_position=source.pass_level_position,
        min_total_points=source.min_total_points,
    )
    level_map: dict[int, RubricLevel] = {}
    for lv in source.levels:
        copy = RubricLevel(position=lv.position, name=lv.name, points=lv.points)
        new.levels.append(copy)
        level_map[lv.id] = copy
    for el in source.elements:
        el_copy = RubricElement(
            position=el.position,
            title=el.title,
            description=el.description,
            evidence_guidance=el.evidence_guidance,
            is_required=el.is_required,
            weight=el.weight,
            competency_id=el.competency_id,
            case_identifier=el.case_identifier,
        )
        for cell in el.cells:
            el_copy.cells.append(
                RubricCell(
                    level=level_map[cell.level_id],
                    descriptor=cell.descriptor,
                    feedback=cell.feedback,
                    case_identifier=cell.case_identifier,
                )
            )
        new.elements.append(el_copy)
    return new


def start_new_version(actor: User, rubric: Rubric) -> RubricVersion:
    """The draft to edit: the latest version if still a draft, else a new copy of it."""
    require_admin(actor, framework_org(rubric.organization_id))
    latest = rubric.latest
    if not is_version_locked(latest):
        return latest
    new = copy_version(latest, latest.number + 1)
    rubric.versions.append(new)
    db.session.flush()
    audit.record(
        "rubric.new_version",
        actor_id=actor.id,
        organization_id=rubric.organization_id,
        subject_type="rubric_version",
        subject_id=new.public_id,
        number=new.number,
    )
    return new


@dataclass
class ElementInput:
    """One row of the editor: an existing element (by public id) or a new one."""

    public_id: str | None
    title: str
    description: str = ""
    evidence_guidance: str = ""
    is_required: bool = True
    weight: Decimal = Decimal(1)
    competency_id: int | None = None
    #: Descriptor per level, keyed by the level's index in `VersionInput.levels`.
    descriptors: dict[int, str] = field(default_factory=dict)


@dataclass
class LevelInput:
    """One column of the editor: an existing level (by id) or a new one."""

    id: int | None
    name: str
    points: Decimal


@dataclass
class VersionInput:
    """The whole content of a rubric version as the editor sends it, in display order."""

    title: str
    description: str
    elements: list[ElementInput]
    levels: list[LevelInput]
    #: Index into `levels` of the pass level, or None.
    pass_level: int | None
    min_total_points: Decimal | None = None


def save_version(actor: User, version: RubricVersion, data: VersionInput) -> None:
    """Replace a draft version's content with `data` (elements, levels, cells, pass rule).

    Existing rows are kept and updated where their ids come back, so ids stay stable while
    drafting; rows that are missing from `data` are removed.
    """
    require_admin(actor, framework_org(version.rubric.organization_id))
    require_unlocked(version)
    title = clean_text(data.title, 300)
    if not title:
        raise DomainError("The rubric needs a title.")
    if len(data.elements) > MAX_ELEMENTS:
        raise DomainError(f"A rubric can have at most {MAX_ELEMENTS} elements.")
    if len(data.levels) > MAX_LEVELS:
        raise DomainError(f"A rubric can have at most {MAX_LEVELS} levels.")
    for i, el in enumerate(data.elements, 1):
        if not clean_text(el.title, 300):
            raise DomainError(f"Element {i} needs a title.")
        if el.weight < 0:
            raise DomainError(f"Element {i}: the weight cannot be negative.")
    for i, lv in enumerate(data.levels, 1):
        if not clean_text(lv.name, 120):
            raise DomainError(f"Level {i} needs a name.")
    if data.pass_level is not None and not 0 <= data.pass_level < len(data.levels):
        raise DomainError("The pass level must be one of the rubric's levels.")

    version.title = title
    version.rubric.title = title
    version.description = data.description.strip()
    version.min_total_points = data.min_total_points
    version.pass_level_position = data.pass_level

    old_levels = {lv.id: lv for lv in version.levels}
    new_levels: list[RubricLevel] = []
    for i, li in enumerate(data.levels):
        level = old_levels.pop(li.id, None) if li.id is not None else None
        if level is None:
            level = RubricLevel(version=version)
            version.levels.append(level)
        level.position, level.name, level.points = i, clean_text(li.name, 120), li.points
        new_levels.append(level)
    for gone in old_levels.values():
        version.levels.remove(gone)

    old_elements = {el.public_id: el for el in version.elements}
    for i, ei in enumerate(data.elements):
        element = old_elements.pop(ei.public_id, None) if ei.public_id else None
        if element is None:
            element = RubricElement(version=version)
            version.elements.append(element)
        element.position, element.title = i, clean_text(ei.title, 300)
        element.description = ei.description.strip()
        element.evidence_guidance = ei.evidence_guidance.strip()
        element.is_required, element.weight = ei.is_required, ei.weight
        element.competency_id = ei.competency_id
        cells = {c.level: c for c in element.cells}
        for j, level in enumerate(new_levels):
            cell = cells.pop(level, None)
            if cell is None:
                cell = RubricCell(level=level)
                element.cells.append(cell)
            cell.descriptor = ei.descriptors.get(j, cell.descriptor or "").strip()
        for stale in cells.values():
            element.cells.remove(stale)
    for gone_el in old_elements.values():
        version.elements.remove(gone_el)
    db.session.flush()
    audit.record(
        "rubric.update",
        actor_id=actor.id,
        organization_id=version.rubric.organization_id,
        subject_type="rubric_version",
        subject_id=version.public_id,
    )


def version_as_input(version: RubricVersion) -> VersionInput:
    """The editor's view of a version (the inverse of `save_version`)."""
    index = {lv.id: i for i, lv in enumerate(version.levels)}
    pass_index = None
    for i, lv in enumerate(version.levels):
        if lv.position == version.pass_level_position:
            pass_index = i
    return VersionInput(
        title=version.title,
        description=version.description,
        levels=[LevelInput(lv.id, lv.name, lv.points) for lv in version.levels],
        elements=[
            ElementInput(
                public_id=el.public_id,
                title=el.title,
                description=el.description,
                evidence_guidance=el.evidence_guidance,
                is_required=el.is_required,
                weight=el.weight,
                competency_id=el.competency_id,
                descriptors={
                    index[c.level_id]: c.descriptor for c in el.cells if c.level_id in index
                },
            )
            for el in version.elements
        ],
        pass_level=pass_index,
        min_total_points=version.min_total_points,
    )


def publication_problems(version: RubricVersion) -> list[str]:
    """What stops a version from being published (empty when it is ready)."""
    problems = []
    if not version.elements:
        problems.append("Add at least one element.")
    if len(version.levels) < 2:
        problems.append("Add at least two performance levels.")
    if version.pass_level is None:
        problems.append("Choose the level every required element must reach.")
    points = [lv.points for lv in version.levels]
    if points != sorted(points):
        problems.append("Level points must not decrease from the lowest level to the highest.")
    for el in version.elements:
        for lv in version.levels:
            cell = version.cell(el, lv)
            if cell is None or not cell.descriptor.strip():
                problems.append(f"Describe “{el.title}” at level “{lv.name}”.")
    if not any(el.is_required for el in version.elements) and version.elements:
        problems.append("Mark at least one element as required.")
    if version.min_total_points is not None and version.min_total_points > max_total(version):
        problems.append("The minimum total is higher than the most points a worker can earn.")
    return problems


def max_total(version: RubricVersion) -> Decimal:
    """The most weighted points a worker can score on this version."""
    top = max((lv.points for lv in version.levels), default=Decimal(0))
    return sum((el.weight * top for el in version.elements), Decimal(0))


def publish_version(actor: User, version: RubricVersion) -> None:
    """Freeze a draft version so credentials can use it."""
    require_admin(actor, framework_org(version.rubric.organization_id))
    require_unlocked(version)
    problems = publication_problems(version)
    if problems:
        raise DomainError("This version cannot be published yet: " + " ".join(problems))
    version.published_at = utcnow()
    version.published_by_id = actor.id
    audit.record(
        "rubric.publish",
        actor_id=actor.id,
        organization_id=version.rubric.organization_id,
        subject_type="rubric_version",
        subject_id=version.public_id,
        number=version.number,
    )


def describe_pass_rule(version: RubricVersion) -> str:
    """The pass rule in a sentence a worker understands."""
    level = version.pass_level
    if level is None:
        return "No pass rule has been set yet."
    text = f"Every required element must be at “{level.name}” or above"
    if version.min_total_points is not None:
        text += (
            f", and the weighted total must reach {version.min_total_points.normalize():f} "
            f"of {max_total(version).normalize():f} points"
        )
    return text + "."
