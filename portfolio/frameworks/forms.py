"""Forms for frameworks, competencies, imports, and the rubric editor's request parsing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, Optional, ValidationError

from portfolio.core.errors import DomainError
from portfolio.frameworks.models import RubricVersion
from portfolio.frameworks.services.rubrics import ElementInput, LevelInput, VersionInput

#: Largest CASE package or CSV accepted (checked while reading, before parsing).
MAX_IMPORT_BYTES = 5 * 1024 * 1024


class FileSize:
    """Refuse an upload larger than `max_bytes` (reads at most one byte more)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def __call__(self, form: FlaskForm, fld: FileField) -> None:
        storage = fld.data
        if storage is None or isinstance(storage, str):
            return
        data = storage.read(self.max_bytes + 1)
        storage.seek(0)
        if len(data) > self.max_bytes:
            raise ValidationError(f"The file is larger than {self.max_bytes // (1024 * 1024)} MB.")
        if not data:
            raise ValidationError("The file is empty.")


class FrameworkForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=300)])
    version = StringField(
        "Version",
        validators=[Optional(), Length(max=60)],
        description="The publisher's version label, e.g. 2024.1.",
    )
    description = TextAreaField("Description", validators=[Optional(), Length(max=20000)])
    source_url = StringField(
        "Source URL", validators=[Optional(), URL(require_tld=False), Length(max=1000)]
    )


class CompetencyForm(FlaskForm):
    code = StringField(
        "Code", validators=[Optional(), Length(max=60)], description="A human code such as WLD-2.3."
    )
    statement = TextAreaField("Statement", validators=[DataRequired(), Length(max=5000)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=20000)])
    #: Public id of the parent competency; empty for the top level.
    parent = HiddenField()


class ImportCaseForm(FlaskForm):
    package = FileField(
        "CASE package (JSON)",
        validators=[FileRequired("Choose a CASE JSON file."), FileSize(MAX_IMPORT_BYTES)],
        description="A 1EdTech CASE 1.0 package with CFDocument, CFItems, CFAssociations "
        "and optionally CFRubrics. Up to 5 MB.",
    )
    update_existing = BooleanField("If this framework was imported before, update it")


class ImportCaseUrlForm(FlaskForm):
    url = StringField(
        "URL of the CASE package",
        validators=[DataRequired(), URL(require_tld=False), Length(max=1000)],
        description="A CASE provider's package endpoint, e.g. "
        "https://case.example.org/ims/case/v1p0/CFPackages/<identifier>. Only http(s); up to "
        "5 MB.",
    )


class UpdateFromSourceForm(FlaskForm):
    #: SHA-256 of the package the admin saw; the update applies only that package.
    sha256 = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])


class ImportFrameworkCsvForm(FlaskForm):
    #: Empty for a new framework, else the public id of the framework the CSV updates.
    #: (Checked by the view against the organization's frameworks; a form without it, as older
    #: clients send it, is a new framework.)
    framework = SelectField("Import into", choices=[], validate_choice=False, default="")
    title = StringField(
        "Framework title",
        validators=[Optional(), Length(max=300)],
        description="Needed for a new framework; for an update, empty keeps the title.",
    )
    #: SHA-256 of the file whose changes the admin saw; the update applies only that file.
    sha256 = HiddenField(validators=[Optional(), Length(max=64)])
    csv_file = FileField(
        "CSV file",
        validators=[FileRequired("Choose a CSV file."), FileSize(MAX_IMPORT_BYTES)],
        description="One row per competency, with OpenSALT's spreadsheet columns: "
        "fullStatement (needed), identifier, humanCodingScheme, isChildOf, sequenceNumber, and "
        "the others listed below. Comma or semicolon separated, UTF-8. Up to 5 MB.",
    )


class RubricForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=300)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=20000)])
    framework = SelectField("Framework", choices=[], validate_choice=True)


class ImportRubricCsvForm(FlaskForm):
    title = StringField("Rubric title", validators=[DataRequired(), Length(max=300)])
    csv_file = FileField(
        "CSV file",
        validators=[FileRequired("Choose a CSV file."), FileSize(MAX_IMPORT_BYTES)],
        description="One row per element and level. Columns: element, level, points, "
        "descriptor, and optionally element_description, evidence_guidance, "
        "required (yes/no), weight.",
    )
    pass_level = StringField(
        "Pass level",
        validators=[Optional(), Length(max=120)],
        description="Name of the level every required element must reach "
        "(default: the middle level, e.g. Meets).",
    )
    framework = SelectField(
        "Competency framework",
        choices=[],
        validate_choice=True,
        description="Elements pick their competencies from this framework only.",
    )


# -- rubric editor ------------------------------------------------------------------------------
@dataclass
class EditorLevel:
    key: str
    id: int | None
    name: str
    points: str


@dataclass
class EditorElement:
    key: str
    public_id: str | None
    title: str
    description: str = ""
    evidence_guidance: str = ""
    is_required: bool = True
    weight: str = "1"
    competency: str = ""
    #: Descriptor by level key.
    cells: dict[str, str] = field(default_factory=dict)


@dataclass
class EditorState:
    """What the editor grid shows: either a saved version or the form as last posted."""

    title: str
    description: str
    levels: list[EditorLevel]
    elements: list[EditorElement]
    pass_level: str
    min_total_points: str


