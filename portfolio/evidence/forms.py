"""Evidence forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, Optional

_TAGS_HINT = "Separate tags with commas, e.g. welding, site visit."


class _ItemFields(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(
        "Description (optional)",
        validators=[Optional(), Length(max=20000)],
        description="Markdown is allowed.",
    )
    item_date = DateField("Date of the work", validators=[Optional()])
    tags = StringField("Tags", validators=[Optional(), Length(max=800)], description=_TAGS_HINT)


class AddLinkForm(_ItemFields):
    url = URLField(
        "Address (URL)",
        validators=[DataRequired(), Length(max=2000)],
        description="Starts with https://",
    )


class WriteReflectionForm(_ItemFields):
    body = TextAreaField(
        "Your reflection",
        validators=[DataRequired(), Length(max=100000)],
        description="Markdown is allowed: **bold**, lists, links.",
    )


class EditItemForm(_ItemFields):
    url = URLField("Address (URL)", validators=[Optional(), Length(max=2000)])
    body = TextAreaField("Your reflection", validators=[Optional(), Length(max=100000)])
