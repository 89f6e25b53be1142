"""Delivering a badge to a wallet: the VC-API exchange (`portfolio.awards.wallet`)."""

from __future__ import annotations

import json

from flask import Response, request
from werkzeug.wrappers import Response as BaseResponse

from portfolio.core.errors import DomainError, NotFound
from portfolio.core.security import public
from portfolio.extensions import csrf, limiter
from portfolio.verify.views import bp


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
