"""1EdTech CASE 1.0 packages: import as a framework (and rubric drafts), export back.

Mapping: CFDocument → Framework, CFItem → Competency (CASE identifier and URI kept),
CFAssociation `isChildOf` → the tree (origin = child, destination = parent item or the document),
CFRubric → Rubric with a draft version, CFRubricCriterion → element, CFRubricCriterionLevel →
level (shared across elements, ordered by score) and cell descriptor.

Fields CASE has no place for (evidence guidance, required flag, pass rule) travel in an
`extensions` object with `portfolio:` keys, so an export imports back unchanged.

An import is all or nothing: the whole package is validated first, every problem is collected
with file, identifier, field and reason, and nothing is written unless there are none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from portfolio.accounts.models import Organization, User
from portfolio.core import audit
from portfolio.core.errors import Conflict, DomainError
from portfolio.core.sanitize import clean_text
from portfolio.extensions import db
from portfolio.frameworks import services
from portfolio.frameworks.models import (
    Competency,
    Framework,
    Rubric,
    RubricCell,
    RubricElement,
    RubricLevel,
    RubricVersion,
)

EXT = "extensions"
EXT_GUIDANCE = "portfolio:evidenceGuidance"
EXT_REQUIRED = "portfolio:required"
EXT_PASS_LEVEL = "portfolio:passLevelPosition"  # noqa: S105 - a JSON key, not a secret
EXT_MIN_TOTAL = "portfolio:minTotalPoints"
MAX_ITEMS = 20_000
MAX_IDENTIFIER = 255


@dataclass(frozen=True)
class ImportProblem:
    """One precise reason an import was refused."""

    file: str
    where: str
    field: str
    reason: str

    def __str__(self) -> str:
        parts = [self.file, self.where]
        if self.field:
            parts.append(f"field “{self.field}”")
        return ": ".join(p for p in parts if p) + f": {self.reason}"


class ImportFailed(DomainError):
    """The package or file has problems; nothing was imported."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"Nothing was imported. {shown}{more}")


class DuplicateImport(Conflict):
    """The package was imported before; the caller may ask for an update instead."""

    def __init__(self, framework: Framework) -> None:
        self.framework = framework
        super().__init__(
            f"This package was imported before as “{framework.title}” (CASE identifier "
            f"{framework.case_identifier}). Choose “update the existing framework” to update it "
            "instead of adding a copy."
        )


@dataclass
class ParsedItem:
    identifier: str
    uri: str
    statement: str
    code: str
    notes: str
    item_type: str
    parent: str | None = None
    position: int = 0


@dataclass
class ParsedCriterion:
    identifier: str
    title: str
    description: str
    weight: Decimal
    position: int
    item_identifier: str | None
    guidance: str
    required: bool
    #: (identifier, quality, score, description, feedback), lowest score first.
    levels: list[tuple[str, str, Decimal, str, str]] = field(default_factory=list)


@dataclass
class ParsedRubric:
    identifier: str
    uri: str
    title: str
    description: str
    criteria: list[ParsedCriterion]
    levels: list[tuple[str, Decimal]]
    pass_level: int | None
    min_total: Decimal | None


@dataclass
class CasePackage:
    """A validated CASE package, ready to write."""

    identifier: str
    uri: str
    title: str
    version: str
    description: str
    source_url: str
    creator: str
    items: list[ParsedItem]
    rubrics: list[ParsedRubric]


