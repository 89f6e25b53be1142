"""Who gets in: every page of the `verify` blueprint is public and read-only; every page of the
`awards` blueprint needs a login."""

from __future__ import annotations

from flask import Flask

from tests.conftest import Client

PUBLIC = {
    "verify.issuer",
    "verify.issuer_keys",
    "verify.issuer_key",
    "verify.status_list",
    "verify.competency",
    "verify.wallet_exchange",
    "verify.issuer_did",
    "verify.revocations",
    "verify.badge_class",
    "verify.badge_class_image",
    "verify.rubric",
    "verify.badge",
    "verify.assertion",
    "verify.credential",
    "verify.baked",
    "verify.check_badge",
    "verify.evidence",
    "verify.evidence_file",
    "verify.verify",
}


def test_public_and_private_endpoints(app: Flask) -> None:
    public = {
        name
        for name, view in app.view_functions.items()
        if getattr(view, "is_public", False) and name.split(".")[0] in ("verify", "awards")
    }
    assert public == PUBLIC
    for rule in app.url_map.iter_rules():
        # Posting is for checking a badge and for a wallet's exchange: neither changes what is
        # stored (the exchange signs a copy for the wallet and keeps nothing).
        if rule.endpoint.startswith("verify.") and rule.endpoint not in (
            "verify.verify",
            "verify.wallet_exchange",
        ):
            assert rule.methods is not None and "POST" not in rule.methods, rule


def test_awards_pages_need_a_login(app: Flask, earned) -> None:  # type: ignore[no-untyped-def]
    s, award = earned
    app.test_client_class = Client
    anon = app.test_client()
    for path in ("/badges", f"/o/{s.org.slug}/awards"):
        resp = anon.get(path)
        assert resp.status_code == 302 and "/login" in resp.location
    for path in (
        f"/badges/{award.public_id}/visibility",
        f"/o/{s.org.slug}/awards/{award.public_id}/revoke",
        f"/o/{s.org.slug}/signing-key/rotate",
    ):
        assert anon.post(path, data={"reason": "x", "hidden": "1"}).status_code in (302, 400)


def test_unknown_ids_are_404(app: Flask) -> None:
    app.test_client_class = Client
    anon = app.test_client()
    for path in (
        "/issuers/nope",
        "/issuers/AAAAAAAAAAAAAAAAAAAAAA/keys",
        "/badgeclasses/x",
        "/rubrics/AAAAAAAAAAAAAAAAAAAAAA",
        "/badges/AAAAAAAAAAAAAAAAAAAAAA/evidence/x",
        "/badges/x/credential.json",
        "/badges/x/badge-ob2.png",
    ):
        assert anon.get(path).status_code == 404, path
