"""Public pages and hosted documents: everything here is read-only and needs no login.

Documents are served from what was stored at issuance (one indexed lookup) and the badge page
from its stored rendering (`portfolio.verify.pages`), each with an ETag and a short max-age
(`pages.MAX_AGE`, 60 s), so a revocation shows everywhere within a minute.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from portfolio.accounts.models import Organization
from portfolio.awards import (
    baking,
    documents,
    images,
    issuance,
    revocation,
    signing_keys,
    status_lists,
    verification,
    visibility,
)
from portfolio.awards.models import Award
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.security import public
from portfolio.core.urls import public_url
from portfolio.credentials.images import SVG_CSP
from portfolio.credentials.models import Credential
from portfolio.evidence.validation import inline_kind
from portfolio.extensions import csrf, limiter
from portfolio.pathways.lapses import stack_components
from portfolio.storage.s3 import content_disposition
from portfolio.submissions.access import scores_by_element
from portfolio.verify import pages, services

bp = Blueprint("verify", __name__)

#: Short enough that a revocation reaches every cache within a minute.
MAX_AGE = pages.MAX_AGE
JSONLD = "application/ld+json"
#: Media types of a W3C Verifiable Credential (VC 2.0 `application/vc`, and the older form).
VC_TYPES = ("application/vc+ld+json", "application/vc")
#: Largest upload the verification endpoint reads (a baked badge is a small image).
MAX_VERIFY_BYTES = 5 * 1024 * 1024


def _wants_vc() -> bool:
    """Whether the client asks for the Verifiable Credential (a wallet given the share link)."""
    best = request.accept_mimetypes.best_match(["text/html", JSONLD, "application/json", *VC_TYPES])
    return best in VC_TYPES


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", JSONLD, "application/json"])
    return best in (JSONLD, "application/json")


#: Seconds a client should wait before asking again for the documents of a badge being signed.
SIGNING_RETRY_AFTER = 2


def being_signed_response() -> BaseResponse:
    """The documents of a badge being signed do not exist yet: 404 (nothing to serve, which
    validators read as "not there", never as a bad badge) with `Retry-After`, never cached."""
    response = Response(
        json.dumps(
            {
                "error": "being signed",
                "message": "This badge is being signed — it will appear in a moment.",
            }
        ),
        status=404,
        mimetype="application/json",
    )
    response.headers["Retry-After"] = str(SIGNING_RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    return response


def _document(
    body: str | dict[str, Any] | None,
    *,
    status: int = 200,
    etag: str | None = None,
    mimetype: str = JSONLD,
    attachment: str | None = None,
) -> BaseResponse:
    if body is None:
        return being_signed_response()
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, indent=2)
    response = Response(text, status=status, mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    # Hosted documents are meant to be read by validators and wallets on other sites.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    if attachment:
        # Names may hold any character: an ASCII fallback plus the RFC 6266 UTF-8 form.
        response.headers["Content-Disposition"] = content_disposition(attachment, inline=False)
    response.set_etag(etag or documents.sha256_hex(text))
    return response.make_conditional(request)


def _org(oid: str) -> Organization:
    try:
        return services.get_issuer(oid)
    except NotFound:
        abort(404)


def _credential(cid: str) -> Credential:
    """A credential anyone may see: published, or with awards out in the world."""
    try:
        return services.get_visible_credential(cid)
    except NotFound:
        abort(404)


# -- issuer ------------------------------------------------------------------------------------
@bp.get("/issuers/<oid>")
@public
def issuer(oid: str) -> BaseResponse | str:
    """The OB 2.0 Issuer Profile (JSON-LD), or a small page for browsers."""
    org = _org(oid)
    if _wants_json():
        return _document(documents.issuer_profile_document(org))
    return render_template("verify/issuer.html", org=org)


def _published_keys(oid: str) -> signing_keys.PublishedKeys:
    issuer = signing_keys.published_keys_of(oid)
    if issuer is None:
        abort(404)
    return issuer


@bp.get("/issuers/<oid>/keys")
@public
def issuer_keys(oid: str) -> BaseResponse:
    """The Multikey controller document: every signing key, retired ones included."""
    return _document(signing_keys.controller_document_of(_published_keys(oid)))


@bp.get("/issuers/<oid>/keys/<multibase>")
@public
def issuer_key(oid: str, multibase: str) -> BaseResponse:
    """One signing key as a Multikey document: what a proof's `verificationMethod` names."""
    try:
        document = signing_keys.key_document_of(_published_keys(oid), multibase)
    except NotFound:
        abort(404)
    return _document(document)


