"""What carries across attempts and people: earlier attempts' levels and remarks per element,
and the audit trail in plain words (per submission and per organization, filtered, as CSV)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.core.audit import AuditEvent
from portfolio.core.errors import NotFound
from portfolio.extensions import db
from portfolio.submissions.models import Submission, SubmissionState


@dataclass(frozen=True)
class EarlierScore:
    """One element's level and remark in an earlier attempt."""

    attempt: int
    submission_public_id: str
    level: str
    remark: str
    decided_at: datetime | None


def earlier_feedback(sub: Submission) -> dict[int, list[EarlierScore]]:
    """For each element of this attempt (by id), the levels and remarks it got in the worker's
    earlier decided attempts at the same credential, newest first. Elements are matched by id
    on the same rubric version and by title across versions."""
    earlier = list(
        db.session.scalars(
            select(Submission)
            .where(
                Submission.learner_id == sub.learner_id,
                Submission.credential_id == sub.credential_id,
                Submission.attempt < sub.attempt,
                Submission.state.in_(
                    [SubmissionState.NEEDS_REVISION, SubmissionState.FAILED, SubmissionState.PASSED]
                ),
            )
            .order_by(Submission.attempt.desc())
        )
    )
    by_title = {e.title: e.id for e in sub.rubric_version.elements}
    out: dict[int, list[EarlierScore]] = {}
    for old in earlier:
        review = old.review
        if review is None:
            continue
        for score in review.scores:
            target = (
                score.element_id
                if old.rubric_version_id == sub.rubric_version_id
                else by_title.get(score.element.title)
            )
            if target is None:
                continue
            out.setdefault(target, []).append(
                EarlierScore(
                    attempt=old.attempt,
                    submission_public_id=old.public_id,
                    level=score.level.name,
                    remark=score.remark,
                    decided_at=old.decided_at,
                )
            )
    return out


# -- the audit trail in plain words ----------------------------------------------------------
PHRASES = {
    "submission.start": "started attempt {attempt}",
    "submission.submit": "submitted the evidence",
    "submission.claim": "claimed the submission for review",
    "submission.release": "released the submission back to the queue",
    "submission.withdraw": "withdrew the submission",
    "submission.allocate": "allocated the submission to {to_name}",
    "review.record": "recorded the decision: {outcome}",
    "marking.record": "recorded the {stage} marking: {outcome}",
    "marking.agree": "found both markings in agreement",
    "marking.disagree": "found the markings in disagreement",
    "marking.moderate": "moderated and decided: {outcome} ({reason})",
    "marking.settings": "saved marking plan version {version}",
    "verification.sample": (
        "sampled the decision for internal verification under marking plan version "
        "{plan_version} ({reason})"
    ),
    "verification.verdict": "gave the verification verdict: {verdict}",
    "verification.send_back": "sent the decision back to the assessor ({remark})",
    "verification.case_close": "closed the verification case: {resolution} ({remark})",
    "witness.request": "asked a workplace witness ({role}) to confirm",
    "witness.revoke": "withdrew a witness link",
    "witness.resend": "sent the witness a new link",
    "witness.confirm": "a workplace witness ({role}) confirmed",
    "witness.decline": "a workplace witness ({role}) declined",
    "appeal.lodge": "appealed the decision",
    "appeal.decide": "decided the appeal: {outcome}",
    "attempt.grant": "granted another attempt",
    "decision.reopen": "reopened the decision ({reason})",
    "award.issue": "issued the badge",
    "award.revoke": "revoked the badge ({reason})",
}
WORDS = {
    "pass": "passed",
    "needs_revision": "needs revision",
    "fail": "not passed",
    "agreed": "agrees",
    "sent_back": "sent back",
    "case_open": "disagrees (case opened)",
    "kept": "the decision stands",
    "revoked": "the badge was revoked",
}


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "…"


