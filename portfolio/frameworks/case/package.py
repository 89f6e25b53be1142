"""What a CASE package is once read: its constants and limits, the parsed items, associations
and rubrics, the problems an import reports, and the identifier rules (UUIDs, derived ids)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from portfolio.core.errors import Conflict, DomainError
from portfolio.frameworks.models import Framework

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
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", re.IGNORECASE)
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


class Checker:
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
            self.add(where, key, f"must be a string, not {type_name(value)}")
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
            self.add(where, key, f"must be a number, not {type_name(value)}")
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
            self.add(where, key, f"must be a whole number, not {type_name(value)}")
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
            self.add(where, key, f"must be a list, not {type_name(value)}")
            return []
        good = []
        for i, entry in enumerate(value):
            if isinstance(entry, dict):
                good.append(entry)
            else:
                self.add(f"{key}[{i}]", "", f"must be an object, not {type_name(entry)}")
        return good

    def node_ref(self, obj: dict[str, Any], key: str, where: str) -> str | None:
        value = obj.get(key)
        if value is None:
            self.add(where, key, "is missing")
            return None
        if not isinstance(value, dict):
            self.add(where, key, f"must be an object with an identifier, not {type_name(value)}")
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


def type_name(value: object) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def locate(kind: str, index: int, identifier: str) -> str:
    return f"{kind}[{index}] {identifier}" if identifier else f"{kind}[{index}] (no identifier)"


def is_uuid(value: str) -> bool:
    """What the CASE 1.0 schema accepts as an identifier (its pattern is not anchored)."""
    return bool(_UUID.search(value))


def as_uuid(identifier: str) -> str:
    """The identifier itself when CASE accepts it, else a stable UUID derived from it."""
    return identifier if is_uuid(identifier) else derived_id(identifier, "identifier")


def default_uri(identifier: str) -> str:
    """A URI for an object that came without one: the identifier when it is a URI already."""
    if re.match(r"^[a-z][a-z0-9+.-]*:\S+$", identifier, re.IGNORECASE):
        return identifier
    return f"urn:uuid:{as_uuid(identifier)}"


def own_identifier(obj: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
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


def restore_identifier(obj: dict[str, Any]) -> dict[str, Any]:
    obj, original = own_identifier(obj)
    if original is not None:
        obj = {**obj, "identifier": original}
    return obj


def derived_id(base: str, salt: str) -> str:
    """A stable UUID derived from another identifier (same input, same id on every export)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/{salt}"))
