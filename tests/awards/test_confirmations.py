"""Issue 15, finding 5: destructive actions ask first, on a page that says what will happen and
works without JavaScript; the buttons that lead there are styled as destructive."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from portfolio.awards.models import Award
from portfolio.extensions import db
from tests.conftest import Client


def test_revoke_asks_first_and_says_what_happens(app: Flask, earned: Any) -> None:
    s, award = earned
    admin = app.test_client()
    admin.login("admin@example.org")  # type: ignore[attr-defined]
    slug = s.org.slug
    listing = admin.get(f"/o/{slug}/awards").get_data(as_text=True)
    # The list no longer revokes in one click: it links to the confirmation.
    assert f'action="/o/{slug}/awards/{award.public_id}/revoke"' not in listing
    confirm_url = f"/confirm/o/{slug}/awards/{award.public_id}/revoke"
    assert re.search(rf'class="button danger small" href="{confirm_url}"', listing)
    assert "/confirm/o/" + slug + "/signing-key/rotate" in listing

    page = admin.get(confirm_url).get_data(as_text=True)
    assert "Revoke the badge" in page and "Wren Worker" in page
    assert "The badge stops verifying at once" in page
    assert "This cannot be undone." in page
    assert f'action="/o/{slug}/awards/{award.public_id}/revoke"' in page
    assert 'class="button danger"' in page and 'name="reason"' in page
    assert db.session.get(Award, award.id).revoked_at is None  # type: ignore[union-attr]

    resp = admin.submit(  # type: ignore[attr-defined]
        f"/o/{slug}/awards/{award.public_id}/revoke",
        {"reason": "Issued in error."},
        page=confirm_url,
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Award, award.id).revoked_at is not None  # type: ignore[union-attr]


def test_every_destructive_button_leads_to_a_confirmation(
    app: Flask, client: Client, earned: Any
) -> None:
    s, award = earned
    admin = app.test_client()
    admin.login("admin@example.org")  # type: ignore[attr-defined]
    members = admin.get(f"/o/{s.org.slug}/members").get_data(as_text=True)
    assert "/members/" in members and "/remove" in members
    assert not re.search(r'method="post" action="/o/[^"]+/members/\d+/remove"', members)
    target = re.search(r'href="(/confirm/o/[^"]+/members/\d+/remove)"', members)
    assert target
    page = admin.get(target.group(1)).get_data(as_text=True)
    assert "What will happen" in page and "Remove the role" in page

    badges = client.get("/badges").get_data(as_text=True)
    hide = f"/confirm/badges/{award.public_id}/hide"
    assert hide in badges
    page = client.get(hide).get_data(as_text=True)
    assert "Employers opening your badge link see only that it is valid" in page
    assert 'name="hidden" value="1"' in page

    item = s.items["link"]
    page = client.get(f"/portfolio/items/{item.public_id}").get_data(as_text=True)
    if "can no longer be changed" not in page:
        assert f"/confirm/portfolio/items/{item.public_id}/delete" in page
    page = client.get(f"/confirm/portfolio/items/{item.public_id}/delete").get_data(as_text=True)
    assert "Submissions you already sent keep their own copy" in page
