"""Operations of the JSON API. Each parses its input (schemas), calls the services the pages
call with the token's user as the actor, commits once and answers with a schema.

Authentication is the bearer token alone: the session cookie is never read here, so a page
visited in a browser cannot be made to call the API (no CSRF), and the login gate of the pages
does not apply (the views are marked public and every request is checked by `authenticate`).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from flask import Response, current_app, g, jsonify, render_template, request
from flask_smorest import Blueprint
from sqlalchemy import select, tuple_
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from portfolio.accounts import services as accounts
from portfolio.accounts import tokens
from portfolio.accounts.models import Invitation, Membership, Organization, Role, User
from portfolio.api import schemas as s
from portfolio.api.spec import PROBLEM_CONTENT_TYPE
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.security import public
from portfolio.extensions import csrf, db, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Portfolio JSON API (version 1)")
# Bearer tokens only, never cookies: a cross-site page cannot make the browser send a token.
csrf.exempt(bp)

#: Operations anyone may read: the description of the API itself.
_OPEN_ENDPOINTS = {"api.openapi_json", "api.docs"}


# -- problems (RFC 9457) -------------------------------------------------------------------------
def problem(status: int, title: str, detail: str = "", **extra: Any) -> Response:
    """A problem details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_CONTENT_TYPE
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict"}


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError) -> Response:
    """A refused rule, with the service's own message."""
    db.session.rollback()
    return problem(exc.status_code, _TITLES.get(exc.status_code, "Cannot do that"), exc.message)


@bp.errorhandler(HTTPException)
@bp.errorhandler(413)  # the app's handlers by status code would otherwise win over this one
@bp.errorhandler(429)
def http_error(exc: HTTPException) -> Response:
    """Any HTTP error (validation: 422 with the field errors by location)."""
    db.session.rollback()
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    extra: dict[str, Any] = {}
    if "messages" in data:
        extra["errors"] = data["messages"]
    response = problem(status, exc.name, exc.description or "", **extra)
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


# -- authentication, scopes, organizations -------------------------------------------------------
def _bearer() -> str:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def rate_limit_key() -> str:
    """Requests are counted per token (its digest), else per address."""
    raw = _bearer()
    if raw:
        return "token:" + tokens.token_digest(raw)
    return "addr:" + (request.remote_addr or "")


def _rate_limit() -> str:
    return str(current_app.config["PORTFOLIO"].api_rate_limit)


limiter.limit(_rate_limit, key_func=rate_limit_key)(bp)


@bp.before_request
def authenticate() -> Response | None:
    """Find the token's user, or answer 401. Sets the user for this request only."""
    if request.endpoint in _OPEN_ENDPOINTS:
        return None
    raw = _bearer()
    token = tokens.authenticate_token(raw) if raw else None
    if token is None:
        return problem(
            401,
            "Unauthorized",
            "Send a valid API token as `Authorization: Bearer <token>`."
            if not raw
            else "The token is unknown, expired or revoked.",
        )
    db.session.commit()  # the last-use stamp
    g.api_token = token
    # Flask-Login's user for this request, so nothing falls back to the session cookie.
    g._login_user = token.user
    return None


def token() -> tokens.ApiToken:
    return g.api_token  # type: ignore[no-any-return]


def actor() -> User:
    return token().user


def need(scope: str) -> None:
    """Refuse (403) unless the token carries the scope."""
    if scope not in token().scopes:
        raise _Forbidden(f"This token lacks the scope “{scope}”.")


class _Forbidden(DomainError):
    status_code = 403


def organization(slug: str) -> Organization:
    """The organization named in the path, if the token reaches it: an organization token only
    its own, a personal token those where its user holds a role. Others are not found."""
    org = accounts.get_organization(slug) if len(slug) <= 64 else None
    if org is None or not actor().roles_in(org.id):
        raise NotFound("No such organization.")
    if token().organization_id is not None and token().organization_id != org.id:
        raise NotFound("No such organization.")
    return org