class _Checker:
    """Collects problems while reading untrusted JSON."""

    def __init__(self, filename: str) -> None:
        self.file = filename
        self.problems: list[ImportProblem] = []

    def add(self, where: str, fld: str, reason: str) -> None:
        self.problems.append(ImportProblem(self.file, where, fld, reason))

    def string(
        self,
        obj: dict[str, Any],
        key: str,
        where: str,
        *,
        required: bool = False,
        max_length: int | None = None,
    ) -> str:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                self.add(where, key, "is missing")
            return ""
        if not isinstance(value, str):
            self.add(where, key, f"must be a string, not {_type_name(value)}")
            return ""
        if max_length is not None and len(value) > max_length:
            self.add(where, key, f"is longer than {max_length} characters")
            return ""
        return value

    def number(
        self, obj: dict[str, Any], key: str, where: str, default: Decimal | None
    ) -> Decimal | None:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.add(where, key, f"must be a number, not {_type_name(value)}")
            return default
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.add(where, key, f"must be a number, not {value!r}")
            return default
        if not number.is_finite():
            self.add(where, key, "must be a finite number")
            return default
        return number

    def integer(self, obj: dict[str, Any], key: str, where: str, default: int) -> int:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(where, key, f"must be a whole number, not {_type_name(value)}")
            return default
        return value

    def obj_list(
        self, obj: dict[str, Any], key: str, where: str, required: bool = False
    ) -> list[dict[str, Any]]:
        value = obj.get(key)
        if value is None:
            if required:
                self.add(where, key, "is missing")
            return []
        if not isinstance(value, list):
            self.add(where, key, f"must be a list, not {_type_name(value)}")
            return []
        good = []
        for i, entry in enumerate(value):
            if isinstance(entry, dict):
                good.append(entry)
            else:
                self.add(f"{key}[{i}]", "", f"must be an object, not {_type_name(entry)}")
        return good

    def node_ref(self, obj: dict[str, Any], key: str, where: str) -> str | None:
        value = obj.get(key)
        if value is None:
            self.add(where, key, "is missing")
            return None
        if not isinstance(value, dict):
            self.add(where, key, f"must be an object with an identifier, not {_type_name(value)}")
            return None
        ident = self.string(
            value, "identifier", where + f" {key}", required=True, max_length=MAX_IDENTIFIER
        )
        return ident or None


def _type_name(value: object) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _where(kind: str, index: int, identifier: str) -> str:
    return f"{kind}[{index}] {identifier}" if identifier else f"{kind}[{index}] (no identifier)"


