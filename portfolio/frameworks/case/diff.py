"""What an update from a framework's CASE source would change, for the admin to see before
applying it."""

from __future__ import annotations

from dataclasses import dataclass, field

from portfolio.core.sanitize import clean_text
from portfolio.frameworks.case.package import CasePackage, ParsedAssociation, ParsedItem
from portfolio.frameworks.models import Competency, CompetencyAssociation, Framework


@dataclass
class PackageDiff:
    """What an update would change in a framework, for the admin to see before applying."""

    document: list[tuple[str, str, str]] = field(default_factory=list)
    added: list[ParsedItem] = field(default_factory=list)
    removed: list[Competency] = field(default_factory=list)
    #: (competency, names of the fields that change)
    changed: list[tuple[Competency, list[str]]] = field(default_factory=list)
    associations_added: list[ParsedAssociation] = field(default_factory=list)
    associations_removed: list[CompetencyAssociation] = field(default_factory=list)
    rubrics: int = 0

    @property
    def is_empty(self) -> bool:
        return not (
            self.document
            or self.added
            or self.removed
            or self.changed
            or self.associations_added
            or self.associations_removed
        )


def diff_package(framework: Framework, pkg: CasePackage) -> PackageDiff:
    """Compare a fetched package with the framework as it is."""
    diff = PackageDiff(rubrics=len(pkg.rubrics))
    for label, old, new in (
        ("title", framework.title, clean_text(pkg.title, 300)),
        ("version", framework.version, pkg.version),
        ("description", framework.description, pkg.description),
        ("official source", framework.source_url, pkg.source_url),
        ("creator", framework.creator, pkg.creator),
    ):
        if old != new:
            diff.document.append((label, old, new))
    current = {c.case_identifier: c for c in framework.competencies}
    by_id = {c.id: c for c in framework.competencies}
    for item in pkg.items:
        comp = current.pop(item.identifier, None)
        if comp is None:
            diff.added.append(item)
            continue
        fields = []
        if comp.statement != item.statement:
            fields.append("statement")
        if comp.code != clean_text(item.code, 255):
            fields.append("code")
        if comp.description != item.notes:
            fields.append("notes")
        if comp.item_type != item.item_type:
            fields.append("type")
        if comp.position != item.position:
            fields.append("order")
        parent = by_id.get(comp.parent_id) if comp.parent_id else None
        if (parent.case_identifier if parent else None) != item.parent:
            fields.append("parent")
        others = sorted(
            k
            for k in set(comp.case_extra or {}) | set(item.raw)
            if k not in {"identifier", "fullStatement", "humanCodingScheme", "notes", "CFItemType"}
            and (comp.case_extra is not None or k != "uri")
            and (comp.case_extra or {}).get(k) != item.raw.get(k)
        )
        fields.extend(others)
        if fields:
            diff.changed.append((comp, fields))
    diff.removed = list(current.values())
    old_assocs = {a.case_identifier: a for a in framework.associations}
    for assoc in pkg.associations:
        row = old_assocs.pop(assoc.identifier, None)
        if row is None or row.case_data != assoc.data:
            diff.associations_added.append(assoc)
            if row is not None:
                diff.associations_removed.append(row)
    diff.associations_removed.extend(old_assocs.values())
    return diff
