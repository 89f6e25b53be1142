"""Reading a CASE JSON package: validate all of it (documents, items, associations, the tree
free of cycles), collect every problem, and return a `CasePackage` or raise `ImportFailed`."""

from __future__ import annotations

import json
from typing import Any

from portfolio.core.errors import DomainError
from portfolio.frameworks.case.package import (
    ASSOCIATION_TYPES,
    EXT,
    EXT_RUBRICS,
    MAX_ASSOCIATIONS,
    MAX_IDENTIFIER,
    MAX_ITEMS,
    CasePackage,
    Checker,
    ImportFailed,
    ImportProblem,
    ParsedAssociation,
    ParsedItem,
    locate,
    own_identifier,
    restore_identifier,
    type_name,
)
from portfolio.frameworks.case.parse_rubrics import parse_rubric


def parse_case_package(raw: bytes, filename: str) -> CasePackage:
    """Validate a CASE JSON package completely; raise `ImportFailed` listing every problem."""
    check = Checker(filename)
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
    data: dict[str, Any], filename: str, check: Checker | None = None
) -> CasePackage:
    """Validate a decoded CASE package (see `parse_case_package`)."""
    check = check or Checker(filename)
    doc = data.get("CFDocument")
    if not isinstance(doc, dict):
        check.add(
            "package",
            "CFDocument",
            "is missing" if doc is None else f"must be an object, not {type_name(doc)}",
        )
        raise ImportFailed(check.problems)
    doc = restore_identifier(doc)
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
        check.add("package", "CFDefinitions", f"must be an object, not {type_name(definitions)}")

    raw_items = check.obj_list(data, "CFItems", "package")
    if len(raw_items) > MAX_ITEMS:
        check.add("package", "CFItems", f"has more than {MAX_ITEMS} items")
        raise ImportFailed(check.problems)
    items: dict[str, ParsedItem] = {}
    #: Exported (derived) identifier → original, for references that must be UUIDs.
    alias: dict[str, str] = {}
    for i, it in enumerate(raw_items):
        it, original = own_identifier(it)
        if original is not None:
            if isinstance(it.get("identifier"), str):
                alias[it["identifier"]] = original
            it = {**it, "identifier": original}
        ident = check.string(
            it, "identifier", f"CFItems[{i}]", required=True, max_length=MAX_IDENTIFIER
        )
        where = locate("CFItems", i, ident)
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
        assoc = restore_identifier(assoc)
        ident = check.string(
            assoc, "identifier", f"CFAssociations[{i}]", required=True, max_length=MAX_IDENTIFIER
        )
        where = locate("CFAssociations", i, ident)
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
        parsed = parse_rubric(check, raw_rubric, r_index, items, alias, rubric_ext, pkg.notes)
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