def parse_case_package(raw: bytes, filename: str) -> CasePackage:
    """Validate a CASE JSON package completely; raise `ImportFailed` listing every problem."""
    check = _Checker(filename)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportFailed([ImportProblem(filename, "", "", "is not UTF-8 text")]) from None
    except json.JSONDecodeError as exc:
        raise ImportFailed(
            [
                ImportProblem(
                    filename,
                    f"line {exc.lineno} column {exc.colno}",
                    "",
                    f"is not valid JSON ({exc.msg})",
                )
            ]
        ) from None
    if not isinstance(data, dict):
        raise ImportFailed(
            [ImportProblem(filename, "", "", "must be a JSON object with a CFDocument")]
        )
    doc = data.get("CFDocument")
    if not isinstance(doc, dict):
        check.add(
            "package",
            "CFDocument",
            "is missing" if doc is None else f"must be an object, not {_type_name(doc)}",
        )
        raise ImportFailed(check.problems)
    doc_id = check.string(doc, "identifier", "CFDocument", required=True, max_length=MAX_IDENTIFIER)
    where_doc = f"CFDocument {doc_id}".strip()
    title = check.string(doc, "title", where_doc, required=True)
    pkg = CasePackage(
        identifier=doc_id,
        uri=check.string(doc, "uri", where_doc, max_length=1000),
        title=title,
        version=check.string(doc, "version", where_doc, max_length=60),
        description=check.string(doc, "description", where_doc),
        source_url=check.string(doc, "officialSourceURL", where_doc, max_length=1000),
        creator=check.string(doc, "creator", where_doc, max_length=300),
        items=[],
        rubrics=[],
    )

    raw_items = check.obj_list(data, "CFItems", "package")
    if len(raw_items) > MAX_ITEMS:
        check.add("package", "CFItems", f"has more than {MAX_ITEMS} items")
        raise ImportFailed(check.problems)
    items: dict[str, ParsedItem] = {}
    for i, it in enumerate(raw_items):
        ident = check.string(
            it, "identifier", f"CFItems[{i}]", required=True, max_length=MAX_IDENTIFIER
        )
        where = _where("CFItems", i, ident)
        statement = check.string(it, "fullStatement", where, required=True)
        item = ParsedItem(
            identifier=ident,
            uri=check.string(it, "uri", where, max_length=1000),
            statement=statement,
            code=check.string(it, "humanCodingScheme", where, max_length=60),
            notes=check.string(it, "notes", where),
            item_type=check.string(it, "CFItemType", where, max_length=100),
        )
        if not ident:
            continue
        if ident == doc_id:
            check.add(where, "identifier", "is the same as the CFDocument's identifier")
        elif ident in items:
            check.add(where, "identifier", "is used by more than one CFItem")
        else:
            items[ident] = item

    placed: set[str] = set()
    for i, assoc in enumerate(check.obj_list(data, "CFAssociations", "package")):
        ident = check.string(
            assoc, "identifier", f"CFAssociations[{i}]", required=True, max_length=MAX_IDENTIFIER
        )
        where = _where("CFAssociations", i, ident)
        kind = check.string(assoc, "associationType", where, required=True)
        if kind != "isChildOf":
            continue  # other relations (exactMatchOf, precedes...) do not shape the tree
        child = check.node_ref(assoc, "originNodeURI", where)
        parent = check.node_ref(assoc, "destinationNodeURI", where)
        seq = check.integer(assoc, "sequenceNumber", where, 0)
        if child is None or parent is None:
            continue
        if child not in items:
            check.add(
                where, "originNodeURI", f"points at {child}, which is not a CFItem of this package"
            )
            continue
        if parent != doc_id and parent not in items:
            check.add(
                where,
                "destinationNodeURI",
                f"points at {parent}, which is neither the CFDocument nor a CFItem of this package",
            )
            continue
        if child == parent:
            check.add(where, "destinationNodeURI", f"makes {child} a child of itself")
            continue
        item = items[child]
        parent_id = None if parent == doc_id else parent
        if child in placed:
            if item.parent != parent_id:
                check.add(
                    where,
                    "originNodeURI",
                    f"gives {child} a second parent ({parent}); competencies form a tree, "
                    "so each item may have only one isChildOf parent",
                )
            continue
        item.parent, item.position = parent_id, seq
        placed.add(child)

    # Cycles: walk up from every item, but never twice over the same node (linear in the
    # number of items, however deep the tree): a walk stops at a node an earlier walk cleared,
    # and one that meets a node of its own path has found a loop.
    cleared: set[str] = set()
    for ident in items:
        path: dict[str, int] = {}  # node → its position on this walk (dict: O(1) lookups)
        node: str | None = ident
        while node is not None and node not in cleared and node not in path:
            path[node] = len(path)
            node = items[node].parent
        if node is not None and node in path:
            loop = list(path)[path[node] :]
            check.add(
                f"CFItem {node}",
                "CFAssociations",
                "isChildOf associations form a cycle: " + " → ".join([*loop[:20], node]),
            )
        cleared.update(path)
    pkg.items = list(items.values())

    for r_index, raw_rubric in enumerate(check.obj_list(data, "CFRubrics", "package")):
        parsed = _parse_rubric(check, raw_rubric, r_index, items)
        if parsed is not None:
            pkg.rubrics.append(parsed)
    seen_rubrics: set[str] = set()
    for rub in pkg.rubrics:
        if rub.identifier in seen_rubrics:
            check.add(
                f"CFRubric {rub.identifier}", "identifier", "is used by more than one CFRubric"
            )
        seen_rubrics.add(rub.identifier)
    if check.problems:
        raise ImportFailed(check.problems)
    return pkg


