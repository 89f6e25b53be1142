"""Every registered endpoint, requested by every role, with the ids of objects each role should
and should not reach. The expected outcome of each (endpoint, role) is declared below; an
endpoint registered in the URL map without a declaration fails the test, so a new route cannot
escape it. Every HTML response on the way is checked for the security headers.

Outcomes:
- OK: the page or action works (2xx, or a redirect that is not to the sign-in page);
- LOGIN: sent to the sign-in page, nothing written;
- DENY: 403 or 404, nothing written;
- REFUSED: the action is refused by a rule (a message, a redirect or a 4xx), nothing written;
- DISCARDED: refused with a 4xx, and the object refused is cleaned away;
- a number: exactly that status, nothing written.

"Nothing written" is checked by counting the rows of the main tables before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from werkzeug.routing import Rule

from portfolio.accounts import organizations
from portfolio.credentials import services as badge_services
from portfolio.extensions import db
from tests.security.conftest import ROLES, World, make_bulk_batch, row_counts
from tests.submissions.conftest import png_bytes

OK, LOGIN, DENY, REFUSED, DISCARDED = "ok", "login", "deny", "refused", "discarded"
Outcome = str | int


def _roles(default: Outcome, anonymous: Outcome = LOGIN, **over: Outcome) -> dict[str, Outcome]:
    table = {role: default for role in ROLES}
    table["anonymous"] = anonymous
    table.update(over)
    return table


#: Anyone signed in; visitors are sent to sign in.
SIGNED_IN = _roles(OK)
#: Public pages: everyone gets them.
PUBLIC = _roles(OK, anonymous=OK)
#: The worker's own things.
OWNER = _roles(DENY, worker=OK)
#: Assessors and admins of the worker's organization.
STAFF = _roles(DENY, assessor=OK, admin=OK)
#: Admins of the organization only.
ADMIN = _roles(DENY, admin=OK)
#: The JSON API with a session cookie and no token: refused for everyone, nothing written.
NO_SESSION = _roles(401, anonymous=401)
#: The owner, and the assessors, admins, moderators and internal verifiers of the organization
#: (frozen submitted evidence).
OWNER_AND_STAFF = _roles(DENY, worker=OK, assessor=OK, admin=OK, moderator=OK, verifier=OK)
#: Moderators / internal verifiers of organization A.
MODERATOR = _roles(DENY, moderator=OK)
VERIFIER = _roles(DENY, verifier=OK)


@dataclass(frozen=True)
class Decl:
    """How to call one endpoint and what each role gets."""

    args: dict[str, str] = field(default_factory=dict)  #: rule argument -> key of World.ids
    expect: dict[str, Outcome] = field(default_factory=lambda: dict(SIGNED_IN))
    #: Per-method overrides of single roles, e.g. {"POST": {"admin": 409}}.
    per_method: dict[str, dict[str, Outcome]] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)  #: form fields besides the CSRF token
    json: dict[str, Any] | None = None  #: JSON body (API-style endpoints)
    literal: dict[str, Any] = field(default_factory=dict)  #: rule arguments given as is


def d(expect: dict[str, Outcome], **kwargs: Any) -> Decl:
    args = {k: v for k, v in kwargs.items() if isinstance(v, str) and k not in {"data"}}
    rest = {k: v for k, v in kwargs.items() if k not in args}
    return Decl(args=args, expect=expect, **rest)


ORG = {"slug": "slug"}
FORGED = "eyJ1IjoiZm9yZ2VkIn0.forged.signature"

#: The declarations, in the order they are walked: reading first, then changes, then the
#: actions that destroy their object (each on a throwaway object), sign-out last.
DECLARATIONS: dict[str, Decl] = {
    # -- static and public ---------------------------------------------------------------------
    "static": d(PUBLIC, literal={"filename": "css/app.css"}),
    "accounts.index": d(PUBLIC),
    "accounts.healthz": d(PUBLIC),
    "accounts.login": d(PUBLIC),
    # Organization A offers no single sign-on: a clear 404 page, whoever asks.
    "sso.start": d(_roles(404, anonymous=404), **ORG),
    # No sign-in was started in this browser: refused, nobody signed in.
    "sso.callback": d(_roles(400, anonymous=400)),
    "accounts.forgot_password": d(PUBLIC),
    "accounts.reset_password": d(_roles(400, anonymous=400), literal={"token": FORGED}),
    "accounts.accept_invitation": d(_roles(400, anonymous=400), literal={"token": FORGED}),
    "accounts.confirm_email": d(_roles(400, anonymous=400), literal={"token": FORGED}),
    # Organization A registers by invitation only.
    "accounts.register": d(_roles(403, anonymous=403), **ORG),
    "accounts.organization_logo": d(PUBLIC, **ORG),
    "credentials.catalogue": d(PUBLIC, **ORG),
    "credentials.catalogue_credential": d(PUBLIC, slug="slug", cid="cred"),
    "credentials.credential_image": d(PUBLIC, slug="slug", cid="cred"),
    "verify.issuer": d(PUBLIC, oid="oid"),
    "verify.issuer_keys": d(PUBLIC, oid="oid"),
    # No such key / list / competency in the fixture data: 404 for everyone, never a login.
    "verify.issuer_key": d(_roles(404, anonymous=404), oid="oid", literal={"multibase": "z6Mk"}),
    "verify.status_list": d(_roles(404, anonymous=404), oid="oid", literal={"lid": "x" * 22}),
    "verify.competency": d(_roles(404, anonymous=404), literal={"kid": "x" * 22}),
    # A wallet exchange needs its signed code: a forged one is refused, whoever asks.
    "verify.wallet_exchange": d(
        _roles(404, anonymous=404),
        literal={"token": FORGED},
        per_method={"POST": _roles(400, anonymous=400)},
    ),
    # Served only when the public base URL is https (the tests run on http://localhost).
    "verify.issuer_did": d(_roles(404, anonymous=404), oid="oid"),
    "verify.revocations": d(PUBLIC, oid="oid"),
    "frameworks.public_framework": d(PUBLIC, fid="fid"),
    "frameworks.public_competency": d(PUBLIC, fid="fid", cid="comp"),
    "frameworks.public_tree_fragment": d(PUBLIC, fid="fid"),
    "verify.badge_class": d(PUBLIC, cid="cred"),
    "verify.badge_class_image": d(PUBLIC, cid="cred"),
    "verify.rubric": d(PUBLIC, vid="vid"),
    "verify.badge": d(PUBLIC, aid="aid"),
    "verify.assertion": d(PUBLIC, aid="aid"),
    "verify.credential": d(PUBLIC, aid="aid"),
    "verify.baked": d(PUBLIC, aid="aid", literal={"major": "2", "fmt": "png"}),
    "verify.check_badge": d(PUBLIC, aid="aid"),
    "verify.evidence": d(PUBLIC, aid="aid", eid="eid"),
    "verify.evidence_file": d(PUBLIC, aid="aid", eid="eid"),
    # An empty verification form is refused with a message.
    "verify.verify": d(PUBLIC, per_method={"POST": _roles(REFUSED, anonymous=REFUSED)}),
    # The local store's signed URLs: the token is the credential, a forged one opens nothing.
    "storage.download": d(_roles(403, anonymous=403), literal={"token": FORGED}),
    "storage.upload": d(_roles(403, anonymous=403), literal={"token": FORGED}),
    # -- anyone signed in ----------------------------------------------------------------------
    "accounts.dashboard": d(SIGNED_IN),
    "accounts.change_password": d(SIGNED_IN),
    # Everybody here is confirmed: they are told so, nothing is sent.
    "accounts.resend_confirmation": d(SIGNED_IN),
    "awards.my_badges": d(SIGNED_IN),
    # The own badges as one record; with none, back to My badges with a message.
    "awards.learner_record": d(SIGNED_IN),
    "awards.add_to_wallet": d(OWNER, aid="aid"),
    "submissions.my_submissions": d(SIGNED_IN),
    "submissions.notifications": d(SIGNED_IN),
    "submissions.read_notifications": d(SIGNED_IN),
    "evidence.library": d(SIGNED_IN),
    "evidence.upload_page": d(SIGNED_IN),
    "evidence.add_link": d(SIGNED_IN),
    "evidence.write_reflection": d(SIGNED_IN),
    # Uploads into one's own portfolio; these requests carry no file, so they are refused.
    "evidence.upload_form": d(_roles(400)),
    "evidence.upload_raw": d(_roles(400)),
    "evidence.start_upload": d(_roles(400), json={}),
    "evidence.start_multipart": d(_roles(400), json={}),
    # -- the worker's evidence, submission and badge -------------------------------------------
    "evidence.show_item": d(OWNER, public_id="item"),
    "evidence.preview": d(OWNER, public_id="item"),
    "evidence.download": d(OWNER, public_id="item"),
    "evidence.thumbnail": d(OWNER, public_id="item"),
    # A JPEG photo has no rendered preview (only HEIC, video, PDF and office files do).
    "evidence.preview_image": d(_roles(DENY), public_id="item"),
    # Frozen in a submission: the owner is told so and sent back to the item.
    "evidence.edit_item": d(OWNER, public_id="item"),
    "evidence.sign_part": d(
        _roles(DENY, worker=REFUSED), public_id="pending", literal={"part_number": 1}
    ),
    "evidence.list_parts": d(_roles(DENY, worker=REFUSED), public_id="pending"),
    "evidence.complete_multipart": d(
        _roles(DENY, worker=REFUSED), public_id="pending", json={"parts": []}
    ),
    "submissions.show_submission": d(OWNER, public_id="sub"),
    "submissions.attach_evidence": d(OWNER, public_id="sub"),
    "submissions.update_note": d(OWNER, public_id="sub", link_id="link"),
    "submissions.detach_evidence": d(OWNER, public_id="sub", link_id="link"),
    # Without the confirmation tick the owner is asked for it.
    "submissions.submit": d(_roles(DENY, worker=REFUSED), public_id="sub"),
    "submissions.start_next_attempt": d(OWNER, public_id="sub"),
    "submissions.evidence_file": d(OWNER_AND_STAFF, public_id="sub", link_id="link"),
    # Workers of the organization start attempts (the peer starts a draft of their own);
    # everybody else is told to join as a worker first.
    "submissions.start_submission": d(
        _roles(REFUSED, worker=OK, peer=OK), slug="slug", public_id="cred2"
    ),
    "awards.set_visibility": d(OWNER, aid="aid", data={"hidden": "0"}),
    # -- assessors and admins of organization A ------------------------------------------------
    "submissions.queue": d(STAFF, **ORG),
    "submissions.my_decisions": d(STAFF, **ORG),
    "submissions.review": d(STAFF, slug="slug", public_id="sub"),
    # Everyone who assesses in the organization reads a submission's history (15.3).
    "submissions.history": d(
        _roles(DENY, assessor=OK, admin=OK, moderator=OK, verifier=OK),
        slug="slug",
        public_id="sub",
    ),
    # -- the marking workflow --------------------------------------------------------------
    "submissions.moderation_queue": d(MODERATOR, **ORG),
    # Not waiting for a moderator: the page shows it read-only; an empty form is checked only.
    "submissions.moderate": d(MODERATOR, slug="slug", public_id="sub"),
    "submissions.verification_queue": d(VERIFIER, **ORG),
    # Not sampled: the verifier sees so; a verdict is refused with a message.
    "submissions.verify_decision": d(
        VERIFIER, slug="slug", public_id="sub", per_method={"POST": {"verifier": REFUSED}}
    ),
    "submissions.appeals_queue": d(STAFF, **ORG),
    # Not appealed: there is no appeal to review, for anyone.
    "submissions.appeal_review": d(_roles(DENY), slug="slug", public_id="sub"),
    # Not a final "not passed" and no reason: the owner is told; the others reach nothing.
    "submissions.lodge_appeal": d(_roles(DENY, worker=REFUSED), public_id="sub"),
    "submissions.request_witness": d(_roles(DENY, worker=REFUSED), public_id="sub"),
    "submissions.revoke_witness": d(
        _roles(DENY, worker=REFUSED), public_id="sub", literal={"wid": "AAAAAAAAAAAAAAAAAAAAAA"}
    ),
    "submissions.resend_witness": d(
        _roles(DENY, worker=REFUSED), public_id="sub", literal={"wid": "AAAAAAAAAAAAAAAAAAAAAA"}
    ),
    # A witness for one evidence item: only its owner may ask (an empty form is refused),
    # withdraw or re-send; nobody else reaches the item.
    "submissions.request_item_witness": d(_roles(DENY, worker=REFUSED), public_id="item"),
    "submissions.revoke_item_witness": d(
        _roles(DENY, worker=REFUSED), public_id="item", literal={"wid": "AAAAAAAAAAAAAAAAAAAAAA"}
    ),
    "submissions.resend_item_witness": d(
        _roles(DENY, worker=REFUSED), public_id="item", literal={"wid": "AAAAAAAAAAAAAAAAAAAAAA"}
    ),
    # The witness's link is the only key; a forged one opens nothing, for anyone.
    "submissions.witness_page": d(_roles(404, anonymous=404), literal={"token": FORGED}),
    "submissions.witness_file": d(
        _roles(404, anonymous=404), literal={"token": FORGED, "link_id": "x"}
    ),
    "submissions.marking_settings": d(ADMIN, slug="slug", public_id="cred"),
    # A form without an action is refused.
    "submissions.manage_submission": d(
        ADMIN, slug="slug", public_id="sub", per_method={"POST": {"admin": 400}}
    ),
    "submissions.cases": d(ADMIN, **ORG),
    # No such case: the admin is told so.
    "submissions.close_case": d(
        _roles(DENY, admin=REFUSED), slug="slug", literal={"sample_id": "AAAAAAAAAAAAAAAAAAAAAA"}
    ),
    "submissions.organization_audit": d(ADMIN, **ORG),
    "reports.quality": d(ADMIN, **ORG),
    "accounts.organization_settings": d(ADMIN, **ORG),
    "sso.settings": d(ADMIN, **ORG),
    "accounts.members": d(ADMIN, **ORG),
    "tokens.personal_tokens": d(SIGNED_IN),
    "tokens.organization_tokens": d(ADMIN, **ORG),
    "accounts.invite_member": d(ADMIN, **ORG),
    "awards.list_awards": d(ADMIN, **ORG),
    # Bulk (prior-learning) awards: an empty upload form is shown again with its errors.
    "bulk_awards.upload": d(ADMIN, **ORG),
    "bulk_awards.show_batch": d(ADMIN, slug="slug", bid="batch"),
    "bulk_awards.batch_status": d(ADMIN, slug="slug", bid="batch"),
    "reports.dashboard": d(ADMIN, **ORG),
    "reports.download_csv": d(ADMIN, literal={"table": "attempts"}, **ORG),
    "credentials.list_credentials": d(ADMIN, **ORG),
    "credentials.create_credential": d(ADMIN, **ORG),
    "credentials.show_credential": d(ADMIN, slug="slug", cid="cred"),
    "credentials.edit_credential": d(ADMIN, slug="slug", cid="cred"),
    # Publishing what is already published is refused with a message.
    "credentials.change_state": d(ADMIN, slug="slug", cid="cred", literal={"verb": "publish"}),
    "frameworks.list_frameworks": d(ADMIN, **ORG),
    "frameworks.create_framework": d(ADMIN, **ORG),
    "frameworks.import_case": d(ADMIN, **ORG),
    "frameworks.import_case_url": d(ADMIN, **ORG),
    "frameworks.import_framework_csv": d(ADMIN, **ORG),
    "frameworks.export_framework_csv": d(ADMIN, slug="slug", fid="fid"),
    # Made here, not fetched: there is no source, so the admin is sent back with a message.
    "frameworks.update_from_source": d(ADMIN, slug="slug", fid="fid"),
    "frameworks.show_framework": d(ADMIN, slug="slug", fid="fid"),
    "frameworks.tree_fragment": d(ADMIN, slug="slug", fid="fid"),
    "frameworks.edit_framework": d(ADMIN, slug="slug", fid="fid"),
    "frameworks.export_case": d(ADMIN, slug="slug", fid="fid"),
    "frameworks.add_competency": d(ADMIN, slug="slug", fid="fid"),
    "frameworks.edit_competency": d(ADMIN, slug="slug", fid="fid", cid="comp"),
    "frameworks.list_rubrics": d(ADMIN, **ORG),
    "frameworks.create_rubric": d(ADMIN, **ORG),
    "frameworks.import_rubric_csv": d(ADMIN, **ORG),
    "frameworks.show_rubric": d(ADMIN, slug="slug", rid="rid"),
    "frameworks.show_version": d(ADMIN, slug="slug", rid="rid", vid="vid"),
    # Version 1 is published: editing or publishing it again is a conflict.
    "frameworks.edit_version": d(
        ADMIN, slug="slug", rid="rid", vid="vid", per_method={"POST": {"admin": 409}}
    ),
    "frameworks.publish_version": d(_roles(DENY, admin=409), slug="slug", rid="rid", vid="vid"),
    "frameworks.new_version": d(ADMIN, slug="slug", rid="rid"),
    "pathways.my_pathways": d(SIGNED_IN),
    # The confirmation pages of destructive actions: who may act may see them.
    "confirm.revoke_award": d(ADMIN, slug="slug", aid="aid"),
    "confirm.rotate_key": d(ADMIN, **ORG),
    "confirm.delete_item": d(OWNER, public_id="item"),
    "confirm.withdraw_submission": d(OWNER, public_id="sub"),
    "confirm.remove_member": d(ADMIN, slug="slug", membership_id="membership"),
    "confirm.publish_version": d(ADMIN, slug="slug", rid="rid", vid="vid"),
    "confirm.hide_badge": d(OWNER, aid="aid"),
    "site.favicon": d(PUBLIC),
    # No pathway in this world: an unknown id answers as not found, to admins too.
    "confirm.archive_pathway": d(_roles(DENY), slug="slug", literal={"pid": "A" * 22}),
    "pathways.edit_pathway": d(_roles(DENY), slug="slug", literal={"pid": "A" * 22}),
    "pathways.archive_pathway": d(_roles(DENY), slug="slug", literal={"pid": "A" * 22}),
    # The badge does not expire: there is nothing to renew, and the owner is told so.
    "awards.renew": d(_roles(DENY, worker=REFUSED), aid="aid"),
    # One's own data: the page and the archive are always of the signed-in person.
    "portability.account_data": d(SIGNED_IN),
    "portability.export": d(SIGNED_IN),
    "portability.request_export": d(SIGNED_IN),
    # No export in this world: an unknown id answers as not found (and another's export too).
    "portability.download_export": d(_roles(DENY), literal={"public_id": "A" * 22}),
    # Without the typed confirmation and the password nothing is deleted.
    "portability.delete_account": d(_roles(REFUSED)),
    "pathways.list_pathways": d(ADMIN, **ORG),
    "pathways.create_pathway": d(ADMIN, per_method={"POST": {"admin": REFUSED}}, **ORG),
    # -- actions that use up or destroy their object -------------------------------------------
    "submissions.claim": d(STAFF, slug="slug", public_id="sub"),
    "submissions.release": d(STAFF, slug="slug", public_id="sub"),
    "submissions.withdraw": d(OWNER, public_id="sub"),
    # Nothing was uploaded: the owner is told so, and the reserved item is removed.
    "evidence.finalize": d(_roles(DENY, worker=DISCARDED), public_id="pending"),
    "evidence.cancel": d(_roles(DENY, worker=OK), public_id="cancelled"),
    "evidence.delete_item": d(OWNER, public_id="spare"),
    "accounts.remove_member": d(ADMIN, slug="slug", membership_id="membership"),
    "frameworks.delete_competency": d(ADMIN, slug="slug", fid="fid", cid="doomed_comp"),
    "frameworks.delete_framework": d(ADMIN, slug="slug", fid="doomed_fid"),
    # Without a reason nothing is revoked: the admin is asked for one.
    "awards.revoke": d(ADMIN, slug="slug", aid="aid"),
    "awards.rotate_key": d(ADMIN, **ORG),
    # -- the JSON API: sessions never reach it (401 for everyone, cookies are not read); its
    # role x operation rows are walked with tokens in test_api_access.py.
    "api.openapi_json": d(PUBLIC),
    "api.docs": d(PUBLIC),
    "api.me": d(NO_SESSION),
    "api.list_organizations": d(NO_SESSION),
    "api.get_organization": d(NO_SESSION, **ORG),
    "api.list_frameworks": d(NO_SESSION, **ORG),
    "api.get_framework": d(NO_SESSION, slug="slug", framework_id="fid"),
    "api.import_case": d(NO_SESSION, **ORG),
    "api.list_credentials": d(NO_SESSION, **ORG),
    "api.create_credential": d(NO_SESSION, **ORG),
    "api.get_credential": d(NO_SESSION, slug="slug", credential_id="cred"),
    "api.update_credential": d(NO_SESSION, slug="slug", credential_id="cred"),
    "api.publish_credential": d(NO_SESSION, slug="slug", credential_id="cred"),
    "api.archive_credential": d(NO_SESSION, slug="slug", credential_id="cred"),
    "api.list_submissions": d(NO_SESSION, **ORG),
    "api.get_submission": d(NO_SESSION, slug="slug", submission_id="sub"),
    "api.list_awards": d(NO_SESSION, **ORG),
    "api.get_award": d(NO_SESSION, slug="slug", award_id="aid"),
    "api.revoke_award": d(NO_SESSION, slug="slug", award_id="aid"),
    "api.create_bulk_award": d(NO_SESSION, slug="slug", credential_id="cred"),
    "api.get_bulk_award": d(NO_SESSION, slug="slug", batch_id="batch"),
    "api.list_members": d(NO_SESSION, **ORG),
    "api.list_invitations": d(NO_SESSION, **ORG),
    "api.create_invitation": d(NO_SESSION, **ORG),
    "api.list_evidence": d(NO_SESSION),
    "api.upload_evidence": d(NO_SESSION),
    "api.get_report": d(NO_SESSION, **ORG),
    "jobs.failed_jobs": d(ADMIN, **ORG),
    "jobs.retry_job": d(_roles(DENY), slug="slug", literal={"failure_id": 999999}),
    "webhooks.list_webhooks": d(ADMIN, **ORG),
    "webhooks.show_webhook": d(
        _roles(DENY), slug="slug", literal={"wid": "AAAAAAAAAAAAAAAAAAAAAA"}
    ),
    "webhooks.send_again": d(
        _roles(DENY), slug="slug", literal={"wid": "AAAAAAAAAAAAAAAAAAAAAA", "did": "msg_x"}
    ),
    "webhooks.remove_webhook": d(
        _roles(DENY), slug="slug", literal={"wid": "AAAAAAAAAAAAAAAAAAAAAA"}
    ),
    # Tokens of others (and forged ids) answer as not found.
    "tokens.revoke_token": d(_roles(404), literal={"token_id": "AAAAAAAAAAAAAAAAAAAAAA"}),
    # Everybody ends on the sign-in page; the signed-in are signed out on the way.
    "accounts.logout": d(_roles(LOGIN)),
}

JSON_ENDPOINTS = {
    "evidence.upload_raw",
    "evidence.start_upload",
    "evidence.start_multipart",
    "evidence.complete_multipart",
    "evidence.finalize",
    "evidence.cancel",
    "evidence.sign_part",
    "evidence.list_parts",
}


def methods_of(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}, key=lambda m: m != "GET")


def check_headers(resp: Any, where: str) -> None:
    """The security headers every HTML page must carry."""
    csp = resp.headers.get("Content-Security-Policy", "")
    directives = {
        part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";") if part.strip()
    }
    script = directives.get("script-src", directives.get("default-src", ""))
    assert script and "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, where
    assert "frame-ancestors" in directives, where
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", where
    assert resp.headers.get("Referrer-Policy"), where


class Walker:
    """Sends requests as each role and checks outcomes, written rows and headers."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.adapter = w.app.url_map.bind("localhost")
        self.tokens = {
            role: w.client(role).csrf_token("/login" if role == "anonymous" else "/dashboard")
            for role in ROLES
        }
        self.requests = 0
        self.html_checked = 0

    def url(self, endpoint: str, decl: Decl, ids: dict[str, Any]) -> str:
        values = {arg: ids[key] for arg, key in decl.args.items()}
        values.update(decl.literal)
        return str(self.adapter.build(endpoint, values))

    def send(self, role: str, method: str, url: str, decl: Decl, endpoint: str) -> Any:
        client = self.w.client(role)
        headers = {"X-CSRFToken": self.tokens[role]}
        kwargs: dict[str, Any] = {"headers": headers}
        if endpoint in JSON_ENDPOINTS:
            headers["Accept"] = "application/json"
            if decl.json is not None and method in {"POST", "PUT"}:
                kwargs["json"] = decl.json
        elif method in {"POST", "PUT", "DELETE"}:
            kwargs["data"] = {"csrf_token": self.tokens[role], **decl.data}
        resp = client.open(url, method=method, **kwargs)
        self.requests += 1
        where = f"{method} {url} as {role}: {resp.status_code}"
        assert resp.status_code < 500, where
        if resp.mimetype == "text/html":
            check_headers(resp, where)
            self.html_checked += 1
        return resp

    def check(self, outcome: Outcome, resp: Any, before: tuple[int, ...], where: str) -> None:
        status = resp.status_code
        to_login = status == 302 and "/login" in (resp.location or "")
        if outcome == OK:
            assert status < 400 and not to_login, where
            return
        if outcome == DISCARDED:
            assert 400 <= status < 500 and status not in (403, 404), where
            return
        if outcome == LOGIN:
            assert to_login, where
        elif outcome == DENY:
            assert status in (403, 404), where
        elif outcome == REFUSED:
            assert not to_login and status not in (403, 404), where
        else:
            assert status == outcome, where
        assert row_counts() == before, f"{where}: a refused request changed rows"


