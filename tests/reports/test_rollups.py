"""The daily rollups the dashboard sums are kept by triggers: whatever writes a decision or a
score — the review flow, an appeal, a reopened decision, a bulk UPDATE, a deletion — the rollup
rows equal a recount from the rows themselves, and the dashboard shows the new figures at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, text, update

from portfolio.core.db import utcnow
from portfolio.extensions import db
from portfolio.reports import rollups, services
from portfolio.reports.jobs import compact_rollups
from portfolio.reports.models import AwardDay, DecisionDay, ElementDay
from portfolio.submissions import access, appeals
from portfolio.submissions.models import Score, Submission, SubmissionState
from tests.reports.conftest import ReportData, T
from tests.submissions.conftest import (  # noqa: F401 - the scenario fixture is reused here
    Scenario,
    scenario,
)
from tests.submissions.workflow import FAIL, PASS, configure, inputs, mark, signed_in, submitted


def _rows() -> list[tuple[object, ...]]:
    """Every rollup key with a count other than zero and its summed counts, in a stable order
    (a figure is the sum of a key's rows, however many the triggers appended)."""
    out: list[tuple[object, ...]] = []
    for model, keys, counts in (
        (DecisionDay, rollups.DECISION_KEYS, rollups.DECISION_COUNTS),
        (ElementDay, rollups.ELEMENT_KEYS, rollups.ELEMENT_COUNTS),
        (AwardDay, rollups.AWARD_KEYS, rollups.AWARD_COUNTS),
    ):
        summed: dict[tuple[str, ...], list[int]] = {}
        for row in db.session.scalars(select(model)):
            key = (model.__tablename__, *(str(getattr(row, k)) for k in keys))
            values = summed.setdefault(key, [0] * len(counts))
            for i, c in enumerate(counts):
                values[i] += getattr(row, c)
        out.extend((*key, *values) for key, values in summed.items() if any(values))
    return sorted(out)


def assert_rollups_match_a_recount() -> list[tuple[object, ...]]:
    db.session.expire_all()
    kept = _rows()
    rollups.rebuild(db.session.connection())
    recounted = _rows()
    db.session.rollback()
    assert kept == recounted
    return kept


def _report(data: ReportData) -> services.Report:
    flt = services.parse_filter(data.org, "2024-02-25", "2024-03-31", None)
    return services.build_report(data.admin, data.org, flt)


def test_the_fixed_data_set_is_counted_by_the_triggers(report_data: ReportData) -> None:
    rows = assert_rollups_match_a_recount()
    # Six decided attempts (one out of the period) on five days; four scores each.
    decided = [r for r in rows if r[0] == "report_decision_days"]
    assert sum(r[5] for r in decided) == 6
    assert sum(r[5] for r in rows if r[0] == "report_element_days") == 24


def test_bulk_updates_and_deletes_move_the_counts(report_data: ReportData) -> None:
    before = _report(report_data)
    assert [(r.label, r.decided, r.passed) for r in before.by_attempt] == [
        ("Attempt 1", 4, 2),
        ("Attempt 2", 1, 1),
    ]
    # A bulk UPDATE (no ORM object involved): every failed attempt becomes a pass, later.
    db.session.execute(
        update(Submission)
        .where(Submission.state == SubmissionState.FAILED)
        .values(state=SubmissionState.PASSED, decided_at=T + timedelta(days=3))
    )
    # A decision reopened: back in the queue, no longer decided.
    db.session.execute(
        update(Submission)
        .where(Submission.state == SubmissionState.NEEDS_REVISION)
        .values(state=SubmissionState.SUBMITTED, decided_at=None)
    )
    db.session.commit()
    assert_rollups_match_a_recount()
    after = _report(report_data)
    assert [(r.label, r.decided, r.passed) for r in after.by_attempt] == [
        ("Attempt 1", 3, 3),
        ("Attempt 2", 1, 1),
    ]
    assert after.timing.decided == 4
    # Scores deleted directly, and a whole submission (its reviews and scores go with it).
    first = db.session.scalars(select(Score).order_by(Score.id)).first()
    assert first is not None
    db.session.execute(delete(Score).where(Score.id == first.id))
    passed = db.session.scalars(
        select(Submission).where(Submission.state == SubmissionState.PASSED)
    ).first()
    assert passed is not None
    db.session.execute(delete(Submission).where(Submission.id == passed.id))
    db.session.commit()
    assert_rollups_match_a_recount()
    assert _report(report_data).timing.decided == 3


def test_appeals_and_reopened_decisions_move_the_counts(
    app: Flask, scenario: Scenario, make
) -> None:
    s = scenario
    s.credential.max_attempts = 1
    db.session.commit()
    configure(app, s, appeal_days=30)
    failed = submitted(app, s)
    mark(app, s, s.assessor, failed, FAIL)
    worker = signed_in(app, "wren@example.org")
    worker.submit(
        f"/submissions/{failed}/appeal",
        {"reason": "The photo shows the joint was prepared."},
        page=f"/submissions/{failed}",
    )
    with app.test_request_context():
        appeals.decide_appeal(
            s.assessor2, s.org, access.get_submission(failed), inputs(s, PASS), "Photo is clear."
        )
        db.session.commit()
    rows = assert_rollups_match_a_recount()
    # One attempt, decided twice: counted once, as the pass it now is.
    decided = [r for r in rows if r[0] == "report_decision_days"]
    assert [(r[5], r[6]) for r in decided] == [(1, 1)]
    # Both reviews' scores count (the element report is about every marking given).
    assert sum(r[5] for r in rows if r[0] == "report_element_days") == 2 * len(s.elements)

    admin = signed_in(app, "admin@example.org")
    resp = admin.submit(
        f"/o/{s.org.slug}/submissions/{failed}/manage",
        {"action": "reopen", "reason": "Evidence questioned by the employer."},
    )
    assert resp.status_code == 302
    rows = assert_rollups_match_a_recount()
    assert [r for r in rows if r[0] == "report_decision_days"] == []
    today = utcnow().date()
    flt = services.parse_filter(s.org, (today - timedelta(days=1)).isoformat(), None, None)
    with app.test_request_context():
        report = services.build_report(s.admin, s.org, flt)
    assert report.by_attempt == [] and report.timing.decided == 0
    assert report.queue.waiting == 1


def test_the_migration_backfills_what_is_already_there(report_data: ReportData) -> None:
    expected = _rows()
    db.session.execute(text("DELETE FROM report_decision_days"))
    db.session.execute(text("DELETE FROM report_element_days"))
    assert _rows() == []
    rollups.rebuild(db.session.connection())
    assert _rows() == expected
    db.session.rollback()


def test_the_rebuild_command_recounts(app: Flask, report_data: ReportData) -> None:
    db.session.execute(text("DELETE FROM report_decision_days"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["reports-rebuild"])
    assert result.exit_code == 0, result.output
    assert "Report rollups recounted: 6 decisions." in result.output
    assert [(r.label, r.decided) for r in _report(report_data).by_attempt] == [
        ("Attempt 1", 4),
        ("Attempt 2", 1),
    ]


def test_compacting_folds_the_rows_and_keeps_every_figure(report_data: ReportData) -> None:
    db.session.execute(
        update(Submission)
        .where(Submission.state == SubmissionState.FAILED)
        .values(state=SubmissionState.PASSED)
    )
    db.session.commit()
    figures = _report(report_data)
    kept = _rows()
    stored = db.session.scalar(select(func.count()).select_from(DecisionDay))
    compact_rollups()  # the periodic job's body
    db.session.commit()
    assert _rows() == kept
    # One row per key is left (the failed-then-passed attempt's -1 and +1 rows are folded).
    assert (
        db.session.scalar(select(func.count()).select_from(DecisionDay))
        == len([r for r in kept if r[0] == "report_decision_days"])
        < (stored or 0)
    )
    after = _report(report_data)
    for part in ("timing", "by_credential", "by_attempt", "by_element", "badges"):
        assert getattr(after, part) == getattr(figures, part), part
    assert rollups.compact(db.session.connection()) == 0
    assert_rollups_match_a_recount()


@pytest.mark.postgres_only
def test_concurrent_decisions_do_not_wait_for_each_other(report_data: ReportData) -> None:
    """Two transactions deciding attempts that count on the same rollup key both go through
    while the other is still open: the triggers append rows, they lock no shared counter."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    pipe = report_data.pipe.id
    ids = db.session.scalars(
        select(Submission.id)
        .where(Submission.credential_id == pipe, Submission.attempt == 1)
        .where(Submission.state.in_([SubmissionState.SUBMITTED, SubmissionState.FAILED]))
        .order_by(Submission.id)
    ).all()
    assert len(ids) == 2
    db.session.commit()
    when = T + timedelta(days=9)
    first, second = db.engine.connect(), db.engine.connect()
    try:
        for conn, sub_id in ((first, ids[0]), (second, ids[1])):
            conn.execute(text("SET lock_timeout = '3s'"))
            conn.execute(
                update(Submission)
                .where(Submission.id == sub_id)
                .values(state=SubmissionState.PASSED, decided_at=when)
            )
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
    rows = assert_rollups_match_a_recount()
    day = [r for r in rows if r[0] == "report_decision_days" and r[2] == str(when.date())]
    assert [(r[5], r[6]) for r in day] == [(2, 2)]