def _parse_rubric(
    check: _Checker, rub: dict[str, Any], r_index: int, items: dict[str, ParsedItem]
) -> ParsedRubric | None:
    ident = check.string(
        rub, "identifier", f"CFRubrics[{r_index}]", required=True, max_length=MAX_IDENTIFIER
    )
    where = _where("CFRubrics", r_index, ident)
    title = check.string(rub, "title", where, required=True)
    ext: dict[str, Any] = rub[EXT] if isinstance(rub.get(EXT), dict) else {}
    criteria: list[ParsedCriterion] = []
    raw_criteria = check.obj_list(rub, "CFRubricCriteria", where, required=True)
    if not raw_criteria and "CFRubricCriteria" in rub and isinstance(rub["CFRubricCriteria"], list):
        check.add(where, "CFRubricCriteria", "is empty; a rubric needs at least one criterion")
    for c_index, crit in enumerate(raw_criteria):
        c_id = check.string(
            crit,
            "identifier",
            f"{where} CFRubricCriteria[{c_index}]",
            required=True,
            max_length=MAX_IDENTIFIER,
        )
        c_where = f"CFRubricCriterion {c_id}" if c_id else f"{where} CFRubricCriteria[{c_index}]"
        category = check.string(crit, "category", c_where, max_length=300)
        description = check.string(crit, "description", c_where)
        if not category and not description:
            check.add(
                c_where,
                "category",
                "is missing (an element needs a title: give category or description)",
            )
        item_id = None
        if crit.get("CFItemURI") is not None:
            item_id = check.node_ref(crit, "CFItemURI", c_where)
            if item_id is not None and item_id not in items:
                check.add(
                    c_where,
                    "CFItemURI",
                    f"points at {item_id}, which is not a CFItem of this package",
                )
        c_ext: dict[str, Any] = crit[EXT] if isinstance(crit.get(EXT), dict) else {}
        required = c_ext.get(EXT_REQUIRED, True)
        if not isinstance(required, bool):
            check.add(c_where, f"{EXT}.{EXT_REQUIRED}", "must be true or false")
            required = True
        guidance = c_ext.get(EXT_GUIDANCE, "")
        if not isinstance(guidance, str):
            check.add(c_where, f"{EXT}.{EXT_GUIDANCE}", "must be a string")
            guidance = ""
        weight = check.number(crit, "weight", c_where, Decimal(1)) or Decimal(1)
        if weight < 0:
            check.add(c_where, "weight", "cannot be negative")
        criterion = ParsedCriterion(
            identifier=c_id,
            title=category or description.split("\n", 1)[0][:300],
            description=description if category else "",
            weight=weight,
            position=check.integer(crit, "position", c_where, c_index),
            item_identifier=item_id,
            guidance=guidance,
            required=required,
        )
        raw_levels = check.obj_list(crit, "CFRubricCriterionLevels", c_where, required=True)
        if not raw_levels and isinstance(crit.get("CFRubricCriterionLevels"), list):
            check.add(c_where, "CFRubricCriterionLevels", "is empty")
        staged = []
        for l_index, lv in enumerate(raw_levels):
            l_id = check.string(
                lv,
                "identifier",
                f"{c_where} CFRubricCriterionLevels[{l_index}]",
                required=True,
                max_length=MAX_IDENTIFIER,
            )
            l_where = (
                f"CFRubricCriterionLevel {l_id}"
                if l_id
                else f"{c_where} CFRubricCriterionLevels[{l_index}]"
            )
            quality = check.string(lv, "quality", l_where, required=True, max_length=120)
            score = check.number(lv, "score", l_where, None)
            if score is None and "score" not in lv:
                score = Decimal(check.integer(lv, "position", l_where, l_index))
            staged.append(
                (
                    score if score is not None else Decimal(0),
                    check.integer(lv, "position", l_where, l_index),
                    (
                        l_id,
                        quality,
                        score or Decimal(0),
                        check.string(lv, "description", l_where),
                        check.string(lv, "feedback", l_where),
                    ),
                )
            )
        staged.sort(key=lambda s: (s[0], s[1]))
        criterion.levels = [s[2] for s in staged]
        criteria.append(criterion)
    criteria.sort(key=lambda c: c.position)

    # Our rubrics share one set of levels across elements: every criterion must agree.
    levels: list[tuple[str, Decimal]] = []
    if criteria:
        levels = [(q, s) for _, q, s, _, _ in criteria[0].levels]
        for crit_p in criteria[1:]:
            mine = [(q, s) for _, q, s, _, _ in crit_p.levels]
            if mine != levels:
                check.add(
                    f"CFRubricCriterion {crit_p.identifier}",
                    "CFRubricCriterionLevels",
                    "has levels " + _describe_levels(mine) + " but the first criterion "
                    "has " + _describe_levels(levels) + "; every criterion of a rubric "
                    "must use the same levels",
                )
    names = [q for q, _ in levels]
    if len(set(names)) != len(names):
        check.add(where, "CFRubricCriterionLevels", "two levels have the same quality name")
    pass_level = ext.get(EXT_PASS_LEVEL, len(levels) // 2 if levels else None)
    if pass_level is not None and (
        isinstance(pass_level, bool)
        or not isinstance(pass_level, int)
        or not 0 <= pass_level < max(len(levels), 1)
    ):
        check.add(where, f"{EXT}.{EXT_PASS_LEVEL}", "must be the position of one of the levels")
        pass_level = None
    min_total = check.number(ext, EXT_MIN_TOTAL, f"{where} {EXT}", None)
    return ParsedRubric(
        identifier=ident,
        uri=check.string(rub, "uri", where, max_length=1000),
        title=title,
        description=check.string(rub, "description", where),
        criteria=criteria,
        levels=levels,
        pass_level=pass_level,
        min_total=min_total,
    )


def _describe_levels(levels: list[tuple[str, Decimal]]) -> str:
    return "(" + ", ".join(f"{q} = {s.normalize():f}" for q, s in levels) + ")"


# -- writing -----------------------------------------------------------------------------------
@dataclass
class ImportResult:
    framework: Framework
    rubrics: list[Rubric]
    updated: bool


def find_imported_framework(org: Organization, case_identifier: str) -> Framework | None:
    """The framework of `org` imported from the CFDocument with this identifier, if any."""
    return db.session.scalar(
        select(Framework).where(
            Framework.organization_id == org.id, Framework.case_identifier == case_identifier
        )
    )


def import_case_package(
    actor: User, org: Organization, raw: bytes, filename: str, *, update_existing: bool = False
) -> ImportResult:
    """Import (or, when asked, update from) a CASE package. All or nothing.

    Raises `ImportFailed` for an invalid package and `DuplicateImport` when the same CFDocument
    was imported before and `update_existing` is false. The caller commits or rolls back.
    """
    services.require_admin(actor, org)
    pkg = parse_case_package(raw, filename)
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

    existing = {c.case_identifier: c for c in framework.competencies}
    by_ident: dict[str, Competency] = {}
    for item in pkg.items:
        comp = existing.pop(item.identifier, None)
        if comp is None:
            comp = Competency(case_identifier=item.identifier, statement=item.statement)
            framework.competencies.append(comp)
        comp.statement, comp.code = item.statement, clean_text(item.code, 60)
        comp.description, comp.item_type, comp.case_uri = item.notes, item.item_type, item.uri
        comp.position = item.position
        by_ident[item.identifier] = comp
    for stale in existing.values():
        framework.competencies.remove(stale)
    db.session.flush()
    for item in pkg.items:
        by_ident[item.identifier].parent_id = (
            by_ident[item.parent].id if item.parent is not None else None
        )
    db.session.flush()

    rubrics = [_write_rubric(actor, org, framework, parsed, by_ident) for parsed in pkg.rubrics]
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
        rubrics=[r.public_id for r in rubrics],
    )
    return ImportResult(framework=framework, rubrics=rubrics, updated=updated)


