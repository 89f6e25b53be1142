"""Submission and review forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class AttachEvidenceForm(FlaskForm):
    element = HiddenField(validators=[DataRequired()])
    item = SelectField(
        "Evidence from your portfolio", validators=[DataRequired()], validate_choice=False
    )
    note = StringField("How it shows this element", validators=[Optional(), Length(max=2000)])


class NoteForm(FlaskForm):
    note = StringField("Note", validators=[Optional(), Length(max=2000)])


class SubmitForm(FlaskForm):
    note = TextAreaField(
        "A note for the assessor (optional)", validators=[Optional(), Length(max=2000)]
    )
    confirm = BooleanField(
        "I confirm this is my own work. I understand the evidence is frozen once submitted.",
        validators=[DataRequired("Tick the box to confirm before submitting.")],
    )


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    credential = SelectField("Credential", validators=[Optional()], validate_choice=False)
    mine = BooleanField("Claimed by me")
    older = SelectField("Waiting longer than", validators=[Optional()], validate_choice=False)
