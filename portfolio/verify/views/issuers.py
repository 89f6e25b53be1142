"""What an issuer publishes: its profile, signing keys and DID document, revocation and status
lists, and the badge classes, competencies and rubrics its badges cite."""

from __future__ import annotations

from flask import Response, abort, redirect, render_template
from werkzeug.wrappers import Response as BaseResponse

from portfolio.accounts.models import Organization
from portfolio.awards import documents, images, revocation, signing_keys, status_lists
from portfolio.core.errors import NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.security import public
from portfolio.credentials.images import SVG_CSP
from portfolio.credentials.models import Credential
from portfolio.verify import services
from portfolio.verify.views import bp
from portfolio.verify.views.responses import (
    MAX_AGE,
    hosted_document,
    wants_json,
)


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
    if wants_json():
        return hosted_document(documents.issuer_profile_document(org))
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
    return hosted_document(signing_keys.controller_document_of(_published_keys(oid)))


@bp.get("/issuers/<oid>/keys/<multibase>")
@public
def issuer_key(oid: str, multibase: str) -> BaseResponse:
    """One signing key as a Multikey document: what a proof's `verificationMethod` names."""
    try:
        document = signing_keys.key_document_of(_published_keys(oid), multibase)
    except NotFound:
        abort(404)
    return hosted_document(document)


@bp.get("/issuers/<oid>/did.json")
@public
def issuer_did(oid: str) -> BaseResponse:
    """The did:web DID document (served when the public base URL is https)."""
    document = signing_keys.did_document_of(_published_keys(oid))
    if document is None:
        abort(404)
    return hosted_document(document, mimetype="application/did+ld+json")


@bp.get("/issuers/<oid>/revocations")
@public
def revocations(oid: str) -> BaseResponse:
    """The 1EdTech revocation list of the issuer's OB 3.0 credentials."""
    return hosted_document(revocation.revocation_list(_org(oid)), mimetype="application/json")


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
    response = hosted_document(body, etag=sha)
    response.headers["Cache-Control"] = f"public, max-age={STATUS_LIST_MAX_AGE}"
    return response


# -- badge classes and rubrics ---------------------------------------------------------------------
@bp.get("/badgeclasses/<cid>")
@public
def badge_class(cid: str) -> BaseResponse | str:
    """The OB 2.0 BadgeClass (JSON-LD), or the criteria page for browsers."""
    cred = _credential(cid)
    if wants_json():
        return hosted_document(documents.badge_class_document(cred))
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
