"""Handing a badge to a wallet: the VC-API exchange the Learner Credential Wallet (LCW) speaks.

1. The earner opens "Add to wallet": a button and a QR code carrying the LCW link
   `https://lcw.app/request.html?request={"credentialRequestOrigin": <origin>,
   "protocols": {"vcapi": <exchange URL>}}`. The exchange URL holds a signed, short-lived token
   naming the award (no state is stored).
2. The wallet POSTs `{}` to the exchange URL; the answer is a `verifiablePresentationRequest`
   for a `DIDAuthentication` with a `challenge` (derived from the token) and our `domain`.
3. The wallet POSTs `{"verifiablePresentation": ...}`: a presentation whose `holder` is its
   `did:key`, signed by that key (Data Integrity `eddsa-rdfc-2022`, proofPurpose
   `authentication`, the challenge and domain). The answer is
   `{"verifiablePresentation": {"verifiableCredential": [<copy>]}}`: the badge's OB 3.0
   credential with `credentialSubject.id` set to that DID (the email identifier stays), signed
   by the issuer. It keeps the badge's id and status list entry, so revoking the badge revokes
   every copy.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import base58
from cryptography.exceptions import InvalidSignature
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pyld import jsonld

from portfolio.accounts.models import User
from portfolio.awards.models import Award
from portfolio.awards.ob import keys, proof
from portfolio.core.db import utcnow
from portfolio.core.errors import DomainError
from portfolio.core.urls import public_url

#: How long an "Add to wallet" code stays usable.
EXCHANGE_MAX_AGE = 15 * 60
#: The largest presentation a wallet may send (a DIDAuth presentation is about 1 KB).
MAX_PRESENTATION_BYTES = 64 * 1024
LCW_REQUEST_URL = "https://lcw.app/request.html"
_SALT = "portfolio.awards.wallet-exchange"


class ExchangeError(DomainError):
    """A wallet exchange that cannot go on (expired code, bad presentation...)."""

    status_code = 400


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["PORTFOLIO"].secret_key, salt=_SALT)


def start_exchange(user: User, award: Award) -> str:
    """A token for an exchange that delivers `award` to a wallet of its earner."""
    if award.recipient_id != user.id:
        raise ExchangeError("This is not your badge.")
    if award.is_revoked:
        raise ExchangeError("A revoked badge cannot be added to a wallet.")
    token: str = _serializer().dumps({"a": award.public_id})
    return token


def exchange_url(token: str) -> str:
    return public_url("verify.wallet_exchange", token=token)


def wallet_link(token: str) -> str:
    """The link (and QR code content) that opens the Learner Credential Wallet."""
    base = current_app.config["PORTFOLIO"].public_base_url.rstrip("/")
    request = {"credentialRequestOrigin": base, "protocols": {"vcapi": exchange_url(token)}}
    return f"{LCW_REQUEST_URL}?request={quote(json.dumps(request, separators=(',', ':')))}"


def qr_svg(text: str) -> str:
    """An inline SVG QR code of `text`, made here (no outside service sees the link)."""
    import segno

    code = segno.make(text, error="m")
    svg: str = code.svg_inline(scale=4, border=4, dark="#000", light="#fff")
    return svg


def _challenge(token: str) -> str:
    secret = current_app.config["PORTFOLIO"].secret_key.encode("utf-8")
    return hmac.new(secret, f"{_SALT}:{token}".encode(), hashlib.sha256).hexdigest()[:32]


def _domain() -> str:
    return urlsplit(current_app.config["PORTFOLIO"].public_base_url).netloc


def exchange_award_id(token: str) -> str:
    """The award public id a token names, or `ExchangeError` when expired or forged."""
    try:
        data = _serializer().loads(token, max_age=EXCHANGE_MAX_AGE)
    except SignatureExpired as exc:
        raise ExchangeError("This code has expired: open “Add to wallet” again.") from exc
    except BadSignature as exc:
        raise ExchangeError("This is not a valid wallet code.") from exc
    return str(data["a"])


def presentation_request(token: str) -> dict[str, Any]:
    """Step 2: what the exchange asks of the wallet."""
    return {
        "verifiablePresentationRequest": {
            "query": [
                {
                    "type": "DIDAuthentication",
                    "acceptedMethods": [{"method": "key"}],
                    "acceptedCryptosuites": [{"cryptosuite": proof.CRYPTOSUITE}],
                }
            ],
            "challenge": _challenge(token),
            "domain": _domain(),
            "interact": {
                "service": [
                    {
                        "type": "UnmediatedHttpPresentationService2021",
                        "serviceEndpoint": exchange_url(token),
                    }
                ]
            },
        }
    }


def _did_key_public_key(did: str) -> Any:
    if not did.startswith("did:key:z6Mk"):
        raise ExchangeError("Only Ed25519 did:key holders are accepted.")
    return keys.public_key_from_multibase(did[len("did:key:") :])


def verify_did_authentication(presentation: Mapping[str, Any], token: str) -> str:
    """Check a DIDAuth presentation for this exchange; the holder's DID.

    The holder must be a did:key, the proof an `eddsa-rdfc-2022` DataIntegrityProof for
    `authentication` by that key, over this exchange's challenge and our domain.
    """
    holder = presentation.get("holder")
    holder = holder.get("id") if isinstance(holder, Mapping) else holder
    proofs = presentation.get("proof")
    proofs = [proofs] if isinstance(proofs, Mapping) else proofs
    if not isinstance(holder, str) or not isinstance(proofs, list) or len(proofs) != 1:
        raise ExchangeError("The presentation needs a holder and one proof.")
    types = presentation.get("type")
    if "VerifiablePresentation" not in (types if isinstance(types, list) else [types]):
        raise ExchangeError("That is not a verifiable presentation.")
    if presentation.get("verifiableCredential"):
        raise ExchangeError("Send a DID Authentication presentation, without credentials.")
    p = proofs[0]
    if not isinstance(p, Mapping):
        raise ExchangeError("The proof is malformed.")
    public_key = _did_key_public_key(holder)
    method = p.get("verificationMethod")
    expected = {
        "type": proof.PROOF_TYPE,
        "cryptosuite": proof.CRYPTOSUITE,
        "proofPurpose": "authentication",
        "challenge": _challenge(token),
        "domain": _domain(),
    }
    wrong = [name for name, value in expected.items() if p.get(name) != value]
    if wrong:
        raise ExchangeError(f"The proof does not fit this exchange ({', '.join(wrong)}).")
    if not isinstance(method, str) or method.split("#", 1)[0] != holder:
        raise ExchangeError("The presentation is not signed by its holder's key.")
    value = p.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise ExchangeError("The proof has no proofValue.")
    try:
        unsecured = {k: v for k, v in presentation.items() if k != "proof"}
        proof.check_defined_terms(unsecured)
        public_key.verify(base58.b58decode(value[1:]), proof.hash_data(presentation, p))
    except InvalidSignature as exc:
        raise ExchangeError("The presentation's signature does not verify.") from exc
    except (ValueError, jsonld.JsonLdError) as exc:
        raise ExchangeError(f"The presentation cannot be checked: {exc}") from exc
    return holder


def bound_copy(award: Award, did: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The award's OB 3.0 credential with `credentialSubject.id` = `did`, signed afresh by the
    issuer's active key (same id, same status entry, the email identifier kept)."""
    from portfolio.awards import documents, signing_keys

    if award.ob3_credential is None:
        raise documents.BeingSigned()
    credential = json.loads(award.ob3_credential)
    credential.pop("proof", None)
    subject = copy.deepcopy(credential["credentialSubject"])
    credential["credentialSubject"] = {"id": did, **subject}
    org = award.organization
    private = signing_keys.signing_private_key(org)
    return proof.sign_credential(
        credential,
        private,
        signing_keys.verification_method(org, private),
        created=(now or utcnow()).replace(microsecond=0),
    )


def answer(token: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """One step of the exchange: `{}` gets the presentation request; a DIDAuth presentation
    gets the bound, signed copy in a presentation."""
    from portfolio.awards import issuance

    award = issuance.get_award(exchange_award_id(token))
    if award.is_revoked:
        raise ExchangeError("This badge has been revoked.")
    presentation = body.get("verifiablePresentation")
    if presentation is None:
        return presentation_request(token)
    if not isinstance(presentation, Mapping):
        raise ExchangeError("verifiablePresentation must be an object.")
    did = verify_did_authentication(presentation, token)
    credential = bound_copy(award, did)
    return {
        "verifiablePresentation": {
            "@context": [credential["@context"][0]],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [credential],
        }
    }
