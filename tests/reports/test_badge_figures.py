"""Issue 15, finding 24: the reports count badges issued, revoked and expired in the period, and
chart labels are whole (wrapped, never cut) in a chart that fits its box."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from portfolio.awards import revocation
from portfolio.core.db import utcnow
from portfolio.extensions import db
from tests.awards.conftest import earned, scenario  # noqa: F401 - shared fixtures


def test_badges_issued_revoked_and_expired(app: Flask, earned: Any) -> None:
    s, award = earned
    admin = app.test_client()
    admin.login("admin@example.org")  # type: ignore[attr-defined]
    today = utcnow().date()
    period = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
    html = admin.get(f"/o/{s.org.slug}/reports", query_string=period).get_data(as_text=True)
    assert '<dd id="fig-issued">1</dd>' in html
    assert '<dd id="fig-revoked">0</dd>' in html and '<dd id="fig-expired">0</dd>' in html
    assert "1 person" in html  # the pass rate counts people
    revocation.revoke_award(s.admin, award, "Issued in error.")
    db.session.commit()
    html = admin.get(f"/o/{s.org.slug}/reports", query_string=period).get_data(as_text=True)
    assert '<dd id="fig-revoked">1</dd>' in html


def test_long_labels_are_wrapped_not_cut(app: Flask) -> None:
    html = app.jinja_env.from_string(
        '{% from "reports/_charts.html" import bars %}{{ bars("c", "t", rows) }}'
    ).render(rows=[("Gas tungsten arc welding of stainless pipe", 0.5, "50% of 2")])
    assert 'width="100%"' in html and "viewBox=" in html
    assert ">Gas tungsten arc welding of</tspan>" in html
    assert ">stainless pipe</tspan>" in html


def _figures(s: Any, start: Any, end: Any, now: Any = None) -> tuple[int, int, int]:
    from portfolio.reports import services

    flt = services.parse_filter(s.org, start.isoformat(), end.isoformat(), None)
    f = services.badge_figures(s.org, flt, now=now)
    return f.issued, f.revoked, f.expired


def test_past_days_come_from_the_rollup_and_today_stops_at_now(app: Flask, earned: Any) -> None:
    from tests.reports.test_rollups import assert_rollups_match_a_recount

    s, award = earned
    now = utcnow()
    today = now.date()
    # Issued ten days ago, expired five days ago: both on past days, summed from the rollup.
    award.issued_at = now - timedelta(days=10)
    award.expires_at = now - timedelta(days=5)
    db.session.commit()
    assert_rollups_match_a_recount()
    assert _figures(s, today - timedelta(days=30), today) == (1, 0, 1)
    assert _figures(s, today - timedelta(days=7), today) == (0, 0, 1)
    assert _figures(s, today - timedelta(days=30), today - timedelta(days=8)) == (1, 0, 0)
    # Expiring later today has not happened yet; once the time has passed, it has.
    award.expires_at = now + timedelta(minutes=1)
    db.session.commit()
    assert_rollups_match_a_recount()
    if award.expires_at.date() == today:  # (not across midnight)
        assert _figures(s, today, today, now=now) == (0, 0, 0)
        assert _figures(s, today, today, now=now + timedelta(minutes=2)) == (0, 0, 1)
    # A revoked badge no longer counts as expiring, on any day.
    award.expires_at = now - timedelta(days=5)
    revocation.revoke_award(s.admin, award, "Issued in error.")
    db.session.commit()
    assert_rollups_match_a_recount()
    assert _figures(s, today - timedelta(days=30), today) == (1, 1, 0)