@bp.get("/issuers/<oid>/did.json")
@public
def issuer_did(oid: str) -> BaseResponse:
    """The did:web DID document (served when the public base URL is https)."""
    document = signing_keys.did_document_of(_published_keys(oid))
    if document is None:
        abort(404)
    return _document(document, mimetype="application/did+ld+json")


@bp.get("/issuers/<oid>/revocations")
@public
def revocations(oid: str) -> BaseResponse:
    """The 1EdTech revocation list of the issuer's OB 3.0 credentials."""
    return _document(revocation.revocation_list(_org(oid)), mimetype="application/json")


#: Status lists change on every revocation: verifiers should see that within a minute.
STATUS_LIST_MAX_AGE = 60


@bp.get("/issuers/<oid>/status/<lid>")
@public
def status_list(oid: str, lid: str) -> BaseResponse:
    """A signed W3C BitstringStatusListCredential of the issuer (revocation bits)."""
    try:
        body, sha = status_lists.stored_status_list(oid, lid)
    except NotFound:
        abort(404)
    response = _document(body, etag=sha)
    response.headers["Cache-Control"] = f"public, max-age={STATUS_LIST_MAX_AGE}"
    return response


# -- badge classes and rubrics ---------------------------------------------------------------------
@bp.get("/badgeclasses/<cid>")
@public
def badge_class(cid: str) -> BaseResponse | str:
    """The OB 2.0 BadgeClass (JSON-LD), or the criteria page for browsers."""
    cred = _credential(cid)
    if _wants_json():
        return _document(documents.badge_class_document(cred))
    return render_template("verify/badge_class.html", cred=cred, org=cred_org(cred))


def cred_org(cred: Credential) -> Organization:
    return services.credential_organization(cred)


@bp.get("/badgeclasses/<cid>/image")
@public
def badge_class_image(cid: str) -> BaseResponse:
    """The badge image, or a generated one when the credential has none."""
    cred = _credential(cid)
    data, content_type = images.badge_image(cred)
    response = Response(data, mimetype=content_type)
    if content_type == "image/svg+xml":
        # Cleaned on upload; the sandbox stops any script even if the file is opened directly.
        response.headers["Content-Security-Policy"] = SVG_CSP
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/competencies/<kid>")
@public
def competency(kid: str) -> BaseResponse | str:
    """A competency that badges cite, by its id alone: moved to its page in its framework
    (HTML, or the CASE CFItem by content negotiation), where alignments point."""
    if not is_public_id(kid):
        abort(404)
    try:
        comp = documents.public_competency(kid)
    except NotFound:
        abort(404)
    return redirect(documents.competency_url(comp), 301)


@bp.get("/rubrics/<vid>")
@public
def rubric(vid: str) -> str:
    """A published rubric version: the elements and levels that badges cite."""
    try:
        version = services.get_published_rubric_version(vid)
    except NotFound:
        abort(404)
    return render_template("verify/rubric.html", version=version)


# -- badges ------------------------------------------------------------------------------------
def _award(aid: str) -> Award:
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
        status, body = documents.assertion_document(_award(aid))
        return _document(body, status=status)
    return _document(row.ob2_assertion, etag=row.ob2_sha256)


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
    if _wants_vc():
        row = _stored(aid, Award.ob3_credential, Award.ob3_sha256)
        return _document(row.ob3_credential, etag=row.ob3_sha256, mimetype=VC_TYPES[0])
    if _wants_json():
        return _assertion_response(aid)
    if pages.is_anonymous_visit():
        return pages.anonymous_badge_page(
            aid, lambda: _badge_page(_award_for_page(aid), verification=None)
        )
    # Rendered for this visitor; also never kept while "being signed", which lasts a moment.
    return pages.personal_response(_badge_page(_award_for_page(aid), verification=None))


def _badge_page(award: Award, verification: verification.VerificationResult | None) -> str:
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
    return _document(
        row.ob3_credential,
        etag=row.ob3_sha256,
        mimetype="application/json",
        attachment=f"{row.name[:60]}-ob3.json",
    )


