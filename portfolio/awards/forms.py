"""Forms of the awards domain: the bulk (prior-learning) award upload."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from portfolio.awards.bulk_upload import MAX_BYTES, MAX_REASON, MAX_RECORDS


class BulkAwardForm(FlaskForm):
    credential = SelectField("Credential", choices=[], validate_choice=True)
    reason = StringField(
        "Reason",
        validators=[DataRequired("Give the reason."), Length(max=MAX_REASON)],
        description="Shown on every badge of this upload after “Awarded without rubric "
        "assessment:”, for example “recognition of prior learning” or “imported from "
        "our previous training records”.",
    )
    csv_file = FileField(
        "CSV file",
        validators=[FileRequired("Choose a CSV file.")],
        description=f"Columns email and name, optionally narrative, evidence_url, issued_on "
        f"(2024-06-30) and source_id. UTF-8, up to {MAX_RECORDS} recipients and "
        f"{MAX_BYTES // (1024 * 1024)} MiB.",
    )
