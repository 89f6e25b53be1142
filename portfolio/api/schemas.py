"""Request and response bodies of the API (marshmallow schemas; the OpenAPI document is built
from them). Objects are named by their public ids, never by database keys."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from portfolio.accounts.models import Role

#: Page sizes: small by default, bounded so one request cannot read a whole table.
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


class With:
    """An object seen with extra attributes, for a response schema that shows more than the
    object holds (a framework with its competency tree, a batch with its summary)."""

    def __init__(self, obj: object, **extra: object) -> None:
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class PageArgs(Strict):
    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )
    cursor = ma.fields.String(
        load_default=None,
        validate=validate.Length(max=200),
        metadata={"description": "The `next_cursor` of the previous page"},
    )


class PersonOut(ma.Schema):
    id = ma.fields.String(attribute="public_id", required=True)
    name = ma.fields.String(attribute="display_name", required=True)


class MeOut(PersonOut):
    email = ma.fields.String(required=True)
    token = ma.fields.Dict(required=True, metadata={"description": "The token in use"})


class OrganizationOut(ma.Schema):
    id = ma.fields.String(attribute="public_id", required=True)
    slug = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    url = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    description = ma.fields.String(required=True)


class CompetencyOut(ma.Schema):
    id = ma.fields.String(attribute="public_id", required=True)
    code = ma.fields.String(required=True)
    statement = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    item_type = ma.fields.String(required=True)
    parent = ma.fields.Function(lambda c: c.parent.public_id if c.parent else None, allow_none=True)
    case_identifier = ma.fields.String(allow_none=True)


class FrameworkOut(ma.Schema):
    id = ma.fields.String(attribute="public_id", required=True)
    title = ma.fields.String(required=True)
    version = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    source_url = ma.fields.String(required=True)
    case_identifier = ma.fields.String(allow_none=True)


class FrameworkDetailOut(FrameworkOut):
    competencies = ma.fields.List(ma.fields.Nested(CompetencyOut), required=True)


class CaseImportOut(ma.Schema):
    framework = ma.fields.Nested(FrameworkOut, required=True)
    updated = ma.fields.Boolean(required=True)
    rubrics = ma.fields.List(ma.fields.String(), required=True)


class CaseImportArgs(Strict):
    update_existing = ma.fields.Boolean(load_default=False)


class CredentialOut(ma.Schema):
    id = ma.fields.String(attribute="public_id", required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    criteria_md = ma.fields.String(required=True)
    state = ma.fields.String(required=True)
    tags = ma.fields.Function(lambda c: [t.name for t in c.tags], required=True)
    rubric_version = ma.fields.Function(
        lambda c: c.rubric_version.public_id if c.rubric_version else None, allow_none=True
    )
    expiry_months = ma.fields.Integer(allow_none=True)
    max_attempts = ma.fields.Integer(allow_none=True)
    credits_available = ma.fields.Float(
        allow_none=True, metadata={"description": "OB 3.0 creditsAvailable; null: no credit"}
    )
    credits_unit = ma.fields.String(required=True)
    published_at = ma.fields.AwareDateTime(allow_none=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class CredentialIn(Strict):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = ma.fields.String(load_default="", validate=validate.Length(max=5000))
    criteria_md = ma.fields.String(load_default="", validate=validate.Length(max=20000))
    tags = ma.fields.List(
        ma.fields.String(validate=validate.Length(max=60)),
        load_default=list,
        validate=validate.Length(max=20),
    )
    rubric_version = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=32),
        metadata={"description": "Public id of a published rubric version of the organization"},
    )
    expiry_months = ma.fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=1200)
    )
    max_attempts = ma.fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=100)
    )
    credits_available = ma.fields.Float(
        load_default=None,
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=0, max=9999),
        metadata={"description": "The credit a badge of it is worth (OB 3.0 creditsAvailable)"},
    )
    credits_unit = ma.fields.String(
        load_default="",
        validate=validate.Length(max=40),
        metadata={"description": "The unit of credit, e.g. credit hours (default: credits)"},
    )


class ElementResultOut(ma.Schema):
    element = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    level = ma.fields.String(allow_none=True)
    remark = ma.fields.String(allow_none=True)


class SubmissionOut(ma.Schema):
    id = ma.fields.String(attribute="public_id", required=True)
    state = ma.fields.String(required=True)
    attempt = ma.fields.Integer(required=True)
    credential = ma.fields.Function(lambda s: s.credential.public_id, required=True)
    learner = ma.fields.Nested(PersonOut, required=True)
    submitted_at = ma.fields.AwareDateTime(allow_none=True)
    decided_at = ma.fields.AwareDateTime(allow_none=True)


class SubmissionDetailOut(SubmissionOut):
    outcome = ma.fields.String(allow_none=True)
    results = ma.fields.List(ma.fields.Nested(ElementResultOut), required=True)


class SubmissionArgs(PageArgs):
    state = ma.fields.String(
        load_default=None,
        validate=validate.OneOf(
            ["draft", "submitted", "in_review", "passed", "needs_revision", "failed", "withdrawn"]
        ),
    )
    credential = ma.fields.String(load_default=None, validate=validate.Length(max=32))


class SubmissionPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SubmissionOut), required=True)
    next_cursor = ma.fields.String(allow_none=True, required=True)


class AwardOut(ma.Schema):
    id = ma.fields.String(attribute="public_id", required=True)
    credential = ma.fields.Function(lambda a: a.credential.public_id, required=True)
    recipient = ma.fields.Nested(
        PersonOut,
        required=True,
        allow_none=True,
        metadata={"description": "Null while a bulk award waits for its recipient to claim it"},
    )
    issued_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(allow_none=True)
    status = ma.fields.Function(lambda a: a.status(), required=True)
    revoked_at = ma.fields.AwareDateTime(allow_none=True)
    revocation_reason = ma.fields.String(allow_none=True)
    #: True for the moment between the decision and the signed documents (a background job).
    being_signed = ma.fields.Boolean(attribute="is_being_signed", required=True)
    signed_at = ma.fields.AwareDateTime(allow_none=True)
    awarded_without_assessment = ma.fields.String(
        attribute="without_assessment_reason",
        allow_none=True,
        metadata={"description": "The reason of a bulk award given without rubric assessment"},
    )


class AwardPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AwardOut), required=True)
    next_cursor = ma.fields.String(allow_none=True, required=True)


class RevokeIn(Strict):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=1000))


class MemberOut(ma.Schema):
    user = ma.fields.Nested(PersonOut, required=True)
    email = ma.fields.Function(lambda m: m.user.email, required=True)
    role = ma.fields.String(required=True)


class InvitationOut(ma.Schema):
    id = ma.fields.String(attribute="public_id", required=True)
    email = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class InvitationIn(Strict):
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    role = ma.fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))


class EvidenceOut(ma.Schema):
    id = ma.fields.String(attribute="public_id", required=True)
    kind = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    tags = ma.fields.List(ma.fields.String(), required=True)
    item_date = ma.fields.Date(required=True)
    media_type = ma.fields.String(allow_none=True)
    size = ma.fields.Integer(allow_none=True)
    sha256 = ma.fields.String(allow_none=True)
    url = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)


class EvidenceArgs(Strict):
    kind = ma.fields.String(load_default=None, validate=validate.OneOf(["file", "link", "text"]))
    tag = ma.fields.String(load_default=None, validate=validate.Length(max=60))


class UploadArgs(Strict):
    filename = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))
    title = ma.fields.String(load_default="", validate=validate.Length(max=200))
    tags = ma.fields.String(load_default="", validate=validate.Length(max=500))


class ReportArgs(Strict):
    start = ma.fields.Date(load_default=None)
    end = ma.fields.Date(load_default=None)
    credential = ma.fields.String(load_default=None, validate=validate.Length(max=32))


class RateRowOut(ma.Schema):
    label = ma.fields.String(required=True)
    decided = ma.fields.Integer(required=True)
    passed = ma.fields.Integer(required=True)
    rate = ma.fields.Float(required=True)


class ReportOut(ma.Schema):
    start = ma.fields.Date(required=True)
    end = ma.fields.Date(required=True)
    waiting = ma.fields.Integer(required=True)
    oldest_waiting_hours = ma.fields.Float(allow_none=True)
    decided = ma.fields.Integer(required=True)
    median_decision_hours = ma.fields.Float(allow_none=True)
    p90_decision_hours = ma.fields.Float(allow_none=True)
    by_credential = ma.fields.List(ma.fields.Nested(RateRowOut), required=True)
    by_attempt = ma.fields.List(ma.fields.Nested(RateRowOut), required=True)


class BulkAwardRecordIn(Strict):
    """One recipient of a bulk award (checked like a line of the CSV upload)."""

    email = ma.fields.String(required=True, validate=validate.Length(min=1, max=254))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    narrative = ma.fields.String(load_default="", validate=validate.Length(max=2000))
    evidence_url = ma.fields.String(
        load_default="",
        validate=validate.Length(max=2000),
        metadata={"description": "An https:// or http:// address"},
    )
    issued_on = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=10),
        metadata={"description": "The date of the past completion, YYYY-MM-DD, not in the future"},
    )
    source_id = ma.fields.String(
        load_default="",
        validate=validate.Length(max=200),
        metadata={
            "description": "Your system's id of the record; one award per credential, "
            "recipient and source id"
        },
    )


class BulkAwardIn(Strict):
    reason = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={
            "description": "Stated on every badge: “Awarded without rubric assessment: <reason>”"
        },
    )
    records = ma.fields.List(
        ma.fields.Nested(BulkAwardRecordIn),
        required=True,
        validate=validate.Length(min=1, max=5000),
    )


class BulkAwardBatchOut(ma.Schema):
    id = ma.fields.String(attribute="public_id", required=True)
    credential = ma.fields.Function(lambda b: b.credential.public_id, required=True)
    reason = ma.fields.String(required=True)
    state = ma.fields.String(required=True, metadata={"description": "queued, running or done"})
    total = ma.fields.Integer(required=True)
    processed = ma.fields.Integer(required=True)
    issued = ma.fields.Integer(required=True)
    already_held = ma.fields.Integer(
        required=True,
        metadata={"description": "Recipients who already held this badge with the same source id"},
    )
    invited = ma.fields.Integer(required=True)
    summary = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)
