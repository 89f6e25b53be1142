"""Quality figures against a data set whose figures were computed by hand (kappa included)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portfolio.core.db import utcnow
from portfolio.extensions import db
from portfolio.reports.quality import build_quality_report, cohen_kappa, percent_agreement
from portfolio.submissions.models import (
    Appeal,
    Marking,
    MarkingScore,
    SampleState,
    Submission,
    SubmissionState,
    VerificationMode,
    VerificationSample,
)
from tests.conftest import Client
from tests.submissions.conftest import (  # noqa: F401 - the scenario fixture is reused here
    Scenario,
    scenario,
)


def test_kappa_of_the_textbook_example() -> None:
    # 50 items: both yes 20, yes/no 5, no/yes 10, both no 15. p_o = 0.7; p_e = 0.5·0.6 + 0.5·0.4
    # = 0.5; kappa = 0.2 / 0.5 = 0.4.
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert percent_agreement(pairs) == pytest.approx(0.7)
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    assert cohen_kappa([]) is None
    assert cohen_kappa([(1, 1), (1, 1)]) is None  # one category only: undefined


#: First element's level positions (first marker, second marker) over ten double-marked rounds.
#: By hand: p_o = 7/10; marginals first {2: 6, 1: 3, 0: 1}, second {2: 5, 1: 4, 0: 1};
#: p_e = .6·.5 + .3·.4 + .1·.1 = .43; kappa = (.7 - .43) / (1 - .43) = .27 / .57 = 0.47368.
ELEMENT0 = [(2, 2)] * 4 + [(1, 1)] * 2 + [(2, 1)] * 2 + [(1, 2)] + [(0, 0)]
#: Outcomes: 8 times (pass, pass), (pass, fail), (fail, fail): p_o = .9, p_e = .9·.8 + .1·.2 = .74,
#: kappa = .16 / .26 = 0.61538.
OUTCOMES = [("pass", "pass")] * 8 + [("pass", "fail"), ("fail", "fail")]


def _marking(sub: Submission, stage: str, who: int, levels: list[int], outcome: str, at) -> None:  # type: ignore[no-untyped-def]
    s_levels = {lv.position: lv.id for lv in sub.rubric_version.levels}
    m = Marking(
        submission_id=sub.id, round=1, stage=stage, marker_id=who, outcome=outcome, created_at=at
    )
    for element, pos in zip(sub.rubric_version.elements, levels, strict=True):
        m.scores.append(MarkingScore(element_id=element.id, level_id=s_levels[pos]))
    db.session.add(m)


def test_quality_report_matches_the_hand_computed_figures(
    app, client: Client, scenario: Scenario
) -> None:  # type: ignore[no-untyped-def]
    s = scenario
    start = utcnow() - timedelta(days=3)
    subs = []
    for i, ((a, b), (oa, ob)) in enumerate(zip(ELEMENT0, OUTCOMES, strict=True)):
        sub = Submission(
            learner_id=s.worker.id,
            organization_id=s.org.id,
            credential_id=s.credential.id,
            rubric_version_id=s.version.id,
            attempt=i + 1,
            state=SubmissionState.PASSED,
            submitted_at=start,
        )
        db.session.add(sub)
        db.session.flush()
        subs.append(sub)
        first_at = start + timedelta(hours=2)
        _marking(sub, "first", s.assessor.id, [a, 2, 2, 2], oa, first_at)
        _marking(sub, "second", s.assessor2.id, [b, 2, 2, 2], ob, first_at + timedelta(hours=4))
    # Two moderations: round 7 sides with the first marker, round 9 with the second.
    _marking(subs[6], "moderation", s.admin.id, [2, 2, 2, 2], OUTCOMES[6][0], start)
    _marking(subs[8], "moderation", s.admin.id, [2, 2, 2, 2], OUTCOMES[8][1], start)
    for sub, who, state in [
        (subs[0], s.assessor.id, SampleState.AGREED),
        (subs[1], s.assessor.id, SampleState.AGREED),
        (subs[2], s.assessor.id, SampleState.SENT_BACK),
        (subs[3], s.assessor2.id, SampleState.CASE_OPEN),
        (subs[4], s.assessor2.id, SampleState.WAITING),  # not verified yet: not counted
    ]:
        db.session.add(
            VerificationSample(
                organization_id=s.org.id,
                submission_id=sub.id,
                round=1,
                decided_by_id=who,
                outcome="pass",
                mode=VerificationMode.HOLD,
                reason="random",
                state=state,
            )
        )
    db.session.add(Appeal(submission_id=subs[9].id, reason="r", outcome="pass"))
    db.session.add(Appeal(submission_id=subs[5].id, reason="r"))
    db.session.commit()

    report = build_quality_report(s.admin, s.org)
    [cred] = report.credentials
    e0, e1, *_ = cred.elements
    assert (e0.pairs, e0.percent) == (10, pytest.approx(0.7))
    assert e0.kappa == pytest.approx(0.27 / 0.57)
    assert (e1.percent, e1.kappa) == (1.0, None)
    # All elements pooled (40 pairs): p_o = 37/40; marginals first {2: 36, 1: 3, 0: 1}, second
    # {2: 35, 1: 4, 0: 1}; p_e = (36·35 + 3·4 + 1)/1600 = 1273/1600; kappa = .129375/.204375.
    assert cred.overall.pairs == 40 and cred.overall.percent == pytest.approx(0.925)
    assert cred.overall.kappa == pytest.approx(0.129375 / 0.204375)
    assert cred.outcome.percent == pytest.approx(0.9)
    assert cred.outcome.kappa == pytest.approx(0.16 / 0.26)
    assert cred.moderations == 2
    assert cred.moderation_sided == {"first marker": 1, "second marker": 1}
    assert report.iqa_by_assessor == [("Sam Assessor", 2, 3), ("Sue Assessor", 0, 1)]
    stages = {label: (hours, n) for label, hours, n in report.stage_hours}
    assert stages["Waiting for the first marking"] == (pytest.approx(2.0), 10)
    assert stages["Waiting for the second marking"] == (pytest.approx(4.0), 10)
    assert report.appeals["lodged"] == 2 and report.appeals["upheld (decision overturned)"] == 1

    client.login("admin@example.org")
    page = client.get(f"/o/{s.org.slug}/reports/quality").get_data(as_text=True)
    assert "Fillet Welding" in page
    assert "<td>70 %</td><td>0.47</td>" in page
    assert "<td>3</td><td>2</td><td>67 %</td>" in page
