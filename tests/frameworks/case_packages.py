"""CASE packages built for tests: every association type, several parents, numeric-string
sequence numbers, identifiers that are not UUIDs, deep trees, every CFItem field."""

from __future__ import annotations

import uuid
from typing import Any

STAMP = "2024-05-01T08:00:00+00:00"
DOC_ID = "http://purl.example.org/ASN/resources/D2000001"
TYPE_ID = "5e2c0a51-3c8e-4f32-9d51-0a6e1f1c2d01"
LICENCE_ID = "5e2c0a51-3c8e-4f32-9d51-0a6e1f1c2d02"
SUBJECT_ID = "5e2c0a51-3c8e-4f32-9d51-0a6e1f1c2d03"
CONCEPT_ID = "5e2c0a51-3c8e-4f32-9d51-0a6e1f1c2d04"
GROUPING_ID = "5e2c0a51-3c8e-4f32-9d51-0a6e1f1c2d05"
OUTSIDE = "https://case.other.example/uri/0f0e0d0c-0000-4000-8000-000000000001"
TYPES = (
    "isPeerOf",
    "isPartOf",
    "exactMatchOf",
    "precedes",
    "isRelatedTo",
    "replacedBy",
    "exemplar",
    "hasSkillLevel",
)


def uid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"test/{name}"))


def ref(identifier: str, title: str = "") -> dict[str, str]:
    uri = identifier if ":" in identifier else f"https://case.example.org/uri/{identifier}"
    return {"title": title, "identifier": identifier, "uri": uri}


def link(identifier: str, title: str) -> dict[str, str]:
    return {
        "title": title,
        "identifier": identifier,
        "uri": f"https://case.example.org/uri/{identifier}",
    }


def rich_package(depth: int = 7) -> dict[str, Any]:
    """A framework with a chain `depth` levels deep, siblings given numeric-string sequence
    numbers, an item under two parents, every association type (also to an outside item),
    CFDefinitions and every document field."""
    doc = {
        "identifier": DOC_ID,
        "uri": DOC_ID,
        "creator": "Trades Council",
        "title": "Electrical Installation",
        "lastChangeDateTime": STAMP,
        "officialSourceURL": "https://trades.example.org/frameworks/electrical",
        "publisher": "Trades Council Publishing",
        "description": "Competencies of electrical installation work.",
        "subject": ["Electrical", "Construction"],
        "subjectURI": [link(SUBJECT_ID, "Electrical")],
        "language": "en",
        "version": "3.1",
        "adoptionStatus": "Adopted",
        "statusStartDate": "2024-01-01",
        "statusEndDate": None,
        "licenseURI": link(LICENCE_ID, "CC BY 4.0"),
        "notes": "Reviewed yearly.",
        "frameworkType": "Occupational",
    }
    items: list[dict[str, Any]] = []
    assocs: list[dict[str, Any]] = []

    def item(ident: str, code: str, statement: str, **extra: Any) -> str:
        items.append(
            {
                "identifier": ident,
                "uri": ident if ":" in ident else f"https://case.example.org/uri/{ident}",
                "fullStatement": statement,
                "humanCodingScheme": code,
                "lastChangeDateTime": STAMP,
                "CFDocumentURI": ref(DOC_ID, "Electrical Installation"),
                **extra,
            }
        )
        return ident

    def assoc(kind: str, origin: str, dest: str, seq: Any = None, **extra: Any) -> None:
        a: dict[str, Any] = {
            "identifier": uid(f"{kind}/{origin}/{dest}"),
            "uri": f"https://case.example.org/uri/{uid(f'{kind}/{origin}/{dest}')}",
            "associationType": kind,
            "originNodeURI": ref(origin, origin[-8:]),
            "destinationNodeURI": ref(dest, dest[-8:]),
            "lastChangeDateTime": STAMP,
            **extra,
        }
        if seq is not None:
            a["sequenceNumber"] = seq
        assocs.append(a)

    parent = DOC_ID
    chain = []
    for level in range(depth):
        # Every other level uses an ASN-style identifier, not a UUID.
        ident = (
            f"http://purl.example.org/ASN/resources/S{level:07d}" if level % 2 else uid(f"L{level}")
        )
        code = "EL" + "".join(f".{n + 1}" for n in range(level))
        item(
            ident,
            code,
            f"Level {level + 1} statement",
            abbreviatedStatement=f"Level {level + 1}",
            listEnumeration=str(level + 1),
            educationLevel=["13", "14"],
            conceptKeywords=["safety", "wiring"],
            conceptKeywordsURI=link(CONCEPT_ID, "Safety"),
            notes=f"Notes on level {level + 1}",
            language="en",
            CFItemType="Competency" if level else "Domain",
            CFItemTypeURI=link(TYPE_ID, "Competency"),
            licenseURI=link(LICENCE_ID, "CC BY 4.0"),
            statusStartDate="2024-01-01",
            statusEndDate="2030-12-31T00:00:00+00:00",
            alternativeLabel=f"L{level + 1}",
        )
        assoc("isChildOf", ident, parent, seq="1")
        chain.append(ident)
        parent = ident
    # Siblings under the first item, ordered by numeric strings: "10" comes after "2".
    first = chain[0]
    ten = item(uid("S10"), "EL.S10", "Sibling ten")
    two = item(uid("S2"), "EL.S2", "Sibling two")
    assoc("isChildOf", ten, first, seq="10")
    assoc("isChildOf", two, first, seq="2")
    # Under two parents.
    shared = item(uid("shared"), "EL.SH", "Shared competency")
    assoc("isChildOf", shared, ten, seq=1)
    assoc("isChildOf", shared, two, seq=1)
    # An item with no isChildOf at all.
    loose = item(uid("loose"), "EL.X", "Not placed in the tree")
    # Every other association type, between items and to an outside item.
    for n, kind in enumerate(TYPES):
        assoc(kind, chain[n % len(chain)], two if n % 2 else ten)
    assoc("exactMatchOf", two, OUTSIDE, CFAssociationGroupingURI=link(GROUPING_ID, "Crosswalk"))
    assoc("isRelatedTo", loose, OUTSIDE)
    definitions = {
        "CFItemTypes": [
            {
                "identifier": TYPE_ID,
                "uri": f"https://case.example.org/uri/{TYPE_ID}",
                "title": "Competency",
                "description": "An ability",
                "hierarchyCode": "1",
                "typeCode": "competency",
                "lastChangeDateTime": STAMP,
            }
        ],
        "CFSubjects": [
            {
                "identifier": SUBJECT_ID,
                "uri": f"https://case.example.org/uri/{SUBJECT_ID}",
                "title": "Electrical",
                "hierarchyCode": "E",
                "lastChangeDateTime": STAMP,
            }
        ],
        "CFConcepts": [
            {
                "identifier": CONCEPT_ID,
                "uri": f"https://case.example.org/uri/{CONCEPT_ID}",
                "title": "Safety",
                "keywords": "safety",
                "hierarchyCode": "S",
                "lastChangeDateTime": STAMP,
            }
        ],
        "CFLicenses": [
            {
                "identifier": LICENCE_ID,
                "uri": f"https://case.example.org/uri/{LICENCE_ID}",
                "title": "CC BY 4.0",
                "licenseText": "Attribution 4.0 International",
                "lastChangeDateTime": STAMP,
            }
        ],
        "CFAssociationGroupings": [
            {
                "identifier": GROUPING_ID,
                "uri": f"https://case.example.org/uri/{GROUPING_ID}",
                "title": "Crosswalk",
                "lastChangeDateTime": STAMP,
            }
        ],
    }
    return {
        "CFDocument": doc,
        "CFItems": items,
        "CFAssociations": assocs,
        "CFDefinitions": definitions,
    }


