"""The badge itself: its page (stored for anonymous visitors, `portfolio.verify.pages`), its
hosted assertion and credential, baked images, and the evidence it shows."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, redirect, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse

from portfolio.awards import baking, documents, issuance, verification, visibility
from portfolio.awards.models import Award
from portfolio.core.errors import NotFound
from portfolio.core.security import public
from portfolio.core.transaction import commit, rollback
from portfolio.core.urls import public_url
from portfolio.credentials.images import SVG_CSP
from portfolio.credentials.models import Credential
from portfolio.evidence.validation import inline_kind
from portfolio.pathways.lapses import stack_components
from portfolio.submissions.access import scores_by_element
from portfolio.verify import pages, services
from portfolio.verify.views import bp
from portfolio.verify.views.responses import (
    MAX_AGE,
    VC_TYPES,
    being_signed_response,
    hosted_document,
    wants_json,
    wants_vc,
)


def award_or_404(aid: str) -> Award:
    try:
        return issuance.get_award(aid)
    except NotFound:
        abort(404)


def _award_for_page(aid: str) -> Award:
    try:
        return services.get_award_for_page(aid)
    except NotFound:
        abort(404)


def _stored(aid: str, *columns: Any) -> Any:
    try:
        return services.stored_columns(aid, *columns)
    except NotFound:
        abort(404)


def _assertion_response(aid: str) -> BaseResponse:
    row = _stored(aid, Award.ob2_assertion, Award.ob2_sha256)
    if row.ob2_assertion is None:
        return being_signed_response()
    if row.revoked_at is not None:  # rare: the 410 body is built by the issuance service
        status, body = documents.assertion_document(award_or_404(aid))
        return hosted_document(body, status=status)
    return hosted_document(row.ob2_assertion, etag=row.ob2_sha256)


def _linkedin_url(award: Award) -> str:
    from portfolio.core.share import linkedin_add_url

    return linkedin_add_url(
        name=award.credential.name,
        organization=award.organization.name,
        issued=award.issued_at,
        expires=award.expires_at,
        url=public_url("verify.badge", aid=award.public_id),
        cert_id=award.public_id,
        organization_id=award.organization.linkedin_organization_id,
    )


@bp.get("/badges/<aid>")
@public
def badge(aid: str) -> BaseResponse | str:
    """The badge: HTML for browsers; the hosted OB 2.0 assertion for JSON-LD clients (410 Gone
    with the reason once revoked); the signed OB 3.0 credential to `application/vc+ld+json`
    (its status list says whether it is revoked)."""
    if wants_vc():
        row = _stored(aid, Award.ob3_credential, Award.ob3_sha256)
        return hosted_document(row.ob3_credential, etag=row.ob3_sha256, mimetype=VC_TYPES[0])
    if wants_json():
        return _assertion_response(aid)
    if pages.is_anonymous_visit():
        response, kept = pages.anonymous_badge_page(
            aid, lambda: badge_page(_award_for_page(aid), verification=None)
        )
        if kept:
            _commit_kept_page(aid)
        return response
    # Rendered for this visitor; also never kept while "being signed", which lasts a moment.
    return pages.personal_response(badge_page(_award_for_page(aid), verification=None))


def _commit_kept_page(aid: str) -> None:
    """Commit the page `pages.anonymous_badge_page` kept: a busy database only means the page
    is stored another time, so the visitor still gets it."""
    try:
        commit()
    except SQLAlchemyError:
        current_app.logger.warning("could not store the badge page of %s", aid, exc_info=True)
        rollback()


def badge_page(award: Award, verification: verification.VerificationResult | None) -> str:
    from portfolio.awards.versions import shown_credential

    submission = award.submission
    # A stacked credential (earned through a pathway) has components instead of a rubric.
    components = stack_components(award) if award.pathway_id is not None else None
    version = submission.rubric_version if submission is not None else None
    scores = scores_by_element(award.review)
    return render_template(
        "verify/badge.html",
        award=award,
        # What the badge was issued with, not the credential as edited since.
        cred=shown_credential(award),
        org=award.organization,
        status=award.status(),
        version=version,
        scores=scores,
        components=components,
        verification=verification,
        badge_url=public_url("verify.badge", aid=award.public_id),
        linkedin_url=_linkedin_url(award),
        image_url=public_url("verify.badge_class_image", cid=award.credential.public_id),
        is_public=visibility.is_evidence_public,
        testimonies=_testimonies(award),
    )


def _testimonies(award: Award) -> list[object]:
    """The witness testimonies the signed credential lists as evidence (those confirmed before
    issuance), so the page says what the credential says."""
    from portfolio.submissions.witness import confirmed_of_submission

    return [
        t
        for t in confirmed_of_submission(award.submission_id)
        if f"#witness-{t.public_id}" in (award.ob3_credential or "")
    ]


@bp.get("/badges/<aid>/assertion.json")
@public
def assertion(aid: str) -> BaseResponse:
    """The hosted OB 2.0 assertion, whatever the Accept header says."""
    return _assertion_response(aid)


@bp.get("/badges/<aid>/credential.json")
@public
def credential(aid: str) -> BaseResponse:
    """The signed OB 3.0 credential, as a download."""
    row = _stored(aid, Award.ob3_credential, Award.ob3_sha256, Credential.name)
    return hosted_document(
        row.ob3_credential,
        etag=row.ob3_sha256,
        mimetype="application/json",
        attachment=f"{row.name[:60]}-ob3.json",
    )


@bp.get("/badges/<aid>/badge-ob<any('2','3'):major>.<any('png','svg'):fmt>")
@public
def baked(aid: str, major: str, fmt: str) -> BaseResponse:
    """A badge image with the assertion (OB 2.0) or the credential (OB 3.0) baked in."""
    award = award_or_404(aid)
    if award.is_revoked:
        abort(410, "This badge has been revoked.")
    if award.is_being_signed:
        return being_signed_response()
    data, content_type = baking.baked_badge(award, f"{major}.0", fmt)
    response = Response(data, mimetype=content_type)
    # Downloads as attachments: the SVG is ours, but an attachment never runs in our origin.
    response.headers["Content-Disposition"] = (
        f'attachment; filename="badge-{award.public_id}-ob{major}.{fmt}"'
    )
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    if fmt == "svg":
        response.headers["Content-Security-Policy"] = SVG_CSP
    return response


@bp.get("/badges/<aid>/evidence/<eid>")
@public
def evidence(aid: str, eid: str) -> tuple[str, int] | str:
    """One piece of the assessed evidence, unless the earner withheld it."""
    award = award_or_404(aid)
    try:
        item = issuance.get_award_evidence(award, eid)
    except NotFound:
        abort(404)
    if item.withdrawn_at is not None:
        return render_template("verify/evidence.html", award=award, item=item, withdrawn=True), 410
    if not visibility.is_evidence_public(award, item):
        return render_template("verify/evidence.html", award=award, item=item, withheld=True), 403
    return render_template(
        "verify/evidence.html",
        award=award,
        item=item,
        withheld=False,
        link=item.submission_evidence,
        kind=inline_kind(item.media_type),
    )


@bp.get("/badges/<aid>/evidence/<eid>/file")
@public
def evidence_file(aid: str, eid: str) -> BaseResponse:
    """A redirect to a short-lived signed URL of the frozen file (never for withheld items)."""
    award = award_or_404(aid)
    try:
        item = issuance.get_award_evidence(award, eid)
        url = visibility.evidence_file_url(award, item, inline=request.args.get("inline") == "1")
    except NotFound:
        abort(404)
    response = redirect(url)
    response.headers["Cache-Control"] = "no-store"
    return response
