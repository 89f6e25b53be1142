"""The benchmark's data set, built in PostgreSQL in about a minute.

A few rows are made through the application's own services (the demo organization, its rubric
and credential, one submission waiting and one real award whose OB 2.0 assertion and signed OB
3.0 credential are rendered and signed by the issuance service). Everything else is bulk
`INSERT ... SELECT ... FROM generate_series` copying those template rows:

- 100,000 workers by default (`workers`; users + learner memberships), 10 evidence items each
  (text kind), the first of them with 2,000;
- organization A ("northwind-trades"): 100,000 submissions waiting in the review queue and
  100,000 passed ones, each with a review, its scores and an award (with the template award's
  evidence rows);
- organization B ("bench-small"): 1,000 submissions waiting, the same assessor.

The bulk awards carry the template award's document texts with the template's public id replaced
by their own (and their own SHA-256 for the ETags): the benchmark measures serving stored
documents, not their validity, so these copies do not verify. Only the template award does.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

WORKERS = 100_000
EVIDENCE_PER_WORKER = 10
#: The first bulk worker's portfolio holds this many items (the "portfolio of 2,000" row).
PORTFOLIO_ITEMS = 2_000
PORTFOLIO_EMAIL = "worker1@bench.example"
ADMIN_EMAIL = "admin@northwind.example"
WAITING_SMALL = 1_000
SMALL_SLUG = "bench-small"
ASSESSOR_EMAIL = "assessor@northwind.example"

#: A deterministic public id in SQL: 22 characters of URL-safe base64 of a SHA-256.
PID_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.pid(prefix text, n bigint) RETURNS text AS $$
  SELECT substr(translate(encode(sha256(convert_to(prefix || n::text, 'UTF8')), 'base64'),
                          '+/', '-_'), 1, 22)
$$ LANGUAGE sql IMMUTABLE
"""


@dataclass(frozen=True)
class DataSet:
    """What the load generators need to know about the data set."""

    big_slug: str
    small_slug: str
    assessor_email: str
    password: str
    award_ids: list[str]
    template_award_id: str
    admin_email: str = ADMIN_EMAIL
    portfolio_email: str = PORTFOLIO_EMAIL
    workers: int = WORKERS


def _columns(conn: Connection, table: str) -> list[str]:
    return list(
        conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = :t ORDER BY ordinal_position"
            ),
            {"t": table},
        ).scalars()
    )


def _copy_row(conn: Connection, table: str, row_id: int, overrides: dict[str, Any]) -> int:
    """Insert a copy of one row with some columns replaced; returns the new id."""
    columns = [c for c in _columns(conn, table) if c != "id"]
    select_list = ", ".join(f":{c}" if c in overrides else c for c in columns)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names from the catalogue
        f"SELECT {select_list} FROM {table} WHERE id = :row_id RETURNING id"
    )
    return int(conn.execute(text(sql), {**overrides, "row_id": row_id}).scalar_one())


def _seed_with_services() -> dict[str, Any]:
    """The demo organization, accounts, credential, one waiting submission and one real award."""
    from portfolio.demo import DEMO_PASSWORD, load_demo

    summary = load_demo()
    # The demo signs its badge at once (no worker here), so the copies carry its documents.
    return {"password": DEMO_PASSWORD, "org": summary["organization"]}


