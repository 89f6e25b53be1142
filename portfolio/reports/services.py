"""Report figures, all counted in SQL: no query returns more than a handful of rows, so the
dashboard's cost does not grow with the rows Python would otherwise read. Counts that add up
across days (decisions and passes per attempt, the time-to-decision histogram, scores below the
pass level per element) are summed from the daily rollups (`reports.models`, kept by triggers);
what does not add up — distinct people per credential, the percentiles — reads the decisions
of the period through an index that carries the columns it needs (SQLite has no percentile
function: a percentile is the row at its rank).

Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value at
rank ceil(p/100 * n). The median is the usual middle value (mean of the two middle ones for an
even count).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select, text
from sqlalchemy.dialects import postgresql

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core.db import seconds_between, utcnow
from portfolio.core.errors import DomainError
from portfolio.core.ids import is_public_id
from portfolio.credentials.models import Credential
from portfolio.extensions import db
from portfolio.frameworks.models import RubricElement
from portfolio.reports import rollups
from portfolio.reports.models import AwardDay, DecisionDay, ElementDay
from portfolio.submissions.models import Submission, SubmissionState

WAITING = (SubmissionState.SUBMITTED, SubmissionState.IN_REVIEW)
DECIDED = (SubmissionState.PASSED, SubmissionState.NEEDS_REVISION, SubmissionState.FAILED)
#: Sort memory for the report's own transaction on PostgreSQL: the distinct people per
#: credential and the percentiles sort the period's decisions (about 8 MiB at 100,000), which at
#: the server's default of 4 MB spill to disk and take a third longer.
REPORT_WORK_MEM = "32MB"
#: Default period: the last 90 days.
DEFAULT_DAYS = 90
MAX_DAYS = 3660


@dataclass(frozen=True)
class ReportFilter:
    """Decisions from `start` to `end` (both whole days, UTC), optionally for one credential."""

    start: date
    end: date
    credential: Credential | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)


def parse_filter(
    org: Organization,
    start: str | None,
    end: str | None,
    credential: str | None,
    today: date | None = None,
) -> ReportFilter:
    """A filter from query-string values, with readable errors."""
    today = today or utcnow().date()
    try:
        end_day = date.fromisoformat(end) if end else today
        start_day = date.fromisoformat(start) if start else end_day - timedelta(days=DEFAULT_DAYS)
    except ValueError as exc:
        raise DomainError("Dates must look like 2024-03-31.") from exc
    if start_day > end_day:
        raise DomainError("The start date is after the end date.")
    if (end_day - start_day).days > MAX_DAYS:
        raise DomainError("Choose a period of at most ten years.")
    cred = None
    if credential:
        cred = (
            db.session.scalar(
                select(Credential).where(
                    Credential.public_id == credential, Credential.organization_id == org.id
                )
            )
            if is_public_id(credential)
            else None
        )
        if cred is None:
            raise DomainError("No such credential in this organization.")
    return ReportFilter(start_day, end_day, cred)


@dataclass
class QueueFigures:
    waiting: int
    oldest_hours: float | None
    median_age_hours: float | None


@dataclass
class TimingFigures:
    decided: int
    median_hours: float | None
    p90_hours: float | None
    #: Counts of decisions by time taken: (label, count) per bucket.
    histogram: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class RateRow:
    label: str
    decided: int
    passed: int

    @property
    def rate(self) -> float:
        return self.passed / self.decided if self.decided else 0.0


@dataclass
class ElementRow:
    credential: str
    element: str
    scored: int
    below: int

    @property
    def rate(self) -> float:
        return self.below / self.scored if self.scored else 0.0


@dataclass
class Report:
    filter: ReportFilter
    queue: QueueFigures
    timing: TimingFigures
    by_credential: list[RateRow]
    by_attempt: list[RateRow]
    by_element: list[ElementRow]
    badges: BadgeFigures | None = None


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _scoped(query: Select, org: Organization, flt: ReportFilter) -> Select:  # type: ignore[type-arg]
    query = query.where(Submission.organization_id == org.id)
    if flt.credential is not None:
        query = query.where(Submission.credential_id == flt.credential.id)
    return query


def _decided(query: Select, org: Organization, flt: ReportFilter) -> Select:  # type: ignore[type-arg]
    return _scoped(query, org, flt).where(
        Submission.state.in_(DECIDED),
        Submission.decided_at >= flt.since,
        Submission.decided_at < flt.until,
    )


def _middle(query: Select, n: int) -> list[Any]:  # type: ignore[type-arg]
    """The middle row (odd `n`) or two middle rows (even `n`) of an ordered query."""
    return list(db.session.execute(query.offset((n - 1) // 2).limit(1 if n % 2 else 2)).all())


def _rank(p: float, n: int) -> int:
    """Nearest-rank position (1-based) of the p-th percentile of `n` values."""
    return max(1, math.ceil(p / 100 * n))


def queue_figures(
    org: Organization, flt: ReportFilter, now: datetime | None = None
) -> QueueFigures:
    """What waits for an assessor right now (the date range does not apply)."""
    now = now or utcnow()
    waiting = _scoped(select(Submission.submitted_at), org, flt).where(
        Submission.state.in_(WAITING), Submission.submitted_at.is_not(None)
    )
    n, oldest = db.session.execute(
        waiting.with_only_columns(func.count(), func.min(Submission.submitted_at))
    ).one()
    if not n:
        return QueueFigures(waiting=0, oldest_hours=None, median_age_hours=None)
    middle = _middle(waiting.order_by(Submission.submitted_at.desc()), n)
    return QueueFigures(
        waiting=int(n),
        oldest_hours=_hours(now - _aware(oldest)) if oldest is not None else None,
        median_age_hours=statistics.mean(_hours(now - _aware(t)) for (t,) in middle),
    )


def _aware(value: datetime) -> datetime:
    # An aggregate (min) is not typed by the column: SQLite gives it back without its zone.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


BUCKETS = [(24, "< 1 day"), (72, "1 to 3 days"), (168, "3 to 7 days"), (336, "1 to 2 weeks")]


def _days(query: Select, table: Any, org: Organization, flt: ReportFilter) -> Select:  # type: ignore[type-arg]
    """A rollup query limited to the organization, the period and the credential filter."""
    query = query.where(
        table.organization_id == org.id, table.day >= flt.start, table.day <= flt.end
    )
    if flt.credential is not None:
        query = query.where(table.credential_id == flt.credential.id)
    return query


def timing_figures(org: Organization, flt: ReportFilter) -> TimingFigures:
    """Time from submission to decision, for decisions in the period: the count and the
    histogram summed from the daily rollup, the median and 90th percentile as the rows at their
    ranks (their hours computed from the two timestamps, exactly)."""
    n, *buckets = db.session.execute(
        _days(
            select(
                func.sum(DecisionDay.timed),
                *(func.sum(getattr(DecisionDay, c)) for c in rollups.BUCKET_COLUMNS),
            ),
            DecisionDay,
            org,
            flt,
        )
    ).one()
    labels = [label for _upper, label in BUCKETS] + ["2 weeks or more"]
    histogram = [(label, int(c or 0)) for label, c in zip(labels, buckets, strict=True)]
    n = int(n or 0)
    if not n:
        return TimingFigures(decided=0, median_hours=None, p90_hours=None, histogram=histogram)
    decided = _decided(select(Submission.submitted_at, Submission.decided_at), org, flt).where(
        Submission.submitted_at.is_not(None), Submission.decided_at.is_not(None)
    )
    middle = [(n + 1) // 2, n // 2 + 1]
    ranks = [*middle, _rank(90, n)]
    if db.session.get_bind().dialect.name == "postgresql":
        hours = _hours_at_ranks_postgresql(decided, n, ranks)
    else:
        hours = _hours_at_ranks(decided, ranks)
    return TimingFigures(
        decided=n,
        median_hours=statistics.mean(hours[i] for i in middle),
        p90_hours=hours[ranks[-1]],
        histogram=histogram,
    )


def _hours_at_ranks(decided: Select, ranks: list[int]) -> dict[int, float]:  # type: ignore[type-arg]
    """Hours from submission to decision of the decisions at these ranks (1-based, fastest
    first): the rows numbered in one sort."""
    seconds = seconds_between(Submission.submitted_at, Submission.decided_at)
    position = func.row_number().over(order_by=seconds).label("position")
    ranked = decided.add_columns(position).subquery()
    return {
        r.position: _hours(_aware(r.decided_at) - _aware(r.submitted_at))
        for r in db.session.execute(select(ranked).where(ranked.c.position.in_(set(ranks)))).all()
    }


def _hours_at_ranks_postgresql(decided: Select, n: int, ranks: list[int]) -> dict[int, float]:  # type: ignore[type-arg]
    """The same with PostgreSQL's `percentile_disc`, which sorts the durations alone (a third of
    the time of numbering rows at 100,000 decisions). The value at rank k is the one at fraction
    (k - 0.5) / n: `percentile_disc` takes the first value whose rank reaches fraction times n, and
    the half keeps a rounding error in the fraction from reaching the next rank."""
    waited = Submission.decided_at - Submission.submitted_at
    fractions = [(k - 0.5) / n for k in ranks]
    values = db.session.execute(
        decided.with_only_columns(
            func.percentile_disc(postgresql.array(fractions)).within_group(waited)
        )
    ).scalar_one()
    return {k: _hours(value) for k, value in zip(ranks, values, strict=True)}


def _passed_people():  # type: ignore[no-untyped-def]
    return func.count(
        func.distinct(case((Submission.state == SubmissionState.PASSED, Submission.learner_id)))
    )


def pass_rates_by_credential(org: Organization, flt: ReportFilter) -> list[RateRow]:
    """Per credential, by name: the people with a decision in the period, and how many of them
    passed. People, not attempts: a worker who passes at the second try counts once, as a pass
    (the attempts table shows the tries). Counted per credential id from the decisions index
    alone; the names are joined to the few result rows."""
    people = (
        _decided(
            select(
                Submission.credential_id,
                func.count(func.distinct(Submission.learner_id)).label("decided"),
                _passed_people().label("passed"),
            ),
            org,
            flt,
        )
        .group_by(Submission.credential_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Credential.name, people.c.decided, people.c.passed)
        .join(people, people.c.credential_id == Credential.id)
        .order_by(Credential.name)
    ).all()
    return [RateRow(name, int(n), int(p or 0)) for name, n, p in rows]


def pass_rates_by_attempt(org: Organization, flt: ReportFilter) -> list[RateRow]:
    """Decided and passed attempts by attempt number (first try, second try...)."""
    rows = db.session.execute(
        _days(
            select(
                DecisionDay.attempt, func.sum(DecisionDay.decided), func.sum(DecisionDay.passed)
            ),
            DecisionDay,
            org,
            flt,
        )
        .group_by(DecisionDay.attempt)
        .having(func.sum(DecisionDay.decided) > 0)
        .order_by(DecisionDay.attempt)
    ).all()
    return [RateRow(f"Attempt {attempt}", int(n), int(p or 0)) for attempt, n, p in rows]


def below_pass_by_element(org: Organization, flt: ReportFilter) -> list[ElementRow]:
    """Per rubric element: how many scores in the period, and how many below the pass level."""
    rows = db.session.execute(
        _days(
            select(
                Credential.name,
                RubricElement.title,
                func.sum(ElementDay.scored),
                func.sum(ElementDay.below),
            )
            .join(Credential, Credential.id == ElementDay.credential_id)
            .join(RubricElement, RubricElement.id == ElementDay.element_id),
            ElementDay,
            org,
            flt,
        )
        .group_by(Credential.name, RubricElement.id, RubricElement.title, RubricElement.position)
        .having(func.sum(ElementDay.scored) > 0)
        .order_by(Credential.name, RubricElement.position, RubricElement.id)
    ).all()
    return [ElementRow(c, e, int(n), int(b or 0)) for c, e, n, b in rows]


@dataclass
class BadgeFigures:
    """Badges of the organization in the period."""

    issued: int
    revoked: int
    expired: int


def badge_figures(
    org: Organization, flt: ReportFilter, now: datetime | None = None
) -> BadgeFigures:
    """Badges issued, revoked and expired in the period, summed from the daily rollup. Issue and
    revocation times are never in the future; an expiry is, so today's expiries are counted
    from the awards up to now (one indexed range), the earlier days' from the rollup."""
    from portfolio.awards.models import Award

    now = now or utcnow()
    yesterday = now.date() - timedelta(days=1)
    issued, revoked, expired = db.session.execute(
        _days(
            select(
                func.sum(AwardDay.issued),
                func.sum(AwardDay.revoked),
                func.sum(case((AwardDay.day <= yesterday, AwardDay.expired), else_=0)),
            ),
            AwardDay,
            org,
            flt,
        )
    ).one()
    since = max(flt.since, datetime.combine(now.date(), time.min, tzinfo=UTC))
    until = min(flt.until, now)
    today = 0
    if since < until:
        query = select(func.count(Award.id)).where(
            Award.organization_id == org.id,
            Award.expires_at >= since,
            Award.expires_at < until,
            Award.revoked_at.is_(None),
        )
        if flt.credential is not None:
            query = query.where(Award.credential_id == flt.credential.id)
        today = db.session.execute(query).scalar_one()
    return BadgeFigures(int(issued or 0), int(revoked or 0), int(expired or 0) + today)


