"""1EdTech CASE 1.0 packages: import as a framework (and rubric drafts), export back.

Mapping: CFDocument → Framework, CFItem → Competency, CFAssociation (every type) →
CompetencyAssociation, CFRubric → Rubric with a draft version, CFRubricCriterion → element,
CFRubricCriterionLevel → level (one set per rubric, ordered by score) and cell descriptor.

Lossless: the CFDocument, every CFItem, every CFAssociation (also those pointing at items outside
the package, kept by their node reference) and CFDefinitions are stored as imported next to the
columns, so import → export → import gives the same package. The first `isChildOf` of an item to
the document or another item of the package places it in the tree (`parent_id`); further
`isChildOf` associations list it under more parents. Only `isChildOf` must stay inside the
package and free of cycles.

Valid CASE 1.0 out: identifiers that are not UUIDs (ASN purl URLs, for instance) are exported as
UUIDs derived from them, with the original in an `extensions` object of the CFDocument, CFItem or
CFAssociation (the CASE 1.0 schema allows further properties there and nowhere else); an import
puts the original back. What CASE has no place for in a CFRubric (evidence guidance, required
flag, pass rule) travels in the CFDocument's `extensions` under `portfolio:rubrics`.

An import is all or nothing: the whole package is validated first, every problem is collected
with file, identifier, field and reason, and nothing is written unless there are none.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, insert, select, update

from portfolio.accounts.models import Organization, User
from portfolio.core import audit
from portfolio.core.errors import Conflict, DomainError
from portfolio.core.sanitize import clean_text
from portfolio.extensions import db
from portfolio.frameworks import services
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

EXT = "extensions"
EXT_GUIDANCE = "portfolio:evidenceGuidance"
EXT_REQUIRED = "portfolio:required"
EXT_PASS_LEVEL = "portfolio:passLevelPosition"  # noqa: S105 - a JSON key, not a secret
EXT_MIN_TOTAL = "portfolio:minTotalPoints"
#: The original identifier of an object whose identifier is not a UUID.
EXT_IDENTIFIER = "portfolio:identifier"
#: Per rubric (by exported identifier): what a CFRubric has no place for.
EXT_RUBRICS = "portfolio:rubrics"
MAX_ITEMS = 20_000
MAX_ASSOCIATIONS = 200_000
MAX_IDENTIFIER = 255
ASSOCIATION_TYPES = (
    "isChildOf",
    "isPeerOf",
    "isPartOf",
    "exactMatchOf",
    "precedes",
    "isRelatedTo",
    "replacedBy",
    "exemplar",
    "hasSkillLevel",
)
#: CFItem fields that have a column; everything else is kept in `Competency.case_extra`.
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", re.IGNORECASE)
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")


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
    #: The CFItem as given (without our own extension keys).
    raw: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    position: int = 0


@dataclass
class ParsedAssociation:
    identifier: str
    kind: str
    origin: str
    destination: str
    #: The CFAssociation, normalized: node references as {title, identifier, uri},
    #: sequenceNumber as a number.
    data: dict[str, Any]


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
    associations: list[ParsedAssociation] = field(default_factory=list)
    #: The CFDocument as given (without our own extension keys).
    document: dict[str, Any] = field(default_factory=dict)
    definitions: dict[str, Any] | None = None
    #: What the import changed to fit (rubric levels mapped, associations left out), for the admin.
    notes: list[str] = field(default_factory=list)


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
        # Real packages give sequence numbers and positions as numeric strings ("1"), and
        # sometimes as 1.0: both are read as the whole number they spell.
        if isinstance(value, str) and _INTEGER.match(value):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
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

    def node(self, obj: dict[str, Any], key: str, where: str) -> dict[str, str] | None:
        """A node reference as {title, identifier, uri} (what CASE's LinkGenURI allows)."""
        ident = self.node_ref(obj, key, where)
        if ident is None:
            return None
        value = obj[key]
        title = value.get("title")
        uri = self.string(value, "uri", where + f" {key}", max_length=1000)
        return {
            "title": title if isinstance(title, str) else "",
            "identifier": ident,
            "uri": uri or default_uri(ident),
        }


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


def is_uuid(value: str) -> bool:
    """What the CASE 1.0 schema accepts as an identifier (its pattern is not anchored)."""
    return bool(_UUID.search(value))


def as_uuid(identifier: str) -> str:
    """The identifier itself when CASE accepts it, else a stable UUID derived from it."""
    return identifier if is_uuid(identifier) else _derived_id(identifier, "identifier")


def default_uri(identifier: str) -> str:
    """A URI for an object that came without one: the identifier when it is a URI already."""
    if re.match(r"^[a-z][a-z0-9+.-]*:\S+$", identifier, re.IGNORECASE):
        return identifier
    return f"urn:uuid:{as_uuid(identifier)}"


def _own_identifier(obj: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Take our extension keys out of an object; return it and the original identifier."""
    ext = obj.get(EXT)
    if not isinstance(ext, dict) or not any(k.startswith("portfolio:") for k in ext):
        return obj, None
    original = ext.get(EXT_IDENTIFIER)
    rest = {k: v for k, v in ext.items() if not k.startswith("portfolio:")}
    obj = {k: v for k, v in obj.items() if k != EXT}
    if rest:
        obj[EXT] = rest
    return obj, original if isinstance(original, str) and original else None


def _restore_identifier(obj: dict[str, Any]) -> dict[str, Any]:
    obj, original = _own_identifier(obj)
    if original is not None:
        obj = {**obj, "identifier": original}
    return obj


def parse_case_package(raw: bytes, filename: str) -> CasePackage:
    """Validate a CASE JSON package completely; raise `ImportFailed` listing every problem."""
    check = _Checker(filename)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed([ImportProblem(filename, "", "", "is not UTF-8 text")]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if looks_like_framework_csv(text):
            raise CsvGiven() from None
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
    return parse_case_data(data, filename, check)


def parse_case_data(
    data: dict[str, Any], filename: str, check: _Checker | None = None
) -> CasePackage:
    """Validate a decoded CASE package (see `parse_case_package`)."""
    check = check or _Checker(filename)
    doc = data.get("CFDocument")
    if not isinstance(doc, dict):
        check.add(
            "package",
            "CFDocument",
            "is missing" if doc is None else f"must be an object, not {_type_name(doc)}",
        )
        raise ImportFailed(check.problems)
    doc = _restore_identifier(doc)
    doc_id = check.string(doc, "identifier", "CFDocument", required=True, max_length=MAX_IDENTIFIER)
    where_doc = f"CFDocument {doc_id}".strip()
    title = check.string(doc, "title", where_doc, required=True)
    rubric_ext: dict[str, Any] = {}
    raw_ext = data["CFDocument"].get(EXT)
    if isinstance(raw_ext, dict) and isinstance(raw_ext.get(EXT_RUBRICS), dict):
        rubric_ext = raw_ext[EXT_RUBRICS]
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
        document=doc,
    )
    definitions = data.get("CFDefinitions")
    if isinstance(definitions, dict):
        pkg.definitions = definitions
    elif definitions is not None and definitions != []:
        check.add("package", "CFDefinitions", f"must be an object, not {_type_name(definitions)}")

    raw_items = check.obj_list(data, "CFItems", "package")
    if len(raw_items) > MAX_ITEMS:
        check.add("package", "CFItems", f"has more than {MAX_ITEMS} items")
        raise ImportFailed(check.problems)
    items: dict[str, ParsedItem] = {}
    #: Exported (derived) identifier → original, for references that must be UUIDs.
    alias: dict[str, str] = {}
    for i, it in enumerate(raw_items):
        it, original = _own_identifier(it)
        if original is not None:
            if isinstance(it.get("identifier"), str):
                alias[it["identifier"]] = original
            it = {**it, "identifier": original}
        ident = check.string(
            it, "identifier", f"CFItems[{i}]", required=True, max_length=MAX_IDENTIFIER
        )
        where = _where("CFItems", i, ident)
        statement = check.string(it, "fullStatement", where, required=True)
        item = ParsedItem(
            identifier=ident,
            uri=check.string(it, "uri", where, max_length=1000),
            statement=statement,
            code=check.string(it, "humanCodingScheme", where, max_length=255),
            notes=check.string(it, "notes", where),
            item_type=check.string(it, "CFItemType", where, max_length=100),
            # The document reference is made anew on export (it names this framework).
            raw={k: v for k, v in it.items() if k != "CFDocumentURI"},
        )
        if not ident:
            continue
        if ident == doc_id:
            check.add(where, "identifier", "is the same as the CFDocument's identifier")
        elif ident in items:
            # The same item twice, word for word, happens in published packages: keep one.
            if items[ident].raw != item.raw:
                check.add(where, "identifier", "is used by more than one CFItem")
        else:
            items[ident] = item

    raw_assocs = check.obj_list(data, "CFAssociations", "package")
    if len(raw_assocs) > MAX_ASSOCIATIONS:
        check.add("package", "CFAssociations", f"has more than {MAX_ASSOCIATIONS} associations")
        raise ImportFailed(check.problems)
    seen_assocs: dict[str, dict[str, Any]] = {}
    #: isChildOf edges inside the package: child → parents (items only), in file order.
    parents: dict[str, list[str]] = {}
    for i, assoc in enumerate(raw_assocs):
        assoc = _restore_identifier(assoc)
        ident = check.string(
            assoc, "identifier", f"CFAssociations[{i}]", required=True, max_length=MAX_IDENTIFIER
        )
        where = _where("CFAssociations", i, ident)
        kind = check.string(assoc, "associationType", where, required=True)
        origin = check.node(assoc, "originNodeURI", where)
        destination = check.node(assoc, "destinationNodeURI", where)
        seq: int | None = None
        if assoc.get("sequenceNumber") is not None:
            seq = check.integer(assoc, "sequenceNumber", where, 0)
        if not ident or not kind or origin is None or destination is None:
            continue
        if kind not in ASSOCIATION_TYPES:
            check.add(
                where,
                "associationType",
                f"“{kind}” is not a CASE 1.0 association type (one of "
                + ", ".join(ASSOCIATION_TYPES)
                + ")",
            )
            continue
        normalized = {
            **{k: v for k, v in assoc.items() if k != "CFDocumentURI"},
            "originNodeURI": origin,
            "destinationNodeURI": destination,
        }
        if seq is not None:
            normalized["sequenceNumber"] = seq
        if ident in seen_assocs:
            if seen_assocs[ident] != normalized:
                check.add(where, "identifier", "is used by more than one CFAssociation")
            continue
        seen_assocs[ident] = normalized
        child, parent = origin["identifier"], destination["identifier"]
        if kind == "isChildOf":
            if child not in items:
                check.add(
                    where,
                    "originNodeURI",
                    f"points at {child}, which is not a CFItem of this package",
                )
                continue
            if parent != doc_id and parent not in items:
                check.add(
                    where,
                    "destinationNodeURI",
                    f"points at {parent}, which is neither the CFDocument nor a CFItem of this "
                    "package",
                )
                continue
            if child == parent:
                check.add(where, "destinationNodeURI", f"makes {child} a child of itself")
                continue
            item = items[child]
            if child not in parents:
                parents[child] = []
                item.parent = None if parent == doc_id else parent
                item.position = seq or 0
            if parent != doc_id:
                parents[child].append(parent)
        pkg.associations.append(
            ParsedAssociation(
                identifier=ident, kind=kind, origin=child, destination=parent, data=normalized
            )
        )

    for loop in find_cycles(parents):
        check.add(
            f"CFItem {loop[0]}",
            "CFAssociations",
            "isChildOf associations form a cycle: " + " → ".join([*loop, loop[0]]),
        )
    pkg.items = list(items.values())

    for r_index, raw_rubric in enumerate(check.obj_list(data, "CFRubrics", "package")):
        parsed = _parse_rubric(check, raw_rubric, r_index, items, alias, rubric_ext, pkg.notes)
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


def find_cycles(parents: dict[str, list[str]]) -> list[list[str]]:
    """Each loop of child → parent edges once, in linear time (an iterative depth-first walk,
    so a chain thousands of levels deep needs no recursion)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    loops: list[list[str]] = []
    for start in parents:
        if state.get(start):
            continue
        path: list[str] = [start]
        position = {start: 0}
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            node, index = stack[-1]
            ups = parents.get(node, [])
            if index < len(ups):
                stack[-1] = (node, index + 1)
                nxt = ups[index]
                mark = state.get(nxt)
                if mark == 1:
                    loops.append(path[position[nxt] :])
                elif not mark:
                    state[nxt] = 1
                    position[nxt] = len(path)
                    path.append(nxt)
                    stack.append((nxt, 0))
            else:
                stack.pop()
                state[node] = 2
                path.pop()
                position.pop(node, None)
    return loops


def _parse_rubric(
    check: _Checker,
    rub: dict[str, Any],
    r_index: int,
    items: dict[str, ParsedItem],
    alias: dict[str, str],
    rubric_ext: dict[str, Any],
    notes: list[str],
) -> ParsedRubric | None:
    ident = check.string(
        rub, "identifier", f"CFRubrics[{r_index}]", required=True, max_length=MAX_IDENTIFIER
    )
    # Our settings: in the CFDocument's extensions (what we export), or, from exports made
    # before, in an `extensions` object of the CFRubric itself.
    ext: dict[str, Any] = dict(rub[EXT]) if isinstance(rub.get(EXT), dict) else {}
    found = rubric_ext.get(ident)
    mine: dict[str, Any] = found if isinstance(found, dict) else {}
    for key in ("passLevelPosition", "minTotalPoints"):
        if key in mine:
            ext[f"portfolio:{key}"] = mine[key]
    criteria_ext: dict[str, Any] = (
        mine["criteria"] if isinstance(mine.get("criteria"), dict) else {}
    )
    if isinstance(mine.get("identifier"), str) and mine["identifier"]:
        ident = mine["identifier"]
    where = _where("CFRubrics", r_index, ident)
    title = check.string(rub, "title", where, required=True)
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
        c_found = criteria_ext.get(c_id)
        c_mine: dict[str, Any] = c_found if isinstance(c_found, dict) else {}
        if isinstance(c_mine.get("identifier"), str) and c_mine["identifier"]:
            c_id = c_mine["identifier"]
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
            if item_id is not None:
                item_id = alias.get(item_id, item_id)
            if item_id is not None and item_id not in items:
                check.add(
                    c_where,
                    "CFItemURI",
                    f"points at {item_id}, which is not a CFItem of this package",
                )
        c_ext: dict[str, Any] = dict(crit[EXT]) if isinstance(crit.get(EXT), dict) else {}
        if "evidenceGuidance" in c_mine:
            c_ext[EXT_GUIDANCE] = c_mine["evidenceGuidance"]
        if "required" in c_mine:
            c_ext[EXT_REQUIRED] = c_mine["required"]
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

    levels = _one_level_set(check, title, criteria, notes)
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


def _one_level_set(
    check: _Checker, title: str, criteria: list[ParsedCriterion], notes: list[str]
) -> list[tuple[str, Decimal]]:
    """The rubric's one set of levels (ours has one for all elements).

    CASE lets each criterion have its own levels. When they differ, they are mapped onto one
    set by score: one level per distinct score, named after the qualities given at that score;
    a criterion without a level at some score gets an empty cell there (to describe before
    publishing). Every such change is told in `notes`.
    """
    if not criteria:
        return []
    sets = [[(q, s) for _, q, s, _, _ in c.levels] for c in criteria]
    if all(one == sets[0] for one in sets):
        return sets[0]
    names_by_score: dict[Decimal, list[str]] = {}
    for crit, levels in zip(criteria, sets, strict=True):
        scores = [s for _, s in levels]
        if len(set(scores)) != len(scores):
            check.add(
                f"CFRubricCriterion {crit.identifier}",
                "CFRubricCriterionLevels",
                "has two levels with the same score, so its levels cannot be mapped onto one "
                "set of levels by score",
            )
            continue
        for quality, score in levels:
            names = names_by_score.setdefault(score, [])
            if quality not in names:
                names.append(quality)
    unified = [(" / ".join(names_by_score[s]), s) for s in sorted(names_by_score)]
    counts: dict[str, int] = {}
    for name, _ in unified:
        counts[name] = counts.get(name, 0) + 1
    unified = [
        (f"{name} ({score.normalize():f})" if counts[name] > 1 else name, score)
        for name, score in unified
    ]
    notes.append(
        f"Rubric “{title}”: its criteria use different levels, so they were mapped onto one set "
        f"of levels by score: {_describe_levels(unified)}."
    )
    for crit in criteria:
        by_score = {lv[2]: lv for lv in crit.levels}
        missing = [name for name, score in unified if score not in by_score]
        if missing:
            notes.append(
                f"Criterion “{crit.title}” had the levels "
                f"{_describe_levels([(q, s) for _, q, s, _, _ in crit.levels])}; its cells at "
                + ", ".join(f"“{m}”" for m in missing)
                + " are empty and must be described before the rubric is published."
            )
        crit.levels = [
            by_score.get(score)
            or (_derived_id(crit.identifier, f"level/{score}"), name, score, "", "")
            for name, score in unified
        ]
    return unified


class CsvGiven(DomainError):
    """A framework CSV was given where a CASE JSON package was expected."""

    def __init__(self) -> None:
        super().__init__(
            "This file is a framework CSV (spreadsheet columns such as fullStatement), not a "
            "CASE JSON package. Import it on the framework CSV page."
        )


def looks_like_framework_csv(text: str) -> bool:
    """True when the first line is a spreadsheet header with CASE column names."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].lower()
    return "fullstatement" in first and ("," in first or ";" in first)


# -- writing -----------------------------------------------------------------------------------
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
    services.require_admin(actor, org)
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
    services.require_admin(actor, org)
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
            services.refuse_if_in_use({c.id for c in stale}, "competency")
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


# -- export --------------------------------------------------------------------------------------
def _uri(stored: str, identifier: str) -> str:
    return stored or f"urn:uuid:{as_uuid(identifier)}"


def _stamp(value: object) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00") if value is not None else ""  # type: ignore[attr-defined]


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _changed(raw: dict[str, Any], fallback: object) -> str:
    value = raw.get("lastChangeDateTime")
    if isinstance(value, str) and _DATETIME.match(value):
        return value
    return _stamp(fallback) or "1970-01-01T00:00:00+00:00"


def _set(out: dict[str, Any], key: str, value: str) -> None:
    """A column's value over the imported one: set when given, dropped when cleared here."""
    if value:
        out[key] = value
    elif out.get(key):
        del out[key]


def _with_identifier(out: dict[str, Any], identifier: str) -> dict[str, Any]:
    """Our identifier as CASE wants it; the original travels in `extensions` when it differs."""
    out["identifier"] = as_uuid(identifier)
    if out["identifier"] != identifier:
        ext = dict(out[EXT]) if isinstance(out.get(EXT), dict) else {}
        ext[EXT_IDENTIFIER] = identifier
        out[EXT] = ext
    return out


def _link(ref: Any) -> dict[str, str] | None:
    """A CASE LinkURI (title, UUID identifier, URI) from whatever an import held."""
    if not isinstance(ref, dict) or not isinstance(ref.get("identifier"), str):
        return None
    ident = ref["identifier"]
    uri = ref.get("uri")
    title = ref.get("title")
    return {
        "title": title if isinstance(title, str) else "",
        "identifier": as_uuid(ident),
        "uri": uri if isinstance(uri, str) and uri else default_uri(ident),
    }


def _node(ref: dict[str, str], comp: Competency | None) -> dict[str, str]:
    """A CASE LinkGenURI: any identifier; in-package nodes as they are now."""
    if comp is not None:
        return {
            "title": ref.get("title") or comp.statement[:100],
            "identifier": comp.case_identifier,
            "uri": _uri(comp.case_uri, comp.case_identifier),
        }
    return {
        "title": ref.get("title", ""),
        "identifier": ref.get("identifier", ""),
        "uri": ref.get("uri") or default_uri(ref.get("identifier", "")),
    }


_LINK_FIELDS = ("CFItemTypeURI", "licenseURI", "conceptKeywordsURI")


def _definitions(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    out: dict[str, Any] = {}
    for key, entries in raw.items():
        if not isinstance(entries, list):
            continue
        out[key] = [
            {**e, "identifier": as_uuid(e["identifier"])}
            if isinstance(e, dict) and isinstance(e.get("identifier"), str)
            else e
            for e in entries
        ]
    return out


def export_document(framework: Framework) -> tuple[dict[str, Any], dict[str, str]]:
    """The framework's CFDocument (everything an import kept, the columns winning over it) and
    a node reference to it."""
    extra = framework.case_extra or {}
    doc_uri = _uri(framework.case_uri, framework.case_identifier)
    doc_ref = {
        "title": framework.title,
        "identifier": as_uuid(framework.case_identifier),
        "uri": doc_uri,
    }
    document: dict[str, Any] = dict(extra.get("document") or {})
    if not extra:
        document["language"] = "en"
    _with_identifier(document, framework.case_identifier)
    document["uri"] = doc_uri
    document["creator"] = framework.creator or document.get("creator") or "Portfolio"
    document["title"] = framework.title
    document["lastChangeDateTime"] = _changed(document, framework.updated_at)
    _set(document, "version", framework.version)
    _set(document, "description", framework.description)
    source = framework.source_url
    _set(document, "officialSourceURL", source if re.match(r"^https?://\S+$", source) else "")
    if "licenseURI" in document and document["licenseURI"] is not None:
        document["licenseURI"] = _link(document["licenseURI"])
    if isinstance(document.get("subjectURI"), list):
        document["subjectURI"] = [_link(r) for r in document["subjectURI"] if _link(r)]
    if "CFPackageURI" in document:
        document["CFPackageURI"] = _link(document["CFPackageURI"]) or doc_ref

    return document, doc_ref


def export_case_package(
    framework: Framework, rubrics: list[Rubric] | None = None
) -> dict[str, Any]:
    """The framework (and its rubrics' latest versions) as a CASE 1.0 package.

    Everything an import kept comes back; columns changed here win over it.
    """
    extra = framework.case_extra or {}
    document, doc_ref = export_document(framework)
    tree = services.competency_tree(framework)
    by_id = {c.id: c for c, _ in tree}
    placed = {
        a.origin_id
        for a in framework.associations
        if a.association_type == "isChildOf" and a.origin_id is not None
    }
    items: list[dict[str, Any]] = []
    associations: list[dict[str, Any]] = []
    siblings: dict[int | None, int] = {}
    for comp, _depth in tree:
        items.append(_item(comp, doc_ref))
        siblings[comp.parent_id] = siblings.get(comp.parent_id, 0) + 1
        if comp.case_extra is not None or comp.id in placed:
            continue
        # Made here: its place in the tree becomes an isChildOf of its own.
        parent = by_id.get(comp.parent_id) if comp.parent_id is not None else None
        assoc_id = _derived_id(comp.case_identifier, "isChildOf")
        associations.append(
            {
                "identifier": assoc_id,
                "uri": f"urn:uuid:{assoc_id}",
                "associationType": "isChildOf",
                "sequenceNumber": siblings[comp.parent_id],
                "lastChangeDateTime": _stamp(comp.created_at),
                "originNodeURI": _node({}, comp),
                "destinationNodeURI": dict(doc_ref) if parent is None else _node({}, parent),
                "CFDocumentURI": doc_ref,
            }
        )
    for row in framework.associations:
        out: dict[str, Any] = dict(row.case_data)
        _with_identifier(out, row.case_identifier)
        out["uri"] = out.get("uri") or default_uri(row.case_identifier)
        out["associationType"] = row.association_type
        out["originNodeURI"] = _node(row.origin_ref, by_id.get(row.origin_id or -1))
        out["destinationNodeURI"] = _node(row.destination_ref, by_id.get(row.destination_id or -1))
        out["lastChangeDateTime"] = _changed(out, framework.updated_at)
        out["CFDocumentURI"] = doc_ref
        if out.get("CFAssociationGroupingURI") is not None:
            out["CFAssociationGroupingURI"] = _link(out["CFAssociationGroupingURI"])
        associations.append(out)
    package: dict[str, Any] = {
        "CFDocument": document,
        "CFItems": items,
        "CFAssociations": associations,
    }
    definitions = _definitions(extra.get("definitions"))
    if definitions:
        package["CFDefinitions"] = definitions
    if rubrics is None:
        rubrics = list(
            db.session.scalars(
                select(Rubric).where(Rubric.framework_id == framework.id).order_by(Rubric.title)
            )
        )
    if rubrics:
        settings: dict[str, Any] = {}
        package["CFRubrics"] = []
        for r in rubrics:
            cf_rubric, mine = export_rubric_with_settings(r.latest, r)
            package["CFRubrics"].append(cf_rubric)
            settings[cf_rubric["identifier"]] = mine
        ext = dict(document[EXT]) if isinstance(document.get(EXT), dict) else {}
        ext[EXT_RUBRICS] = settings
        document[EXT] = ext
    return package


def export_rubric(version: RubricVersion, rubric: Rubric) -> dict[str, Any]:
    """One rubric version as a CFRubric (CASE has no place for the pass rule and the
    element settings: see `export_rubric_with_settings`)."""
    return export_rubric_with_settings(version, rubric)[0]


def export_rubric_with_settings(
    version: RubricVersion, rubric: Rubric
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One rubric version as a CFRubric, and the settings CASE has no place for."""
    rubric_id = as_uuid(rubric.case_identifier)
    mine: dict[str, Any] = {"passLevelPosition": version.pass_level_position, "criteria": {}}
    if rubric_id != rubric.case_identifier:
        mine["identifier"] = rubric.case_identifier
    if version.min_total_points is not None:
        mine["minTotalPoints"] = _num(version.min_total_points)
    criteria = []
    for el in version.elements:
        crit_id = as_uuid(el.case_identifier)
        crit_mine: dict[str, Any] = {
            "evidenceGuidance": el.evidence_guidance,
            "required": el.is_required,
        }
        if crit_id != el.case_identifier:
            crit_mine["identifier"] = el.case_identifier
        mine["criteria"][crit_id] = crit_mine
        levels = []
        for lv in version.levels:
            cell = version.cell(el, lv)
            l_id = as_uuid(cell.case_identifier) if cell else _derived_id(crit_id, lv.name)
            levels.append(
                {
                    "identifier": l_id,
                    "uri": f"urn:uuid:{l_id}",
                    "description": cell.descriptor if cell else "",
                    "quality": lv.name,
                    "score": _num(lv.points),
                    "feedback": cell.feedback if cell else "",
                    "position": lv.position + 1,
                    "rubricCriterionId": crit_id,
                    "lastChangeDateTime": _stamp(version.created_at),
                }
            )
        crit: dict[str, Any] = {
            "identifier": crit_id,
            "uri": f"urn:uuid:{crit_id}",
            "category": el.title,
            "description": el.description,
            "weight": _num(el.weight),
            "position": el.position + 1,
            "rubricId": rubric_id,
            "lastChangeDateTime": _stamp(version.created_at),
            "CFRubricCriterionLevels": levels,
        }
        if el.competency is not None:
            comp = el.competency
            crit["CFItemURI"] = {
                "title": comp.statement[:100],
                "identifier": as_uuid(comp.case_identifier),
                "uri": _uri(comp.case_uri, comp.case_identifier),
            }
        criteria.append(crit)
    return {
        "identifier": rubric_id,
        "uri": _uri(rubric.case_uri, rubric.case_identifier),
        "title": version.title,
        "description": version.description,
        "lastChangeDateTime": _stamp(version.created_at),
        "CFRubricCriteria": criteria,
    }, mine


def export_item(comp: Competency) -> dict[str, Any]:
    """One competency as a CASE CFItem (for its public page)."""
    fw = comp.framework
    doc_ref = {
        "title": fw.title,
        "identifier": as_uuid(fw.case_identifier),
        "uri": _uri(fw.case_uri, fw.case_identifier),
    }
    return _item(comp, doc_ref)


def _item(comp: Competency, doc_ref: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = dict(comp.case_extra or {})
    _with_identifier(item, comp.case_identifier)
    item["uri"] = _uri(comp.case_uri, comp.case_identifier)
    item["fullStatement"] = comp.statement
    _set(item, "humanCodingScheme", comp.code)
    _set(item, "notes", comp.description)
    _set(item, "CFItemType", comp.item_type)
    item["lastChangeDateTime"] = _changed(item, comp.created_at)
    item["CFDocumentURI"] = doc_ref
    for key in _LINK_FIELDS:
        if key in item and item[key] is not None:
            link = _link(item[key])
            if link is None:
                del item[key]
            else:
                item[key] = link
    return item


def _derived_id(base: str, salt: str) -> str:
    """A stable UUID derived from another identifier (same input, same id on every export)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/{salt}"))


# -- update from source ---------------------------------------------------------------------
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