def build(app: Any, log: Any = print, workers: int = WORKERS) -> DataSet:
    """Fill an empty, migrated database with `workers` workers (and as many waiting and passed
    submissions and awards). `app` is the application bound to it."""
    assert workers >= WAITING_SMALL, f"at least {WAITING_SMALL} workers"
    from portfolio.extensions import db

    started = time.monotonic()
    with app.app_context():
        seed = _seed_with_services()
        org_a = seed["org"].id
        engine = db.engine
    log(f"  seed through the services: {time.monotonic() - started:.1f} s")

    with engine.begin() as conn:
        conn.execute(text(PID_FUNCTION))
        ids = conn.execute(
            text(
                "SELECT a.id AS award, a.public_id, a.review_id, a.credential_id, "
                "a.issuer_key_id, s.rubric_version_id, "
                "(SELECT id FROM users WHERE email = :assessor) AS assessor, "
                "(SELECT password_hash FROM users WHERE email = :assessor) AS hash "
                "FROM awards a JOIN submissions s ON s.id = a.submission_id "
                "ORDER BY a.id LIMIT 1"
            ),
            {"assessor": ASSESSOR_EMAIL},
        ).one()
        cred_waiting = ids.credential_id
        # A second credential of organization A holds the passed attempts (one attempt per
        # worker and credential is a unique constraint).
        cred_passed = _copy_row(
            conn,
            "credentials",
            cred_waiting,
            {"public_id": "benchPassedCredential0", "name": "Welding, second unit"},
        )
        org_b = _copy_row(
            conn,
            "organizations",
            org_a,
            {"public_id": "benchSmallOrganizatio0", "slug": SMALL_SLUG, "name": "Small College"},
        )
        cred_b = _copy_row(
            conn,
            "credentials",
            cred_waiting,
            {"public_id": "benchSmallCredential00", "organization_id": org_b},
        )
        conn.execute(
            text(
                "INSERT INTO memberships (user_id, organization_id, role, created_at) "
                "VALUES (:u, :o, 'assessor', now())"
            ),
            {"u": ids.assessor, "o": org_b},
        )

        def step(label: str, sql: str, **params: Any) -> None:
            t0 = time.monotonic()
            result = conn.execute(text(sql), params)
            log(f"  {label}: {result.rowcount:,} rows, {time.monotonic() - t0:.1f} s")

        step(
            "workers",
            "INSERT INTO users (public_id, email, display_name, password_hash, "
            "is_active_account, session_token, failed_logins, email_confirmed_at, created_at) "
            "SELECT pg_temp.pid('u', g), 'worker' || g || '@bench.example', 'Worker ' || g, "
            ":hash, true, md5('session' || g), 0, now(), now() FROM generate_series(1, :n) g",
            hash=ids.hash,
            n=workers,
        )
        first = conn.execute(
            text("SELECT min(id) FROM users WHERE email LIKE 'worker%@bench.example'")
        ).scalar_one()
        step(
            "memberships",
            "INSERT INTO memberships (user_id, organization_id, role, created_at) "
            "SELECT id, :a, 'learner', now() FROM users WHERE id BETWEEN :f AND :f + :n - 1 "
            "UNION ALL "
            "SELECT id, :b, 'learner', now() FROM users WHERE id BETWEEN :f AND :f + :m - 1",
            a=org_a,
            b=org_b,
            f=first,
            n=workers,
            m=WAITING_SMALL,
        )
        step(
            "evidence items",
            "INSERT INTO evidence_items (public_id, owner_id, kind, state, title, description, "
            "description_html, body_html, item_date, tags, original_filename, updated_at, "
            "created_at) "
            "SELECT pg_temp.pid('e', g), :f + (g - 1) / :per, 'text', 'ready', "
            "'Job sheet ' || g, '', '', '<p>What I did on the job.</p>', current_date, "
            "'[]'::json, '', now(), now() FROM generate_series(1, :n) g",
            f=first,
            per=EVIDENCE_PER_WORKER,
            n=workers * EVIDENCE_PER_WORKER,
        )
        step(
            f"evidence items of one worker with {PORTFOLIO_ITEMS:,}",
            "INSERT INTO evidence_items (public_id, owner_id, kind, state, title, description, "
            "description_html, body_html, item_date, tags, original_filename, updated_at, "
            "created_at) "
            "SELECT pg_temp.pid('ep', g), :f, 'text', 'ready', "
            "'Site diary ' || g, '', '', '<p>What I did on the job.</p>', current_date, "
            "'[]'::json, '', now(), now() FROM generate_series(1, :n) g",
            f=first,
            n=PORTFOLIO_ITEMS - EVIDENCE_PER_WORKER,
        )
        submission_sql = (
            "INSERT INTO submissions (public_id, learner_id, organization_id, credential_id, "
            "rubric_version_id, attempt, state, note, submitted_at, decided_at, updated_at, "
            "created_at) "
            "SELECT pg_temp.pid(:p, g), :f + g - 1, :o, :c, :rv, 1, CAST(:state AS varchar), '', "
            "now() - interval '60 days' + g * interval '20 seconds', "
            "CASE WHEN CAST(:state AS varchar) = 'passed' THEN now() END, now(), now() "
            "FROM generate_series(1, :n) g"
        )
        common = {"f": first, "rv": ids.rubric_version_id}
        step(
            "waiting submissions, organization A",
            submission_sql,
            p="sa",
            o=org_a,
            c=cred_waiting,
            state="submitted",
            n=workers,
            **common,
        )
        step(
            "passed submissions, organization A",
            submission_sql,
            p="sp",
            o=org_a,
            c=cred_passed,
            state="passed",
            n=workers,
            **common,
        )
        step(
            "waiting submissions, organization B",
            submission_sql,
            p="sb",
            o=org_b,
            c=cred_b,
            state="submitted",
            n=WAITING_SMALL,
            **common,
        )
        step(
            "reviews",
            "INSERT INTO reviews (public_id, submission_id, assessor_id, outcome, feedback, "
            "feedback_html, total_points, created_at) "
            "SELECT pg_temp.pid('r', s.id), s.id, t.assessor_id, 'pass', t.feedback, "
            "t.feedback_html, t.total_points, now() "
            "FROM submissions s CROSS JOIN reviews t WHERE s.credential_id = :c AND t.id = :r",
            c=cred_passed,
            r=ids.review_id,
        )
        step(
            "scores",
            "INSERT INTO scores (review_id, element_id, level_id, remark) "
            "SELECT r.id, sc.element_id, sc.level_id, sc.remark FROM reviews r "
            "JOIN submissions s ON s.id = r.submission_id AND s.credential_id = :c "
            "CROSS JOIN scores sc WHERE sc.review_id = :r",
            c=cred_passed,
            r=ids.review_id,
        )
        step(
            "awards",
            "INSERT INTO awards (public_id, organization_id, credential_id, recipient_id, "
            "submission_id, review_id, issuer_key_id, issued_at, expires_at, recipient_salt, "
            "ob2_assertion, ob3_credential, ob2_sha256, ob3_sha256, is_hidden, created_at) "
            "SELECT n.pid, :o, :c, n.learner_id, n.sid, n.rid, t.issuer_key_id, t.issued_at, "
            "t.expires_at, t.recipient_salt, n.ob2, n.ob3, "
            "encode(sha256(convert_to(n.ob2, 'UTF8')), 'hex'), "
            "encode(sha256(convert_to(n.ob3, 'UTF8')), 'hex'), false, now() "
            "FROM awards t CROSS JOIN LATERAL ("
            "  SELECT s.id AS sid, s.learner_id, r.id AS rid, pg_temp.pid('a', s.id) AS pid, "
            "    replace(t.ob2_assertion, t.public_id, pg_temp.pid('a', s.id)) AS ob2, "
            "    replace(t.ob3_credential, t.public_id, pg_temp.pid('a', s.id)) AS ob3 "
            "  FROM submissions s JOIN reviews r ON r.submission_id = s.id "
            "  WHERE s.credential_id = :c) n "
            "WHERE t.id = :t",
            o=org_a,
            c=cred_passed,
            t=ids.award,
        )
        step(
            "award evidence",
            "INSERT INTO award_evidence (public_id, award_id, submission_evidence_id, position, "
            "name, kind, genre, media_type, sha256, element_title, note, is_hidden) "
            "SELECT pg_temp.pid('ae', a.id * 100 + e.position), a.id, NULL, e.position, e.name, "
            "e.kind, e.genre, e.media_type, e.sha256, e.element_title, e.note, false "
            "FROM awards a CROSS JOIN award_evidence e "
            "WHERE a.credential_id = :c AND e.award_id = :t",
            c=cred_passed,
            t=ids.award,
        )
        award_ids = list(
            conn.execute(
                text("SELECT public_id FROM awards WHERE credential_id = :c ORDER BY id"),
                {"c": cred_passed},
            ).scalars()
        )
    # The report rollups' triggers appended one row per decision, score and badge date; fold
    # them as the periodic job (portfolio.reports.jobs.compact_rollups) does every five minutes.
    t0 = time.monotonic()
    with engine.begin() as conn:
        from portfolio.reports import rollups

        fewer = rollups.compact(conn)
    log(f"  report rollups compacted ({fewer:,} rows fewer): {time.monotonic() - t0:.1f} s")
    t0 = time.monotonic()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    log(f"  vacuum analyze: {time.monotonic() - t0:.1f} s")
    log(f"  data set built in {time.monotonic() - started:.1f} s")
    return DataSet(
        big_slug=seed["org"].slug,
        small_slug=SMALL_SLUG,
        assessor_email=ASSESSOR_EMAIL,
        password=seed["password"],
        award_ids=award_ids,
        template_award_id=ids.public_id,
        workers=workers,
    )


def counts(engine: Any) -> dict[str, int]:
    """Row counts of the main tables (for the report)."""
    tables = ["users", "evidence_items", "submissions", "reviews", "scores", "awards"]
    with engine.connect() as conn:
        result = {
            t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())  # noqa: S608
            for t in tables
        }
        result["waiting"] = int(
            conn.execute(
                text("SELECT count(*) FROM submissions WHERE state IN ('submitted','in_review')")
            ).scalar_one()
        )
    return result


if __name__ == "__main__":  # pragma: no cover - manual use: python bench/dataset.py (env set)
    from portfolio import create_app

    print(json.dumps(build(create_app()).__dict__ | {"award_ids": "..."}, indent=2))
