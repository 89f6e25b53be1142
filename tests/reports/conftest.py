"""A fixed data set of decisions, scores and waiting submissions with hand-computed figures.

T = 2024-03-01 00:00 UTC; the report period is 2024-02-25 to 2024-03-31; "now" is T + 7 days.

| # | credential | worker | attempt | submitted | decided   | state          | levels (E0..E3) |
|---|------------|--------|---------|-----------|-----------|----------------|-----------------|
| 1 | Fillet     | w1     | 1       | T         | T + 2 h   | needs_revision | 1 2 0 3         |
| 2 | Fillet     | w1     | 2       | T + 1 d   | +4 h      | passed         | 2 2 1 0         |
| 3 | Fillet     | w2     | 1       | T         | T + 10 h  | passed         | 3 1 2 2         |
| 4 | Pipe       | w1     | 1       | T         | T + 30 h  | failed         | 0 0 1 2         |
| 5 | Pipe       | w2     | 1       | T + 2 d   | +6 h      | passed         | 2 3 2 1         |
| 6 | Fillet     | w3     | 1       | T - 200 d | T - 199 d | passed         | 0 0 0 0 (out)   |
| 7 | Pipe       | w3     | 1       | T + 5 d   |           | submitted      |                 |
| 8 | Fillet     | w4     | 1       | T + 6 d   |           | in_review      |                 |

The pass level is position 2 ("Meets"): levels 0 and 1 are below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from portfolio.accounts.models import Organization, Role, User
from portfolio.credentials.models import Credential
from portfolio.extensions import db
from portfolio.submissions.models import Review, Score, Submission, SubmissionState
from tests.submissions.conftest import build_credential, build_version

T = datetime(2024, 3, 1, tzinfo=UTC)
NOW = T + timedelta(days=7)
H, D = timedelta(hours=1), timedelta(days=1)

ROWS = [
    ("fillet", 1, 1, T, T + 2 * H, SubmissionState.NEEDS_REVISION, [1, 2, 0, 3]),
    ("fillet", 1, 2, T + D, T + D + 4 * H, SubmissionState.PASSED, [2, 2, 1, 0]),
    ("fillet", 2, 1, T, T + 10 * H, SubmissionState.PASSED, [3, 1, 2, 2]),
    ("pipe", 1, 1, T, T + 30 * H, SubmissionState.FAILED, [0, 0, 1, 2]),
    ("pipe", 2, 1, T + 2 * D, T + 2 * D + 6 * H, SubmissionState.PASSED, [2, 3, 2, 1]),
    ("fillet", 3, 1, T - 200 * D, T - 199 * D, SubmissionState.PASSED, [0, 0, 0, 0]),
    ("pipe", 3, 1, T + 5 * D, None, SubmissionState.SUBMITTED, None),
    ("fillet", 4, 1, T + 6 * D, None, SubmissionState.IN_REVIEW, None),
]
OUTCOMES = {
    SubmissionState.PASSED: "pass",
    SubmissionState.NEEDS_REVISION: "needs_revision",
    SubmissionState.FAILED: "fail",
}


@dataclass
class ReportData:
    org: Organization
    admin: User
    fillet: Credential
    pipe: Credential


@pytest.fixture
def report_data(app, make) -> ReportData:  # type: ignore[no-untyped-def]
    org = make.org("Acme Welding", slug="acme")
    admin = make.user((org, Role.ADMIN), email="admin@example.org", name="Ada Admin")
    assessor = make.user((org, Role.ASSESSOR), email="sam@example.org")
    workers = {n: make.user((org, Role.LEARNER), email=f"w{n}@example.org") for n in range(1, 5)}
    creds = {}
    for key, name in (("fillet", "Fillet Welding"), ("pipe", "Pipe Welding")):
        version = build_version(org, admin, title=f"{name} rubric")
        creds[key] = (build_credential(org, version, name=name, max_attempts=None), version)
    for key, worker, attempt, submitted, decided, state, levels in ROWS:
        cred, version = creds[key]
        sub = Submission(
            learner_id=workers[worker].id,
            organization_id=org.id,
            credential_id=cred.id,
            rubric_version_id=version.id,
            attempt=attempt,
            state=state,
            submitted_at=submitted,
            decided_at=decided,
        )
        db.session.add(sub)
        db.session.flush()
        if levels is None:
            continue
        review = Review(
            submission_id=sub.id,
            assessor_id=assessor.id,
            outcome=OUTCOMES[state],
            total_points=Decimal(sum(levels)),
            created_at=decided,
        )
        for element, position in zip(version.elements, levels, strict=True):
            level = next(lv for lv in version.levels if lv.position == position)
            review.scores.append(Score(element_id=element.id, level_id=level.id))
        db.session.add(review)
    db.session.commit()
    return ReportData(org, admin, creds["fillet"][0], creds["pipe"][0])