def _write_rubric(
    actor: User,
    org: Organization,
    framework: Framework,
    parsed: ParsedRubric,
    by_ident: dict[str, Competency],
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
        version = services.start_new_version(actor, rubric)
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
            competency=by_ident.get(crit.item_identifier) if crit.item_identifier else None,
        )
        for level, (l_id, _, _, descriptor, feedback) in zip(levels, crit.levels, strict=True):
            element.cells.append(
                RubricCell(
                    level=level, descriptor=descriptor, feedback=feedback, case_identifier=l_id
                )
            )
        version.elements.append(element)
    return rubric


# -- export --------------------------------------------------------------------------------------
def _uri(stored: str, identifier: str) -> str:
    return stored or f"urn:uuid:{identifier}"


def _stamp(value: object) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00") if value is not None else ""  # type: ignore[attr-defined]


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def export_case_package(
    framework: Framework, rubrics: list[Rubric] | None = None
) -> dict[str, Any]:
    """The framework (and its rubrics' latest versions) as a CASE 1.0 package."""
    doc_uri = _uri(framework.case_uri, framework.case_identifier)
    changed = _stamp(framework.updated_at)
    doc_ref = {"title": framework.title, "identifier": framework.case_identifier, "uri": doc_uri}
    document = {
        "identifier": framework.case_identifier,
        "uri": doc_uri,
        "creator": framework.creator or "Portfolio",
        "title": framework.title,
        "lastChangeDateTime": changed,
        "version": framework.version,
        "description": framework.description,
        "officialSourceURL": framework.source_url,
        "language": "en",
    }
    tree = services.competency_tree(framework)
    items, associations = [], []
    siblings: dict[int | None, int] = {}
    for comp, _depth in tree:
        uri = _uri(comp.case_uri, comp.case_identifier)
        item: dict[str, Any] = {
            "identifier": comp.case_identifier,
            "uri": uri,
            "fullStatement": comp.statement,
            "lastChangeDateTime": _stamp(comp.created_at),
            "CFDocumentURI": doc_ref,
        }
        if comp.code:
            item["humanCodingScheme"] = comp.code
        if comp.description:
            item["notes"] = comp.description
        if comp.item_type:
            item["CFItemType"] = comp.item_type
        items.append(item)
        siblings[comp.parent_id] = siblings.get(comp.parent_id, 0) + 1
        parent = comp.parent
        destination = (
            doc_ref
            if parent is None
            else {
                "title": parent.statement[:100],
                "identifier": parent.case_identifier,
                "uri": _uri(parent.case_uri, parent.case_identifier),
            }
        )
        associations.append(
            {
                "identifier": _derived_id(comp.case_identifier, "isChildOf"),
                "uri": f"urn:uuid:{_derived_id(comp.case_identifier, 'isChildOf')}",
                "associationType": "isChildOf",
                "sequenceNumber": siblings[comp.parent_id],
                "lastChangeDateTime": _stamp(comp.created_at),
                "originNodeURI": {
                    "title": comp.statement[:100],
                    "identifier": comp.case_identifier,
                    "uri": uri,
                },
                "destinationNodeURI": destination,
                "CFDocumentURI": doc_ref,
            }
        )
    package: dict[str, Any] = {
        "CFDocument": document,
        "CFItems": items,
        "CFAssociations": associations,
    }
    if rubrics is None:
        rubrics = list(
            db.session.scalars(
                select(Rubric).where(Rubric.framework_id == framework.id).order_by(Rubric.title)
            )
        )
    if rubrics:
        package["CFRubrics"] = [export_rubric(r.latest, r) for r in rubrics]
    return package


