"""Checking badges: "verify this badge" on its page, and the verification endpoint that checks
a badge URL of this service, a baked image or a credential/assertion JSON."""

from __future__ import annotations

import json

from flask import Response, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from portfolio.awards import verification
from portfolio.core.errors import DomainError
from portfolio.core.security import public
from portfolio.extensions import csrf, limiter
from portfolio.verify.views import bp
from portfolio.verify.views.badges import award_or_404, badge_page
from portfolio.verify.views.responses import (
    wants_json,
)

#: Largest upload the verification endpoint reads (a baked badge is a small image).
MAX_VERIFY_BYTES = 5 * 1024 * 1024


@bp.get("/badges/<aid>/verify")
@public
@limiter.limit("60 per minute")
def check_badge(aid: str) -> BaseResponse | str:
    """ "Verify this badge": re-check the signature and the status now."""
    award = award_or_404(aid)
    result = verification.verify_award(award)
    if wants_json():
        return _verification_json(result)
    return badge_page(award, verification=result)


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
    if wants_json() or request.is_json:
        return _verification_json(result)
    return render_template("verify/verify.html", result=result, error=None)


def _verify_error(message: str) -> BaseResponse | tuple[str, int]:
    if wants_json() or request.is_json:
        response = Response(
            json.dumps({"valid": False, "status": "error", "error": message}),
            status=400,
            mimetype="application/json",
        )
        return response
    return render_template("verify/verify.html", result=None, error=message), 400
