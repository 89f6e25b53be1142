"""The report rollups (`portfolio.reports.models`) are kept by triggers in the database, not by
the code that writes decisions: a decision is recorded by several services, some through ORM
objects and some through a single guarded UPDATE, and a trigger sees every one of them — and a
reopened, overturned or erased decision — in the same transaction as the write, so a rollup can
never disagree with the rows it counts. `rebuild` recounts them from the rows (the migration's
backfill, and `flask reports-rebuild`).

The triggers only append rows of +1/-1 counts, never update one, so concurrent writers never
wait on (or deadlock over) a shared counter; `compact` (a periodic job) folds each key's rows
into one. A decision counts on the day of `submissions.decided_at` while its state is a
decided one; a score on the day of its review's `created_at`; a badge on the days it was
issued, revoked and (while not revoked) expires. The SQL is written once here for both
PostgreSQL (PL/pgSQL trigger functions) and SQLite (trigger bodies), from the same column
expressions.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from portfolio.extensions import db

DECIDED_STATES = "('passed', 'needs_revision', 'failed')"
#: Upper bounds (hours) of the time-to-decision buckets, as in `services.BUCKETS`.
BUCKET_HOURS = (24, 72, 168, 336)
BUCKET_COLUMNS = ("within_1d", "within_3d", "within_7d", "within_14d", "beyond_14d")
DECISION_KEYS = ("organization_id", "day", "credential_id", "attempt")
DECISION_COUNTS = ("decided", "passed", "timed", *BUCKET_COLUMNS)
ELEMENT_KEYS = ("organization_id", "day", "credential_id", "element_id")
ELEMENT_COUNTS = ("scored", "below")
AWARD_KEYS = ("organization_id", "day", "credential_id")
AWARD_COUNTS = ("issued", "revoked", "expired")
#: What puts an award on a day: its issue, its revocation, its expiry while not revoked.
AWARD_EVENTS = (
    ("issued", "issued_at", "{row}.issued_at IS NOT NULL"),
    ("revoked", "revoked_at", "{row}.revoked_at IS NOT NULL"),
    ("expired", "expires_at", "{row}.expires_at IS NOT NULL AND {row}.revoked_at IS NULL"),
)

_DECISION_COLUMNS = ", ".join(DECISION_KEYS + DECISION_COUNTS)
_ELEMENT_COLUMNS = ", ".join(ELEMENT_KEYS + ELEMENT_COUNTS)


def _day(column: str, dialect: str) -> str:
    return f"date({column})" if dialect == "sqlite" else f"(({column}) AT TIME ZONE 'UTC')::date"


def _seconds(start: str, end: str, dialect: str) -> str:
    # The same expressions as `core.db.seconds_between`.
    if dialect == "sqlite":
        return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


def _decision_values(row: str, sign: str, dialect: str) -> list[str]:
    """Key columns then counts of one submission row (`row` is NEW, OLD or a table alias)."""
    seconds = _seconds(f"{row}.submitted_at", f"{row}.decided_at", dialect)
    bounds = [0, *(hours * 3600 for hours in BUCKET_HOURS)]
    buckets = [
        f"CASE WHEN {seconds} >= {lower} AND {seconds} < {upper} THEN {sign} ELSE 0 END"
        for lower, upper in itertools.pairwise(bounds)
    ]
    buckets.append(f"CASE WHEN {seconds} >= {bounds[-1]} THEN {sign} ELSE 0 END")
    return [
        f"{row}.organization_id",
        _day(f"{row}.decided_at", dialect),
        f"{row}.credential_id",
        f"{row}.attempt",
        sign,
        f"CASE WHEN {row}.state = 'passed' THEN {sign} ELSE 0 END",
        f"CASE WHEN {row}.submitted_at IS NOT NULL THEN {sign} ELSE 0 END",
        *buckets,
    ]


def _decided(row: str) -> str:
    return f"{row}.decided_at IS NOT NULL AND {row}.state IN {DECIDED_STATES}"


def _count_decision(row: str, sign: str, dialect: str) -> str:
    values = ", ".join(_decision_values(row, sign, dialect))
    return (
        f"INSERT INTO report_decision_days ({_DECISION_COLUMNS}) SELECT {values} "
        f"WHERE {_decided(row)}"
    )


BELOW = "l.position < v.pass_level_position"


def _count_scores(where: str, sign: str, dialect: str) -> str:
    """Add (`sign` 1) or take away (-1) the scores matching `where` (`sc`: the score, `r`: its
    review), grouped by rollup row; nothing when the review or submission is already gone."""
    day = _day("r.created_at", dialect)
    return (
        f"INSERT INTO report_element_days ({_ELEMENT_COLUMNS}) "  # noqa: S608 - constants
        f"SELECT s.organization_id, {day}, s.credential_id, sc.element_id, "
        f"{sign} * COUNT(*), {sign} * SUM(CASE WHEN {BELOW} THEN 1 ELSE 0 END) "
        "FROM scores sc JOIN reviews r ON r.id = sc.review_id "
        "JOIN submissions s ON s.id = r.submission_id "
        "JOIN rubric_elements e ON e.id = sc.element_id "
        "JOIN rubric_levels l ON l.id = sc.level_id "
        "JOIN rubric_versions v ON v.id = e.version_id "
        f"WHERE {where} GROUP BY s.organization_id, {day}, s.credential_id, sc.element_id"
    )


def _count_award(row: str, sign: str, dialect: str) -> list[str]:
    """One upsert per day the award (`row`: NEW or OLD) counts on."""
    columns = ", ".join(AWARD_KEYS + AWARD_COUNTS)
    out = []
    for count, column, when in AWARD_EVENTS:
        values = ", ".join(sign if c == count else "0" for c in AWARD_COUNTS)
        out.append(
            f"INSERT INTO report_award_days ({columns}) "
            f"SELECT {row}.organization_id, {_day(f'{row}.{column}', dialect)}, "
            f"{row}.credential_id, {values} WHERE {when.format(row=row)}"
        )
    return out


_AWARD_COLUMNS_WATCHED = "issued_at, revoked_at, expires_at, credential_id, organization_id"
_SCORE_COLUMNS = "review_id, element_id, level_id"
_DECISION_COLUMNS_WATCHED = (
    "state, decided_at, submitted_at, attempt, credential_id, organization_id"
)
#: (trigger name, timing, table, statements given the dialect). A score is counted through its
#: review and submission, so what deletes those takes their scores away first (BEFORE DELETE,
#: while the rows are still there); a cascade that reaches the scores afterwards finds no
#: review and counts nothing twice.
_TRIGGERS: tuple[tuple[str, str, str, Any], ...] = (
    (
        "report_decision_insert",
        "AFTER INSERT",
        "submissions",
        lambda d: [_count_decision("NEW", "1", d)],
    ),
    (
        "report_decision_update",
        f"AFTER UPDATE OF {_DECISION_COLUMNS_WATCHED}",
        "submissions",
        lambda d: [_count_decision("OLD", "-1", d), _count_decision("NEW", "1", d)],
    ),
    (
        "report_decision_delete",
        "AFTER DELETE",
        "submissions",
        lambda d: [_count_decision("OLD", "-1", d)],
    ),
    (
        "report_submission_scores_delete",
        "BEFORE DELETE",
        "submissions",
        lambda d: [_count_scores("r.submission_id = OLD.id", "-1", d)],
    ),
    (
        "report_review_scores_delete",
        "BEFORE DELETE",
        "reviews",
        lambda d: [_count_scores("r.id = OLD.id", "-1", d)],
    ),
    ("report_award_insert", "AFTER INSERT", "awards", lambda d: _count_award("NEW", "1", d)),
    (
        "report_award_update",
        f"AFTER UPDATE OF {_AWARD_COLUMNS_WATCHED}",
        "awards",
        lambda d: [*_count_award("OLD", "-1", d), *_count_award("NEW", "1", d)],
    ),
    ("report_award_delete", "AFTER DELETE", "awards", lambda d: _count_award("OLD", "-1", d)),
    (
        "report_score_insert",
        "AFTER INSERT",
        "scores",
        lambda d: [_count_scores("sc.id = NEW.id", "1", d)],
    ),
    (
        "report_score_update_old",
        f"BEFORE UPDATE OF {_SCORE_COLUMNS}",
        "scores",
        lambda d: [_count_scores("sc.id = OLD.id", "-1", d)],
    ),
    (
        "report_score_update_new",
        f"AFTER UPDATE OF {_SCORE_COLUMNS}",
        "scores",
        lambda d: [_count_scores("sc.id = NEW.id", "1", d)],
    ),
    (
        "report_score_delete",
        "BEFORE DELETE",
        "scores",
        lambda d: [_count_scores("sc.id = OLD.id", "-1", d)],
    ),
)


def _postgresql_ddl() -> list[str]:
    out = []
    for name, timing, table, statements in _TRIGGERS:
        body = "".join(f"  {statement};\n" for statement in statements("postgresql"))
        # A BEFORE trigger's result is the row to go on with; an AFTER trigger's is ignored.
        result = "OLD" if timing == "BEFORE DELETE" else ("NEW" if "BEFORE" in timing else "NULL")
        out.append(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}  RETURN {result};\nEND $$"
        )
        out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        out.append(
            f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
        )
    return out


def _sqlite_ddl() -> list[str]:
    out = []
    for name, timing, table, statements in _TRIGGERS:
        body = "".join(f" {statement};" for statement in statements("sqlite"))
        out.append(f"DROP TRIGGER IF EXISTS {name}")
        out.append(f"CREATE TRIGGER {name} {timing} ON {table} BEGIN{body} END")
    return out


def install_triggers(connection: Connection) -> None:
    """Create (or replace) the triggers that keep the rollups."""
    ddl = _sqlite_ddl() if connection.dialect.name == "sqlite" else _postgresql_ddl()
    for statement in ddl:
        connection.execute(text(statement))


def drop_triggers(connection: Connection) -> None:
    for name, _timing, table, _statements in _TRIGGERS:
        if connection.dialect.name == "sqlite":
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        else:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
            connection.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))


#: (table, key columns, count columns) of the three rollups.
TABLES = (
    ("report_decision_days", DECISION_KEYS, DECISION_COUNTS),
    ("report_element_days", ELEMENT_KEYS, ELEMENT_COUNTS),
    ("report_award_days", AWARD_KEYS, AWARD_COUNTS),
)


def rebuild(connection: Connection) -> None:
    """Recount the rollups from the submissions, scores and awards (on PostgreSQL, writers of
    those tables wait until the transaction ends, so that no change is counted twice)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("LOCK TABLE submissions, reviews, scores, awards IN SHARE MODE"))
    connection.execute(text("DELETE FROM report_award_days"))
    for count, column, when in AWARD_EVENTS:
        day = _day(f"a.{column}", dialect)
        sums = ", ".join(("COUNT(*)" if c == count else "0") for c in AWARD_COUNTS)
        connection.execute(
            text(
                f"INSERT INTO report_award_days ({', '.join(AWARD_KEYS + AWARD_COUNTS)}) "  # noqa: S608
                f"SELECT a.organization_id, {day}, a.credential_id, {sums} FROM awards a "
                f"WHERE {when.format(row='a')} GROUP BY a.organization_id, {day}, a.credential_id"
            )
        )
    connection.execute(text("DELETE FROM report_decision_days"))
    connection.execute(text("DELETE FROM report_element_days"))
    values = _decision_values("s", "1", dialect)
    keys, counts = values[: len(DECISION_KEYS)], values[len(DECISION_KEYS) :]
    sums = ", ".join(f"SUM({c})" for c in counts)
    connection.execute(
        text(
            f"INSERT INTO report_decision_days ({_DECISION_COLUMNS}) "  # noqa: S608 - constants
            f"SELECT {', '.join(keys)}, {sums} FROM submissions s WHERE {_decided('s')} "
            f"GROUP BY {', '.join(keys)}"
        )
    )
    connection.execute(text(_count_scores("1 = 1", "1", dialect)))
    compact(connection)