FORGED_IDS = ["AAAAAAAAAAAAAAAAAAAAAA", "' OR '1'='1", "x" * 600, "\u202e%00\u0661"]


def check_forged_tokens_and_ids(w: World, walker: Walker) -> int:
    """Every form action without a token, with a forged one and with another session's one;
    every id replaced by forged ones: refused, nothing written. Returns the requests sent."""
    rules = {r.endpoint: r for r in w.app.url_map.iter_rules()}
    checked = 0
    for endpoint, decl in DECLARATIONS.items():
        rule = rules.get(endpoint)
        # The API takes no cookies and so no CSRF tokens (test_api_access.py walks it).
        if rule is None or endpoint.startswith("api."):
            continue
        allowed = [r for r in ROLES if decl.expect[r] == OK and r != "anonymous"]
        role = allowed[0] if allowed else "worker"
        client = w.client(role)
        url = walker.url(endpoint, decl, w.ids)
        for method in methods_of(rule):
            # The signed-URL upload is authorized by its token, like an S3 presigned URL.
            if method == "GET" or endpoint == "storage.upload":
                continue
            for token in (None, "forged.token.value", walker.tokens["anonymous"]):
                before = row_counts()
                headers = {"X-CSRFToken": token} if token else {}
                data = {**decl.data, **({"csrf_token": token} if token else {})}
                resp = client.open(url, method=method, data=data, headers=headers)
                assert resp.status_code in (400, 403, 404), (method, url, token, role)
                assert row_counts() == before, (method, url, token)
                checked += 1
        for arg in decl.args:
            if arg == "slug":
                continue
            for forged in FORGED_IDS:
                try:
                    bad = walker.url(
                        endpoint, _with_forged(decl, arg), {**w.ids, "_forged": forged}
                    )
                except ValueError:  # an integer argument: such a URL cannot even be routed
                    continue
                for method in methods_of(rule):
                    before = row_counts()
                    resp = walker.send(role, method, bad, decl, endpoint)
                    # A form action on a forged id may answer with a message and a redirect.
                    refused = (400, 403, 404) if method == "GET" else (302, 400, 403, 404, 409)
                    assert resp.status_code in refused, (method, bad, role)
                    assert row_counts() == before
                    checked += 1
    return checked


