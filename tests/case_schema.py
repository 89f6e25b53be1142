"""The CASE 1.0 CFPackage JSON Schema (shared/case), with format checks, for validating exports.

jsonschema checks `date` and `date-time` itself; `uri` needs an extra package, so a URI here is
checked as the RFC 3986 shape: a scheme, a colon, and no whitespace.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

#: A copy of OpenSALT's CASE 1.0 CFPackage schema (MIT licence), as in shared/case.
SCHEMA_PATH = Path(__file__).parent / "frameworks" / "data" / "case-v1p0-cfpackage-schema.json"
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$")


@cache
def _validators() -> tuple[Any, Any]:
    schema = json.loads(SCHEMA_PATH.read_text())
    cls = jsonschema.validators.validator_for(schema)
    checker = jsonschema.FormatChecker()
    checker.checks("uri")(lambda value: not isinstance(value, str) or bool(_URI.match(value)))
    package = cls(schema, format_checker=checker)
    item_schema = {"$ref": "#/definitions/CFPackageItem", "definitions": schema["definitions"]}
    item = cls(item_schema, format_checker=checker)
    return package, item


def problems(document: dict[str, Any], *, kind: str = "package") -> list[str]:
    """Every way `document` breaks the schema (empty when it is valid)."""
    package, item = _validators()
    validator = package if kind == "package" else item
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in validator.iter_errors(document)
    ][:20]


def assert_valid(document: dict[str, Any], *, kind: str = "package") -> None:
    found = problems(document, kind=kind)
    assert not found, "not valid CASE 1.0:\n" + "\n".join(found)