def build_report(admin: User, org: Organization, flt: ReportFilter) -> Report:
    """Every figure of the dashboard (admins only)."""
    require_role(admin, org, Role.ADMIN)
    if db.session.get_bind().dialect.name == "postgresql":
        # SET LOCAL: for this transaction only, it ends with the request.
        db.session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
    return Report(
        filter=flt,
        queue=queue_figures(org, flt),
        timing=timing_figures(org, flt),
        by_credential=pass_rates_by_credential(org, flt),
        by_attempt=pass_rates_by_attempt(org, flt),
        by_element=below_pass_by_element(org, flt),
        badges=badge_figures(org, flt),
    )


def csv_rows(report: Report, table: str) -> tuple[list[str], list[list[object]]]:
    """Header and rows of one table of the report, for CSV download."""
    if table == "credentials":
        return ["credential", "people_decided", "people_passed", "pass_rate"], [
            [r.label, r.decided, r.passed, f"{r.rate:.4f}"] for r in report.by_credential
        ]
    if table == "attempts":
        return ["attempt", "decided", "passed", "pass_rate"], [
            [r.label, r.decided, r.passed, f"{r.rate:.4f}"] for r in report.by_attempt
        ]
    if table == "elements":
        return ["credential", "element", "scored", "below_pass", "below_pass_rate"], [
            [r.credential, r.element, r.scored, r.below, f"{r.rate:.4f}"] for r in report.by_element
        ]
    if table == "timing":
        t, q = report.timing, report.queue
        return ["figure", "value"], [
            ["waiting_now", q.waiting],
            ["oldest_waiting_hours", _fmt(q.oldest_hours)],
            ["decided", t.decided],
            ["median_hours_to_decision", _fmt(t.median_hours)],
            ["p90_hours_to_decision", _fmt(t.p90_hours)],
            *(
                [
                    ["badges_issued", report.badges.issued],
                    ["badges_revoked", report.badges.revoked],
                    ["badges_expired", report.badges.expired],
                ]
                if report.badges
                else []
            ),
            *[[f"decided_in {label}", n] for label, n in t.histogram],
        ]
    raise DomainError("No such table.")


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