def _with_forged(decl: Decl, arg: str) -> Decl:
    return replace(decl, args={**decl.args, arg: "_forged"})


def _order(expect: dict[str, Outcome]) -> list[str]:
    """Refused roles first, so that the object is intact when a permitted role uses it up."""
    return sorted(ROLES, key=lambda r: expect[r] == OK)


def test_every_endpoint_for_every_role(world: World) -> None:
    w = world
    app = w.app
    with app.test_request_context():
        organizations.set_organization_logo(w.s.admin, w.s.org, png_bytes("navy"))
        badge_services.set_credential_image(w.s.admin, w.s.credential, png_bytes("gold"))
        db.session.commit()
        w.ids["batch"] = make_bulk_batch(w)
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    undeclared = sorted(set(rules) - set(DECLARATIONS))
    assert not undeclared, f"endpoints without an access declaration: {undeclared}"
    # Declarations of endpoints that are not registered (the storage endpoints exist only with
    # the local backend) are skipped.

    walker = Walker(w)
    ids = w.ids
    pairs = 0

    # 1. Wrong methods answer 405 and reach no view.
    by_path: dict[str, set[str]] = {}
    for rule in rules.values():
        by_path.setdefault(rule.rule, set()).update(methods_of(rule))
    for endpoint, rule in rules.items():
        allowed = by_path[rule.rule]
        wrong = next(m for m in ("POST", "GET", "PUT", "DELETE", "PATCH") if m not in allowed)
        url = walker.url(endpoint, DECLARATIONS[endpoint], ids)
        resp = walker.send("worker", wrong, url, DECLARATIONS[endpoint], endpoint)
        assert resp.status_code == 405, f"{wrong} {url}: {resp.status_code}"

    # 2. Admins of organization B with their own slug and A's object ids (forged scoping).
    for endpoint, rule in rules.items():
        decl = DECLARATIONS[endpoint]
        # The API answers sessions with 401 whatever the ids: its organization scoping is
        # walked with tokens in test_api_access.py.
        if "slug" not in decl.args or len(decl.args) == 1 or endpoint.startswith("api."):
            continue
        url = walker.url(endpoint, decl, {**ids, "slug": ids["slug_b"]})
        for method in methods_of(rule):
            before = row_counts()
            resp = walker.send("admin_b", method, url, decl, endpoint)
            walker.check(DENY, resp, before, f"{method} {url} as admin_b of B")

    # 3. Forged CSRF tokens and forged ids.
    forged = check_forged_tokens_and_ids(w, walker)
    assert forged > 300

    # 4. The matrix itself.
    for endpoint, decl in DECLARATIONS.items():
        rule = rules.get(endpoint)
        if rule is None:
            continue
        url = walker.url(endpoint, decl, ids)
        for method in methods_of(rule):
            expect = {**decl.expect, **decl.per_method.get(method, {})}
            for role in _order(expect):
                before = row_counts() if expect[role] not in (OK, DISCARDED) else ()
                resp = walker.send(role, method, url, decl, endpoint)
                walker.check(expect[role], resp, before, f"{method} {url} as {role}")
        pairs += len(ROLES)

    # After signing out, every client is a visitor again.
    for role in ROLES:
        resp = w.client(role).get("/dashboard")
        assert resp.status_code == 302 and "/login" in resp.location, role
    assert pairs == len(rules) * len(ROLES)
    assert walker.html_checked > 300
    print(
        f"\naccess matrix: {len(rules)} endpoints x {len(ROLES)} roles, "
        f"{walker.requests} requests, {walker.html_checked} HTML responses header-checked, "
        f"{forged} requests with forged tokens or ids refused"
    )