def compact(connection: Connection) -> int:
    """Fold each key's rows into one (a key whose counts all sum to zero keeps no row); returns
    how many rows fewer there are. Safe beside concurrent writers: PostgreSQL deletes and
    re-adds, in one statement, exactly the rows it read (a row committed meanwhile stays as it
    is); SQLite has one writer at a time and folds only the rows up to the highest id it saw."""
    fewer = 0
    for table, keys, counts in TABLES:
        key_list = ", ".join(keys)
        columns = ", ".join(keys + counts)
        sums = ", ".join(f"SUM({c})" for c in counts)
        nonzero = " OR ".join(f"SUM({c}) <> 0" for c in counts)
        if connection.dialect.name == "postgresql":
            fewer += connection.execute(
                text(
                    f"WITH gone AS (DELETE FROM {table} RETURNING {columns}), "  # noqa: S608
                    f"folded AS (INSERT INTO {table} ({columns}) "
                    f"SELECT {key_list}, {sums} FROM gone GROUP BY {key_list} HAVING {nonzero} "
                    "RETURNING 1) "
                    "SELECT (SELECT COUNT(*) FROM gone) - (SELECT COUNT(*) FROM folded)"
                )
            ).scalar_one()
            continue
        top = connection.execute(text(f"SELECT MAX(id) FROM {table}")).scalar_one()  # noqa: S608
        if top is None:
            continue
        added = connection.execute(
            text(
                f"INSERT INTO {table} ({columns}) SELECT {key_list}, {sums} "  # noqa: S608
                f"FROM {table} WHERE id <= :top GROUP BY {key_list} HAVING {nonzero}"
            ),
            {"top": top},
        ).rowcount
        gone = connection.execute(
            text(f"DELETE FROM {table} WHERE id <= :top"),  # noqa: S608
            {"top": top},
        ).rowcount
        fewer += gone - added
    return int(fewer)


def _after_create(_metadata: Any, connection: Connection, **_kw: Any) -> None:
    install_triggers(connection)


def listen() -> None:
    """`db.create_all()` installs the triggers too (the migrations install them themselves)."""
    if not event.contains(db.metadata, "after_create", _after_create):
        event.listen(db.metadata, "after_create", _after_create)
