"""Writing a parsed CASE package: a new framework (and rubric drafts), or an update of the one
imported before from the same CASE document; all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, update

from portfolio.accounts.models import Organization, User
from portfolio.core import audit
from portfolio.core.errors import DomainError
from portfolio.core.sanitize import clean_text
from portfolio.extensions import db
from portfolio.frameworks.case.package import CasePackage, DuplicateImport, ParsedRubric
from portfolio.frameworks.case.parse import parse_case_package
from portfolio.frameworks.models import (
    Competency,
    CompetencyAssociation,
    Framework,
    Rubric,
    RubricCell,
    RubricElement,
    RubricLevel,
    RubricVersion,
)
from portfolio.frameworks.services import frameworks as framework_services
from portfolio.frameworks.services import rubrics as rubric_services


@dataclass
class ImportResult:
    framework: Framework
    rubrics: list[Rubric]
    updated: bool
    #: What was changed to fit (see `CasePackage.notes`).
    notes: list[str] = field(default_factory=list)


def find_imported_framework(org: Organization, case_identifier: str) -> Framework | None:
    """The framework of `org` imported from the CFDocument with this identifier, if any."""
    return db.session.scalar(
        select(Framework).where(
            Framework.organization_id == org.id, Framework.case_identifier == case_identifier
        )
    )


def import_case_package(
    actor: User,
    org: Organization,
    raw: bytes,
    filename: str,
    *,
    update_existing: bool = False,
    package_url: str = "",
) -> ImportResult:
    """Import (or, when asked, update from) a CASE package. All or nothing.

    Raises `ImportFailed` for an invalid package, `CsvGiven` for a framework CSV and
    `DuplicateImport` when the same CFDocument was imported before and `update_existing` is
    false. The caller commits or rolls back.
    """
    framework_services.require_admin(actor, org)
    pkg = parse_case_package(raw, filename)
    return write_package(
        actor, org, pkg, filename, update_existing=update_existing, package_url=package_url
    )


def write_package(
    actor: User,
    org: Organization,
    pkg: CasePackage,
    filename: str,
    *,
    update_existing: bool = False,
    package_url: str = "",
) -> ImportResult:
    """Write a validated package as a framework (new, or updated in place)."""
    framework_services.require_admin(actor, org)
    framework = find_imported_framework(org, pkg.identifier)
    if framework is not None and not update_existing:
        raise DuplicateImport(framework)
    updated = framework is not None
    if framework is None:
        framework = Framework(organization_id=org.id, case_identifier=pkg.identifier)
        db.session.add(framework)
    framework.title = clean_text(pkg.title, 300)
    framework.version, framework.description = pkg.version, pkg.description
    framework.source_url, framework.case_uri, framework.creator = (
        pkg.source_url,
        pkg.uri,
        pkg.creator,
    )
    framework.case_extra = {"document": pkg.document, "definitions": pkg.definitions}
    if package_url:
        framework.case_package_url = package_url

    db.session.flush()
    # Competencies keep their rows (and so every rubric element and credential alignment that
    # points at them) when an update names them again. New rows and all links are written in
    # bulk: a package of 10,000 items is written in a few statements, not 30,000.
    existing = {c.case_identifier: c for c in framework.competencies}
    wanted = {item.identifier for item in pkg.items}
    stale = [c for ident, c in existing.items() if ident not in wanted]
    if stale:
        try:
            framework_services.refuse_if_in_use({c.id for c in stale}, "competency")
        except DomainError:
            gone = ", ".join(sorted(c.code or c.case_identifier for c in stale)[:10])
            raise DomainError(
                f"The new package no longer has competencies that a published rubric or a "
                f"credential uses ({gone}…); nothing was changed. Remove them from those first."
            ) from None
    ids: dict[str, int] = {}
    new_rows = []
    for item in pkg.items:
        values = {
            "statement": item.statement,
            "code": clean_text(item.code, 255),
            "description": item.notes,
            "item_type": item.item_type,
            "case_uri": item.uri,
            "position": item.position,
            "case_extra": item.raw,
        }
        comp = existing.get(item.identifier)
        if comp is None:
            new_rows.append(
                {"framework_id": framework.id, "case_identifier": item.identifier, **values}
            )
        else:
            for key, value in values.items():
                setattr(comp, key, value)
            ids[item.identifier] = comp.id
    db.session.execute(
        delete(CompetencyAssociation).where(CompetencyAssociation.framework_id == framework.id)
    )
    db.session.flush()
    if new_rows:
        inserted = db.session.execute(
            insert(Competency).returning(
                Competency.id, Competency.case_identifier, sort_by_parameter_order=True
            ),
            new_rows,
        )
        ids.update({ident: row_id for row_id, ident in inserted})
    db.session.execute(
        update(Competency),
        [
            {"id": ids[item.identifier], "parent_id": ids[item.parent] if item.parent else None}
            for item in pkg.items
        ],
    )
    if stale:
        db.session.execute(delete(Competency).where(Competency.id.in_([c.id for c in stale])))
    if pkg.associations:
        db.session.execute(
            insert(CompetencyAssociation),
            [
                {
                    "framework_id": framework.id,
                    "association_type": assoc.kind,
                    "origin_id": ids.get(assoc.origin),
                    "destination_id": ids.get(assoc.destination),
                    "case_identifier": assoc.identifier,
                    "case_data": assoc.data,
                }
                for assoc in pkg.associations
            ],
        )
    db.session.expire(framework, ["competencies", "associations"])
    removed = {id(c) for c in stale}
    for comp in existing.values():
        if id(comp) not in removed:  # the deleted ones have left the session
            db.session.expire(comp, ["parent_id", "parent"])

    rubrics = [_write_rubric(actor, org, framework, parsed, ids) for parsed in pkg.rubrics]
    db.session.flush()
    audit.record(
        "framework.import",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="framework",
        subject_id=framework.public_id,
        file=filename,
        case_identifier=pkg.identifier,
        updated=updated,
        items=len(pkg.items),
        associations=len(pkg.associations),
        rubrics=[r.public_id for r in rubrics],
        notes=pkg.notes,
    )
    return ImportResult(framework=framework, rubrics=rubrics, updated=updated, notes=pkg.notes)


def _write_rubric(
    actor: User,
    org: Organization,
    framework: Framework,
    parsed: ParsedRubric,
    by_ident: dict[str, int],
) -> Rubric:
    rubric = db.session.scalar(
        select(Rubric).where(
            Rubric.organization_id == org.id, Rubric.case_identifier == parsed.identifier
        )
    )
    if rubric is None:
        rubric = Rubric(
            organization_id=org.id,
            case_identifier=parsed.identifier,
            title=clean_text(parsed.title, 300),
            framework=framework,
        )
        db.session.add(rubric)
        version = RubricVersion(number=1, title=rubric.title)
        rubric.versions.append(version)
    else:
        # A published version never changes: the update lands in a (new) draft version.
        version = rubric_services.start_new_version(actor, rubric)
        version.elements.clear()
        version.levels.clear()
        db.session.flush()
    rubric.title, rubric.case_uri = clean_text(parsed.title, 300), parsed.uri
    version.title, version.description = rubric.title, parsed.description
    version.pass_level_position, version.min_total_points = parsed.pass_level, parsed.min_total
    levels = [
        RubricLevel(position=i, name=name, points=points)
        for i, (name, points) in enumerate(parsed.levels)
    ]
    version.levels.extend(levels)
    for pos, crit in enumerate(parsed.criteria):
        element = RubricElement(
            position=pos,
            title=clean_text(crit.title, 300),
            description=crit.description,
            evidence_guidance=crit.guidance,
            is_required=crit.required,
            weight=crit.weight,
            case_identifier=crit.identifier,
            competency_id=by_ident.get(crit.item_identifier) if crit.item_identifier else None,
        )
        for level, (l_id, _, _, descriptor, feedback) in zip(levels, crit.levels, strict=True):
            element.cells.append(
                RubricCell(
                    level=level, descriptor=descriptor, feedback=feedback, case_identifier=l_id
                )
            )
        version.elements.append(element)
    return rubric
