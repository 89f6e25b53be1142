"""A framework (and its rubrics) as a valid CASE 1.0 package, and a competency as its CFItem:
what was imported comes back as it was, non-UUID identifiers as derived UUIDs."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from portfolio.extensions import db
from portfolio.frameworks.case.package import (
    DATETIME,
    EXT,
    EXT_IDENTIFIER,
    EXT_RUBRICS,
    as_uuid,
    default_uri,
    derived_id,
)
from portfolio.frameworks.models import Competency, Framework, Rubric, RubricVersion
from portfolio.frameworks.services import tree as tree_services


def _uri(stored: str, identifier: str) -> str:
    return stored or f"urn:uuid:{as_uuid(identifier)}"


def _stamp(value: object) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00") if value is not None else ""  # type: ignore[attr-defined]


def _num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _changed(raw: dict[str, Any], fallback: object) -> str:
    value = raw.get("lastChangeDateTime")
    if isinstance(value, str) and DATETIME.match(value):
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
    tree = tree_services.competency_tree(framework)
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
        assoc_id = derived_id(comp.case_identifier, "isChildOf")
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
            l_id = as_uuid(cell.case_identifier) if cell else derived_id(crit_id, lv.name)
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