@bp.get("/badges/<aid>/badge-ob<any('2','3'):major>.<any('png','svg'):fmt>")
@public
def baked(aid: str, major: str, fmt: str) -> BaseResponse:
    """A badge image with the assertion (OB 2.0) or the credential (OB 3.0) baked in."""
    award = _award(aid)
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


@bp.get("/badges/<aid>/verify")
@public
@limiter.limit("60 per minute")
def check_badge(aid: str) -> BaseResponse | str:
    """ "Verify this badge": re-check the signature and the status now."""
    award = _award(aid)
    result = verification.verify_award(award)
    if _wants_json():
        return _verification_json(result)
    return _badge_page(award, verification=result)


@bp.get("/badges/<aid>/evidence/<eid>")
@public
def evidence(aid: str, eid: str) -> tuple[str, int] | str:
    """One piece of the assessed evidence, unless the earner withheld it."""
    award = _award(aid)
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
    award = _award(aid)
    try:
        item = issuance.get_award_evidence(award, eid)
        url = visibility.evidence_file_url(award, item, inline=request.args.get("inline") == "1")
    except NotFound:
        abort(404)
    response = redirect(url)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- wallets -------------------------------------------------------------------------------------
@bp.post("/wallet/exchanges/<token>")
@public
# A wallet posts JSON from an app, with no session: the signed token is the credential.
@csrf.exempt
@limiter.limit("30 per minute")
def wallet_exchange(token: str) -> BaseResponse:
    """The VC-API exchange that delivers a badge to a wallet (see `portfolio.awards.wallet`)."""
    from portfolio.awards import wallet

    request.max_content_length = wallet.MAX_PRESENTATION_BYTES
    body = request.get_json(silent=True)
    if body is None and request.get_data():
        return _exchange_error("The body must be JSON.")
    try:
        answer = wallet.answer(token, body or {})
    except NotFound:
        return _exchange_error("No such badge.", 404)
    except DomainError as exc:
        return _exchange_error(exc.message, exc.status_code)
    response = Response(json.dumps(answer, ensure_ascii=False), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _exchange_error(message: str, status: int = 400) -> BaseResponse:
    response = Response(json.dumps({"error": message}), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the verification endpoint ---------------------------------------------------------------------
def _verification_json(result: verification.VerificationResult) -> BaseResponse:
    response = Response(json.dumps(result.as_dict(), indent=2), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/verify", methods=["GET", "POST"])
@public
# Read-only: checking a badge changes nothing, and programs post JSON without a session.
@csrf.exempt
# Every check re-verifies a signature (tens of milliseconds of CPU): bounded per address.
@limiter.limit("60 per minute")
def verify() -> BaseResponse | str | tuple[str, int]:
    """Check a badge URL of this service, a baked PNG/SVG, or a credential/assertion JSON.
    Other sites' URLs are never fetched (no server-side requests on a visitor's behalf)."""
    if request.method == "GET" and not request.args.get("url"):
        return render_template("verify/verify.html", result=None, error=None)
    # A baked badge is a few kilobytes: refuse big bodies before they are read or spooled.
    request.max_content_length = MAX_VERIFY_BYTES + 64 * 1024
    url = request.values.get("url", "").strip() or None
    data: bytes | None = None
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.stream.read(MAX_VERIFY_BYTES + 1)
    elif request.is_json or (not url and not request.form):
        data = request.stream.read(MAX_VERIFY_BYTES + 1) or None
    elif request.form.get("json", "").strip():
        data = request.form["json"].encode("utf-8")
    if data is not None and len(data) > MAX_VERIFY_BYTES:
        error = "That file is larger than 5 MB; a baked badge is much smaller."
        return _verify_error(error)
    try:
        result = verification.verify_input(url=url, data=data)
    except DomainError as exc:
        return _verify_error(exc.message)
    if _wants_json() or request.is_json:
        return _verification_json(result)
    return render_template("verify/verify.html", result=result, error=None)


def _verify_error(message: str) -> BaseResponse | tuple[str, int]:
    if _wants_json() or request.is_json:
        response = Response(
            json.dumps({"valid": False, "status": "error", "error": message}),
            status=400,
            mimetype="application/json",
        )
        return response
    return render_template("verify/verify.html", result=None, error=message), 400