def describe(event: AuditEvent) -> str:
    """One audit event as a phrase a person can read."""
    phrase = PHRASES.get(event.action)
    if phrase is None:
        return event.action.replace(".", " ").replace("_", " ")
    values = _Blank(
        {k: WORDS.get(str(v), str(v)) for k, v in (event.data or {}).items() if v is not None}
    )
    if "stage" in values:
        values["stage"] = values["stage"]
    if "plan_version" not in values and "seed_version" in values:
        # Samples recorded before plans were versioned named the version `seed_version`.
        values["plan_version"] = values["seed_version"]
    return phrase.format_map(values)


@dataclass(frozen=True)
class TrailRow:
    """One line of the readable trail."""

    at: datetime
    who: str
    what: str
    subject: str
    action: str


def _names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {
        u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(wanted)))
    }


def _rows(events: Sequence[AuditEvent], subjects: dict[str, str] | None = None) -> list[TrailRow]:
    names = _names(e.actor_id for e in events)
    return [
        TrailRow(
            at=e.created_at,
            who=names.get(e.actor_id, "—") if e.actor_id else "the system or a witness",
            what=describe(e),
            subject=(subjects or {}).get(e.subject_id, e.subject_type),
            action=e.action,
        )
        for e in events
    ]


def check_may_read_history(user: User, org: Organization, sub: Submission) -> None:
    """Admins, and assessors, moderators and verifiers of the organization (never on their own
    work, where they are the worker)."""
    require_role(user, org, Role.ADMIN, Role.ASSESSOR, Role.MODERATOR, Role.INTERNAL_VERIFIER)
    if sub.organization_id != org.id or sub.state == SubmissionState.DRAFT:
        raise NotFound("No such submission.")
    if sub.learner_id == user.id and not user.has_role(org.id, Role.ADMIN):
        raise NotFound("No such submission.")


def submission_trail(user: User, org: Organization, sub: Submission) -> list[TrailRow]:
    """A submission's trail, oldest first, in plain words with names."""
    check_may_read_history(user, org, sub)
    events = list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "submission", AuditEvent.subject_id == sub.public_id)
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
    )
    return _rows(events)


@dataclass(frozen=True)
class TrailFilter:
    """What the admin narrowed the organization's trail to."""

    person_id: int | None = None
    credential_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def organization_trail(
    admin: User, org: Organization, flt: TrailFilter, limit: int = 500
) -> list[TrailRow]:
    """The organization's trail, newest first, filtered by person, credential and dates."""
    require_role(admin, org, Role.ADMIN)
    query = select(AuditEvent).where(AuditEvent.organization_id == org.id)
    if flt.person_id is not None:
        query = query.where(AuditEvent.actor_id == flt.person_id)
    if flt.since is not None:
        query = query.where(AuditEvent.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(AuditEvent.created_at < flt.until)
    if flt.credential_id is not None:
        subs = select(Submission.public_id).where(Submission.credential_id == flt.credential_id)
        query = query.where(
            AuditEvent.subject_type == "submission", AuditEvent.subject_id.in_(subs)
        )
    events = list(
        db.session.scalars(
            query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)
        )
    )
    sub_ids = {e.subject_id for e in events if e.subject_type == "submission"}
    subjects: dict[str, str] = {}
    if sub_ids:
        for s in db.session.scalars(select(Submission).where(Submission.public_id.in_(sub_ids))):
            subjects[s.public_id] = (
                f"{s.learner.display_name}, {s.credential.name}, attempt {s.attempt}"
            )
    return _rows(events, subjects)


def trail_csv(rows: Sequence[TrailRow]) -> str:
    """The trail as CSV (UTF-8, one header row); cells that a spreadsheet would run as a formula
    are prefixed with an apostrophe."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["when (UTC)", "who", "what", "about", "action"])

    def safe(value: Any) -> str:
        text = str(value)
        # CSV injection: a leading = + - @ would be evaluated by spreadsheet programs.
        return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text

    for r in rows:
        writer.writerow(
            [
                r.at.strftime("%Y-%m-%d %H:%M:%S"),
                safe(r.who),
                safe(r.what),
                safe(r.subject),
                r.action,
            ]
        )
    return buf.getvalue()