def _num(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def state_from_version(version: RubricVersion) -> EditorState:
    """The editor's state for a saved version."""
    levels = [EditorLevel(f"l{lv.id}", lv.id, lv.name, _num(lv.points)) for lv in version.levels]
    pass_key = next(
        (f"l{lv.id}" for lv in version.levels if lv.position == version.pass_level_position), ""
    )
    elements = []
    for el in version.elements:
        cells = {f"l{c.level_id}": c.descriptor for c in el.cells}
        elements.append(
            EditorElement(
                key=f"e{el.public_id}",
                public_id=el.public_id,
                title=el.title,
                description=el.description,
                evidence_guidance=el.evidence_guidance,
                is_required=el.is_required,
                weight=_num(el.weight),
                competency=str(el.competency_id or ""),
                cells=cells,
            )
        )
    return EditorState(
        version.title,
        version.description,
        levels,
        elements,
        pass_key,
        _num(version.min_total_points),
    )


def state_from_form(form: MultiDict[str, str], version: RubricVersion) -> EditorState:
    """The editor's state as posted (ids are checked against the version being edited)."""
    level_ids = {lv.id for lv in version.levels}
    element_ids = {el.public_id for el in version.elements}
    levels = []
    for key in form.getlist("level_keys")[:50]:
        raw_id = key[1:] if key.startswith("l") else ""
        level_id = int(raw_id) if raw_id.isdigit() and int(raw_id) in level_ids else None
        levels.append(
            EditorLevel(
                key,
                level_id,
                form.get(f"level-{key}-name", ""),
                form.get(f"level-{key}-points", ""),
            )
        )
    elements = []
    for key in form.getlist("element_keys")[:100]:
        pid = key[1:] if key.startswith("e") and key[1:] in element_ids else None
        elements.append(
            EditorElement(
                key=key,
                public_id=pid,
                title=form.get(f"element-{key}-title", ""),
                description=form.get(f"element-{key}-description", ""),
                evidence_guidance=form.get(f"element-{key}-guidance", ""),
                is_required=bool(form.get(f"element-{key}-required")),
                weight=form.get(f"element-{key}-weight", "1"),
                competency=form.get(f"element-{key}-competency", ""),
                cells={lv.key: form.get(f"cell-{key}-{lv.key}", "") for lv in levels},
            )
        )
    return EditorState(
        form.get("title", ""),
        form.get("description", ""),
        levels,
        elements,
        form.get("pass_level", ""),
        form.get("min_total_points", ""),
    )


def new_key(prefix: str) -> str:
    return prefix + secrets.token_hex(4)


def apply_action(state: EditorState, action: str) -> None:
    """Add, remove or move a row or column of the grid, as the pressed button asks."""
    verb, _, key = action.partition(":")
    if verb == "add_element":
        state.elements.append(EditorElement(new_key("n"), None, "New element"))
        return
    if verb == "add_level":
        top = max((_decimal(lv.points) or Decimal(0) for lv in state.levels), default=Decimal(-1))
        state.levels.append(EditorLevel(new_key("m"), None, "New level", _num(top + 1)))
        return
    rows: list[Any] = state.elements if verb.endswith("_element") else state.levels
    index = next((i for i, r in enumerate(rows) if r.key == key), None)
    if index is None:
        return
    if verb.startswith("remove"):
        rows.pop(index)
        if state.pass_level == key:
            state.pass_level = ""
    elif verb.startswith("up") and index > 0:
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    elif verb.startswith("down") and index < len(rows) - 1:
        rows[index + 1], rows[index] = rows[index], rows[index + 1]


def _decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def state_to_input(state: EditorState, competency_ids: set[int]) -> VersionInput:
    """Turn the posted grid into the service's input, or raise `DomainError` naming the cell."""
    levels = []
    for i, lv in enumerate(state.levels, 1):
        points = _decimal(lv.points)
        if points is None:
            raise DomainError(f"Level {i} ({lv.name or 'unnamed'}): points must be a number.")
        levels.append(LevelInput(lv.id, lv.name, points))
    elements = []
    for i, el in enumerate(state.elements, 1):
        weight = _decimal(el.weight or "1")
        if weight is None:
            raise DomainError(
                f"Element {i} ({el.title or 'untitled'}): the weight must be a number."
            )
        comp = int(el.competency) if el.competency.isdigit() else None
        if comp is not None and comp not in competency_ids:
            raise DomainError(f"Element {i}: choose a competency of this organization.")
        elements.append(
            ElementInput(
                public_id=el.public_id,
                title=el.title,
                description=el.description,
                evidence_guidance=el.evidence_guidance,
                is_required=el.is_required,
                weight=weight,
                competency_id=comp,
                descriptors={j: el.cells.get(lv.key, "") for j, lv in enumerate(state.levels)},
            )
        )
    pass_index = next((i for i, lv in enumerate(state.levels) if lv.key == state.pass_level), None)
    min_total = None
    if state.min_total_points.strip():
        min_total = _decimal(state.min_total_points)
        if min_total is None or min_total < 0:
            raise DomainError("The minimum total of points must be a number of zero or more.")
    return VersionInput(
        title=state.title,
        description=state.description,
        elements=elements,
        levels=levels,
        pass_level=pass_index,
        min_total_points=min_total,
    )