def export_rubric(version: RubricVersion, rubric: Rubric) -> dict[str, Any]:
    """One rubric version as a CFRubric."""
    ext: dict[str, Any] = {EXT_PASS_LEVEL: version.pass_level_position}
    if version.min_total_points is not None:
        ext[EXT_MIN_TOTAL] = _num(version.min_total_points)
    criteria = []
    for el in version.elements:
        levels = []
        for lv in version.levels:
            cell = version.cell(el, lv)
            l_id = cell.case_identifier if cell else _derived_id(el.case_identifier, lv.name)
            levels.append(
                {
                    "identifier": l_id,
                    "uri": f"urn:uuid:{l_id}",
                    "description": cell.descriptor if cell else "",
                    "quality": lv.name,
                    "score": _num(lv.points),
                    "feedback": cell.feedback if cell else "",
                    "position": lv.position + 1,
                    "rubricCriterionId": el.case_identifier,
                    "lastChangeDateTime": _stamp(version.created_at),
                }
            )
        crit: dict[str, Any] = {
            "identifier": el.case_identifier,
            "uri": f"urn:uuid:{el.case_identifier}",
            "category": el.title,
            "description": el.description,
            "weight": _num(el.weight),
            "position": el.position + 1,
            "rubricId": rubric.case_identifier,
            "lastChangeDateTime": _stamp(version.created_at),
            "CFRubricCriterionLevels": levels,
            EXT: {EXT_GUIDANCE: el.evidence_guidance, EXT_REQUIRED: el.is_required},
        }
        if el.competency is not None:
            comp = el.competency
            crit["CFItemURI"] = {
                "title": comp.statement[:100],
                "identifier": comp.case_identifier,
                "uri": _uri(comp.case_uri, comp.case_identifier),
            }
        criteria.append(crit)
    return {
        "identifier": rubric.case_identifier,
        "uri": _uri(rubric.case_uri, rubric.case_identifier),
        "title": version.title,
        "description": version.description,
        "lastChangeDateTime": _stamp(version.created_at),
        "CFRubricCriteria": criteria,
        EXT: ext,
    }


def _derived_id(base: str, salt: str) -> str:
    """A stable UUID derived from another identifier (same input, same id on every export)."""
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/{salt}"))