def staff(org: Organization) -> None:
    accounts.require_role(actor(), org, Role.ASSESSOR, Role.ADMIN)


def admin(org: Organization) -> None:
    accounts.require_role(actor(), org, Role.ADMIN)


def _encode(at: datetime, ident: int) -> str:
    raw = json.dumps([at.isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, ident = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), int(ident)
    except (ValueError, TypeError) as exc:
        raise DomainError("The cursor is not one this API gave out.") from exc


def _commit() -> None:
    db.session.commit()


class _With:
    """An object seen with extra attributes (for response schemas)."""

    def __init__(self, obj: object, **extra: object) -> None:
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)


def _spec() -> dict[str, Any]:
    return current_app.extensions["portfolio.api"].spec.to_dict()  # type: ignore[no-any-return]


# -- the description -----------------------------------------------------------------------------
@bp.route("/openapi.json")
@bp.doc(
    security=[],
    summary="This OpenAPI document",
    responses={
        "200": {
            "description": "The OpenAPI 3.1 document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
@public
def openapi_json() -> Response:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(_spec())


@bp.route("/docs")
@bp.doc(
    security=[],
    summary="Documentation page",
    responses={
        "200": {
            "description": "Every operation, readable",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
)
@public
def docs() -> str:
    """A readable list of every operation, from the OpenAPI document."""
    return render_template("api/docs.html", spec=_spec())


# -- me and organizations ------------------------------------------------------------------------
@bp.get("/me")
@bp.response(200, s.MeOut)
@public
def me() -> dict[str, Any]:
    """The user the token acts as, and the token itself."""
    t, user = token(), actor()
    return {
        "public_id": user.public_id,
        "display_name": user.display_name,
        "email": user.email,
        "token": {
            "id": t.public_id,
            "kind": str(t.kind),
            "scopes": t.scopes,
            "expires_at": t.expires_at.isoformat(),
            "organization": t.organization.slug if t.organization else None,
        },
    }


@bp.get("/organizations")
@bp.response(200, s.OrganizationOut(many=True))
@public
def list_organizations() -> list[Organization]:
    """Organizations the token reaches."""
    need("read")
    orgs = {m.organization.id: m.organization for m in actor().memberships}
    if token().organization_id is not None:
        orgs = {k: v for k, v in orgs.items() if k == token().organization_id}
    return sorted(orgs.values(), key=lambda o: o.slug)


@bp.get("/organizations/<slug>")
@bp.response(200, s.OrganizationOut)
@public
def get_organization(slug: str) -> Organization:
    """One organization."""
    need("read")
    return organization(slug)


# -- frameworks ----------------------------------------------------------------------------------
@bp.get("/organizations/<slug>/frameworks")
@bp.response(200, s.FrameworkOut(many=True))
@public
def list_frameworks(slug: str) -> list[Any]:
    """Competency frameworks of the organization (admins)."""
    from portfolio.frameworks.services import frameworks as framework_services

    need("read")
    org = organization(slug)
    admin(org)
    return framework_services.list_frameworks(org)


@bp.get("/organizations/<slug>/frameworks/<framework_id>")
@bp.response(200, s.FrameworkDetailOut)
@public
def get_framework(slug: str, framework_id: str) -> Any:
    """One framework with its competencies in tree order (admins)."""
    from portfolio.frameworks.services import frameworks as framework_services
    from portfolio.frameworks.services import tree as tree_services

    need("read")
    org = organization(slug)
    admin(org)
    framework = framework_services.get_framework(org, framework_id)
    return _With(framework, competencies=[c for c, _ in tree_services.competency_tree(framework)])


@bp.post("/organizations/<slug>/case-imports")
@bp.arguments(s.CaseImportArgs, location="query")
@bp.response(201, s.CaseImportOut)
@bp.doc(
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
        "description": "A CASE 1.1 package (CFPackage JSON)",
    }
)
@public
def import_case(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """Import a CASE package: all or nothing (admins)."""
    from portfolio.frameworks.case import importer as case_importer

    need("frameworks:write")
    org = organization(slug)
    admin(org)
    raw = request.get_data(cache=False)
    result = case_importer.import_case_package(
        actor(), org, raw, "package.json", update_existing=args["update_existing"]
    )
    tokens.record_token_use(token(), "framework.import", "framework", result.framework.public_id)
    _commit()
    return {
        "framework": result.framework,
        "updated": result.updated,
        "rubrics": [r.public_id for r in result.rubrics],
    }


# -- credentials ---------------------------------------------------------------------------------
def _credential_input(org: Organization, data: dict[str, Any]) -> Any:
    from portfolio.credentials.services import CredentialInput
    from portfolio.frameworks.models import Rubric, RubricVersion

    version_id = None
    if data.get("rubric_version"):
        version_id = db.session.scalar(
            select(RubricVersion.id)
            .join(Rubric)
            .where(
                RubricVersion.public_id == data["rubric_version"], Rubric.organization_id == org.id
            )
        )
        if version_id is None:
            raise DomainError("No such rubric version in this organization.")
    return CredentialInput(
        name=data["name"],
        description=data["description"],
        criteria_md=data["criteria_md"],
        tags=list(data["tags"]),
        rubric_version_id=version_id,
        expiry_months=data["expiry_months"],
        max_attempts=data["max_attempts"],
        credits_available=data["credits_available"],
        credits_unit=data["credits_unit"],
    )


@bp.get("/organizations/<slug>/credentials")
@bp.response(200, s.CredentialOut(many=True))
@public
def list_credentials(slug: str) -> list[Any]:
    """Credentials of the organization: every one for staff, the published ones for others."""
    from portfolio.credentials import services as creds

    need("read")
    org = organization(slug)
    if actor().has_role(org.id, Role.ADMIN, Role.ASSESSOR):
        return creds.list_credentials(org)
    return creds.published_credentials(org)


@bp.get("/organizations/<slug>/credentials/<credential_id>")
@bp.response(200, s.CredentialOut)
@public
def get_credential(slug: str, credential_id: str) -> Any:
    """One credential (drafts and archived ones for staff only)."""
    from portfolio.credentials import services as creds

    need("read")
    org = organization(slug)
    if actor().has_role(org.id, Role.ADMIN, Role.ASSESSOR):
        return creds.get_credential(org, credential_id)
    return creds.get_published_credential(org, credential_id)


@bp.post("/organizations/<slug>/credentials")
@bp.arguments(s.CredentialIn)
@bp.response(201, s.CredentialOut)
@public
def create_credential(data: dict[str, Any], slug: str) -> Any:
    """Create a draft credential (admins)."""
    from portfolio.credentials import services as creds

    need("credentials:write")
    org = organization(slug)
    cred = creds.create_credential(actor(), org, _credential_input(org, data))
    tokens.record_token_use(token(), "credential.create", "credential", cred.public_id)
    _commit()
    return cred


@bp.put("/organizations/<slug>/credentials/<credential_id>")
@bp.arguments(s.CredentialIn)
@bp.response(200, s.CredentialOut)
@public
def update_credential(data: dict[str, Any], slug: str, credential_id: str) -> Any:
    """Change a credential (admins); the same rules as the edit page."""
    from portfolio.credentials import services as creds

    need("credentials:write")
    org = organization(slug)
    admin(org)
    cred = creds.get_credential(org, credential_id)
    creds.update_credential(actor(), cred, _credential_input(org, data))
    tokens.record_token_use(token(), "credential.update", "credential", cred.public_id)
    _commit()
    return cred


def _credential_action(slug: str, credential_id: str, verb: str) -> Any:
    from portfolio.credentials import services as creds

    need("credentials:write")
    org = organization(slug)
    admin(org)
    cred = creds.get_credential(org, credential_id)
    getattr(creds, f"{verb}_credential")(actor(), cred)
    tokens.record_token_use(token(), f"credential.{verb}", "credential", cred.public_id)
    _commit()
    return cred


@bp.post("/organizations/<slug>/credentials/<credential_id>/publish")
@bp.response(200, s.CredentialOut)
@public
def publish_credential(slug: str, credential_id: str) -> Any:
    """Publish a credential (admins); refused with the reasons while it is incomplete."""
    return _credential_action(slug, credential_id, "publish")


@bp.post("/organizations/<slug>/credentials/<credential_id>/archive")
@bp.response(200, s.CredentialOut)
@public
def archive_credential(slug: str, credential_id: str) -> Any:
    """Archive a credential (admins): no longer offered; its awards stay valid."""
    return _credential_action(slug, credential_id, "archive")


# -- submissions ---------------------------------------------------------------------------------
@bp.get("/organizations/<slug>/submissions")
@bp.arguments(s.SubmissionArgs, location="query")
@bp.response(200, s.SubmissionPage)
@public
def list_submissions(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """Submitted work of the organization, newest first, in keyset pages (assessors and admins).
    Drafts stay private to their workers."""
    from portfolio.credentials.models import Credential
    from portfolio.submissions.models import Submission, SubmissionState

    need("read")
    org = organization(slug)
    staff(org)
    query = select(Submission).where(
        Submission.organization_id == org.id,
        Submission.state != SubmissionState.DRAFT,
        Submission.submitted_at.is_not(None),
    )
    if args["state"]:
        query = query.where(Submission.state == args["state"])
    if args["credential"]:
        query = query.join(Credential, Submission.credential_id == Credential.id).where(
            Credential.public_id == args["credential"]
        )
    if args["cursor"]:
        at, ident = _decode(args["cursor"])
        query = query.where(tuple_(Submission.submitted_at, Submission.id) < tuple_(at, ident))
    limit = args["limit"]
    rows = list(
        db.session.scalars(
            query.options(selectinload(Submission.learner), selectinload(Submission.credential))
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return {
        "items": rows,
        "next_cursor": _encode(last.submitted_at, last.id)
        if more and last and last.submitted_at
        else None,
    }


@bp.get("/organizations/<slug>/submissions/<submission_id>")
@bp.response(200, s.SubmissionDetailOut)
@public
def get_submission(slug: str, submission_id: str) -> Any:
    """One submission with its decision and the level given to each rubric element (its worker,
    or assessors and admins of the organization)."""
    from portfolio.submissions import access
    from portfolio.submissions.models import SubmissionState

    need("read")
    org = organization(slug)
    sub = access.get_submission(submission_id)
    user = actor()
    if (
        sub.organization_id != org.id
        or not access.can_view_submission(user, sub)
        or (sub.learner_id != user.id and sub.state == SubmissionState.DRAFT)
    ):
        raise NotFound("No such submission.")
    review = sub.review
    scores = access.scores_by_element(review)
    results = []
    for element in sub.rubric_version.elements:
        score = scores.get(element.id)
        results.append(
            {
                "element": element.public_id,
                "title": element.title,
                "level": score.level.name if score else None,
                "remark": score.remark if score else None,
            }
        )
    return _With(sub, outcome=str(review.outcome) if review else None, results=results)


# -- awards --------------------------------------------------------------------------------------
@bp.get("/organizations/<slug>/awards")
@bp.arguments(s.PageArgs, location="query")
@bp.response(200, s.AwardPage)
@public
def list_awards(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """Awards of the organization, newest first, in keyset pages (admins)."""
    from portfolio.awards.models import Award

    need("read")
    org = organization(slug)
    admin(org)
    query = select(Award).where(Award.organization_id == org.id)
    if args["cursor"]:
        at, ident = _decode(args["cursor"])
        query = query.where(tuple_(Award.issued_at, Award.id) < tuple_(at, ident))
    limit = args["limit"]
    rows = list(
        db.session.scalars(query.order_by(Award.issued_at.desc(), Award.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": rows,
        "next_cursor": _encode(rows[-1].issued_at, rows[-1].id) if more else None,
    }


def _org_award(org: Organization, award_id: str) -> Any:
    from portfolio.awards import issuance

    award = issuance.get_award(award_id)
    if award.organization_id != org.id:
        raise NotFound("No such badge.")
    return award


@bp.get("/organizations/<slug>/awards/<award_id>")
@bp.response(200, s.AwardOut)
@public
def get_award(slug: str, award_id: str) -> Any:
    """One award (admins of the organization, or its earner)."""
    need("read")
    org = organization(slug)
    award = _org_award(org, award_id)
    if award.recipient_id != actor().id:
        admin(org)
    return award


@bp.post("/organizations/<slug>/awards/<award_id>/revoke")
@bp.arguments(s.RevokeIn)
@bp.response(200, s.AwardOut)
@public
def revoke_award(data: dict[str, Any], slug: str, award_id: str) -> Any:
    """Revoke an award with a reason shown to the earner and to verifiers (admins)."""
    from portfolio.awards import revocation

    need("awards:write")
    org = organization(slug)
    admin(org)
    award = _org_award(org, award_id)
    revocation.revoke_award(actor(), award, data["reason"])
    tokens.record_token_use(token(), "award.revoke", "award", award.public_id)
    _commit()
    return award


# -- bulk awards (without rubric assessment) -----------------------------------------------------
def _batch_out(batch: Any) -> Any:
    from portfolio.awards import bulk

    return _With(batch, summary=bulk.batch_summary(batch))


@bp.post("/organizations/<slug>/credentials/<credential_id>/bulk-awards")
@bp.arguments(s.BulkAwardIn)
@bp.response(202, s.BulkAwardBatchOut)
@public
def create_bulk_award(data: dict[str, Any], slug: str, credential_id: str) -> Any:
    """Award a published credential without rubric assessment to a list of recipients
    (recognition of prior learning, imports). The whole list is checked first: any problem
    refuses it all (400, `errors.records` by record number). The awards are then issued by
    jobs; poll the returned batch. Recipients who already hold the badge with the same source
    id get nothing new (admins)."""
    from portfolio.awards import bulk, bulk_upload

    need("awards:write")
    org = organization(slug)
    admin(org)
    cred = bulk.bulk_credential(actor(), org, credential_id)
    rows = [{"line": i, **record} for i, record in enumerate(data["records"], start=1)]
    try:
        records = bulk_upload.check_records(rows)
    except bulk_upload.BulkAwardRefused as exc:
        db.session.rollback()
        return problem(
            400,
            "The records have problems; nothing was awarded",
            exc.message.replace("line ", "record "),
            errors={
                "records": [
                    {"record": p.line, "field": p.field, "reason": p.reason} for p in exc.problems
                ]
            },
        )
    batch = bulk.start_bulk_award(actor(), org, cred, records, data["reason"], source="api")
    tokens.record_token_use(token(), "award.bulk_start", "bulk_award_batch", batch.public_id)
    _commit()
    return _batch_out(batch)


@bp.get("/organizations/<slug>/bulk-awards/<batch_id>")
@bp.response(200, s.BulkAwardBatchOut)
@public
def get_bulk_award(slug: str, batch_id: str) -> Any:
    """The progress of a bulk award: issued, already held, invited (admins)."""
    from portfolio.awards import bulk

    need("read")
    org = organization(slug)
    admin(org)
    return _batch_out(bulk.get_batch(actor(), org, batch_id))


# -- members and invitations ---------------------------------------------------------------------
@bp.get("/organizations/<slug>/members")
@bp.response(200, s.MemberOut(many=True))
@public
def list_members(slug: str) -> list[Membership]:
    """Members and their roles (admins)."""
    need("read")
    org = organization(slug)
    admin(org)
    return list(
        db.session.scalars(
            select(Membership)
            .join(User)
            .options(selectinload(Membership.user))
            .where(Membership.organization_id == org.id)
            .order_by(User.display_name, Membership.role)
        )
    )


@bp.get("/organizations/<slug>/invitations")
@bp.response(200, s.InvitationOut(many=True))
@public
def list_invitations(slug: str) -> list[Invitation]:
    """Open invitations (admins)."""
    need("read")
    org = organization(slug)
    admin(org)
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.organization_id == org.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


@bp.post("/organizations/<slug>/invitations")
@bp.arguments(s.InvitationIn)
@bp.response(201, s.InvitationOut)
@public
def create_invitation(data: dict[str, Any], slug: str) -> Invitation:
    """Invite someone with a role; the invitation is mailed (admins)."""
    need("members:write")
    org = organization(slug)
    admin(org)
    invitation, _ = accounts.invite(actor(), org, data["email"], Role(data["role"]))
    tokens.record_token_use(token(), "membership.invite", "invitation", invitation.public_id)
    _commit()
    return invitation


# -- the worker's own evidence -------------------------------------------------------------------
@bp.get("/me/evidence")
@bp.arguments(s.EvidenceArgs, location="query")
@bp.response(200, s.EvidenceOut(many=True))
@public
def list_evidence(args: dict[str, Any]) -> list[Any]:
    """The token user's evidence library (ready items, newest work first)."""
    from portfolio.evidence import services as evidence

    need("read")
    return evidence.list_items(actor(), tag=args["tag"], kind=args["kind"])


@bp.put("/me/evidence/file")
@bp.arguments(s.UploadArgs, location="query")
@bp.response(201, s.EvidenceOut)
@bp.doc(
    requestBody={
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The file's bytes, streamed (size, type and quota checked as they arrive)",
    }
)
@public
def upload_evidence(args: dict[str, Any]) -> Any:
    """Upload a file into the token user's library through the streaming path."""
    from portfolio.evidence import uploads as evidence
    from portfolio.evidence.streaming import FullReader

    need("evidence:write")
    item = evidence.upload_stream(
        actor(),
        FullReader(request.stream),  # type: ignore[arg-type]
        filename=args["filename"],
        declared_size=request.content_length,
        title=args["title"],
        tags=args["tags"],
    )
    tokens.record_token_use(token(), "evidence.upload", "evidence", item.public_id)
    _commit()
    return item


# -- reports -------------------------------------------------------------------------------------
@bp.get("/organizations/<slug>/reports")
@bp.arguments(s.ReportArgs, location="query")
@bp.response(200, s.ReportOut)
@public
def get_report(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """The figures of the reports dashboard (admins)."""
    from portfolio.reports import services as reports

    need("read")
    org = organization(slug)
    admin(org)
    flt = reports.parse_filter(
        org,
        args["start"].isoformat() if args["start"] else None,
        args["end"].isoformat() if args["end"] else None,
        args["credential"],
    )
    report = reports.build_report(actor(), org, flt)

    def rows(items: list[Any]) -> list[dict[str, Any]]:
        return [
            {"label": r.label, "decided": r.decided, "passed": r.passed, "rate": r.rate}
            for r in items
        ]

    return {
        "start": flt.start,
        "end": flt.end,
        "waiting": report.queue.waiting,
        "oldest_waiting_hours": report.queue.oldest_hours,
        "decided": report.timing.decided,
        "median_decision_hours": report.timing.median_hours,
        "p90_decision_hours": report.timing.p90_hours,
        "by_credential": rows(report.by_credential),
        "by_attempt": rows(report.by_attempt),
    }