def chain_package(depth: int, *, cycle: bool = False) -> dict[str, Any]:
    """One item under another, `depth` levels deep (optionally closed into a loop)."""
    doc_id = uid(f"chain/{depth}")
    items, assocs = [], []
    parent = doc_id
    for n in range(depth):
        ident = uid(f"chain/{depth}/{n}")
        items.append(
            {
                "identifier": ident,
                "uri": f"urn:uuid:{ident}",
                "fullStatement": f"Step {n}",
                "humanCodingScheme": f"C{n}",
                "lastChangeDateTime": STAMP,
            }
        )
        assocs.append(
            {
                "identifier": uid(f"chain/{depth}/a{n}"),
                "uri": f"urn:uuid:{uid(f'chain/{depth}/a{n}')}",
                "associationType": "isChildOf",
                "originNodeURI": {"title": "", "identifier": ident, "uri": f"urn:uuid:{ident}"},
                "destinationNodeURI": {
                    "title": "",
                    "identifier": parent,
                    "uri": f"urn:uuid:{parent}",
                },
                "sequenceNumber": 1,
                "lastChangeDateTime": STAMP,
            }
        )
        parent = ident
    if cycle:
        # The first item is made a child of the last one too: a loop through the whole chain.
        assocs.append(
            {
                "identifier": uid(f"chain/{depth}/loop"),
                "uri": f"urn:uuid:{uid(f'chain/{depth}/loop')}",
                "associationType": "isChildOf",
                "originNodeURI": {
                    "title": "",
                    "identifier": items[0]["identifier"],
                    "uri": "urn:x",
                },
                "destinationNodeURI": {"title": "", "identifier": parent, "uri": "urn:y"},
                "lastChangeDateTime": STAMP,
            }
        )
    return {
        "CFDocument": {
            "identifier": doc_id,
            "uri": f"urn:uuid:{doc_id}",
            "creator": "Tests",
            "title": f"Chain of {depth}",
            "lastChangeDateTime": STAMP,
        },
        "CFItems": items,
        "CFAssociations": assocs,
    }
