"""Credential forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portfolio.credentials.images import MAX_IMAGE_BYTES
from portfolio.credentials.services import ExternalAlignment
from portfolio.frameworks.forms import FileSize


def parse_external_alignments(text: str) -> list[ExternalAlignment]:
    """One alignment per line: `Name | URL | Framework | Code` (only the name is needed)."""
    out = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) > 4:
            raise ValueError(f"Line {number} has more than four parts separated by |.")
        parts += [""] * (4 - len(parts))
        out.append(
            ExternalAlignment(name=parts[0], url=parts[1], framework=parts[2], code=parts[3])
        )
    return out


class CredentialForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=5000)],
        description="A short summary shown in the catalogue.",
    )
    criteria_md = TextAreaField(
        "Criteria",
        validators=[Optional(), Length(max=20000)],
        description="What a worker must show to earn it. Markdown.",
    )
    image = FileField("Image (PNG or SVG, up to 1 MB)", validators=[FileSize(MAX_IMAGE_BYTES)])
    tags = StringField(
        "Tags",
        validators=[Optional(), Length(max=1000)],
        description="Separated by commas, e.g. welding, safety.",
    )
    rubric_version = SelectField(
        "Rubric",
        choices=[],
        validate_choice=True,
        description="Only published rubric versions can be chosen.",
    )
    expiry_months = IntegerField(
        "Expires after (months)",
        validators=[Optional(), NumberRange(1, 600)],
        description="Leave empty if it never expires.",
    )
    max_attempts = IntegerField(
        "Maximum attempts",
        validators=[Optional(), NumberRange(1, 100)],
        description="Leave empty for no limit.",
    )
    credits_available = DecimalField(
        "Credit",
        places=2,
        validators=[Optional(), NumberRange(0, 9999)],
        description="What a badge of it counts for, e.g. 3 or 1.5. Leave empty for none.",
    )
    credits_unit = StringField(
        "Unit of credit",
        validators=[Optional(), Length(max=40)],
        description="How you count credit, e.g. credit hours, CPD points (default: credits).",
    )
    #: Checkboxes of the chosen competencies and of the last search's results (the choices are
    #: set per request: never every competency of the organization).
    competencies = SelectMultipleField(
        "Aligned competencies",
        choices=[],
        coerce=str,
        validate_choice=True,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    competency_query = StringField(
        "Find competencies by code or words",
        validators=[Optional(), Length(max=200)],
        description="Press “Find”, tick the ones to align to, then save.",
    )
    external_alignments = TextAreaField(
        "External alignments",
        validators=[Optional(), Length(max=10000)],
        description="One per line: Name | URL | Framework | Code (only the name is needed).",
    )

    def validate_external_alignments(self, fld: TextAreaField) -> None:
        try:
            parse_external_alignments(fld.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
