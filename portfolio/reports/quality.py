"""Quality of assessment: agreement between first and second markers (percent agreement and
Cohen's kappa) per credential and element, moderation outcomes, internal-verification agreement
per assessor, time spent in each stage, and appeals with their outcomes."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.organizations import require_role
from portfolio.extensions import db
from portfolio.submissions.models import (
    Appeal,
    Marking,
    MarkingStage,
    SampleState,
    Submission,
    VerificationSample,
)


def percent_agreement(pairs: Sequence[tuple[object, object]]) -> float | None:
    """Share of pairs where both raters gave the same category (None without pairs)."""
    if not pairs:
        return None
    return sum(a == b for a, b in pairs) / len(pairs)


def cohen_kappa(pairs: Sequence[tuple[object, object]]) -> float | None:
    """Cohen's kappa of two raters over the same items: (p_o - p_e) / (1 - p_e), where p_e is
    the agreement expected from each rater's own category frequencies. None without pairs, or
    when both raters used one and the same category throughout (kappa is undefined; agreement
    is then complete)."""
    if not pairs:
        return None
    n = len(pairs)
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    p_o = sum(a == b for a, b in pairs) / n
    p_e = sum(first[k] * second.get(k, 0) for k in first) / (n * n)
    if p_e == 1:
        return None
    return (p_o - p_e) / (1 - p_e)


@dataclass
class Agreement:
    """Agreement figures of one credential or one element."""

    label: str
    pairs: int
    percent: float | None
    kappa: float | None


@dataclass
class CredentialQuality:
    """Every figure of one credential."""

    name: str
    overall: Agreement
    outcome: Agreement
    elements: list[Agreement] = field(default_factory=list)
    moderations: int = 0
    #: Moderated final outcome sided with: first marker, second marker, neither.
    moderation_sided: dict[str, int] = field(default_factory=dict)


@dataclass
class QualityReport:
    credentials: list[CredentialQuality]
    #: assessor name → (agreed, verified)
    iqa_by_assessor: list[tuple[str, int, int]]
    #: stage label → (mean hours, count)
    stage_hours: list[tuple[str, float, int]]
    appeals: dict[str, int]


def _pairs_by_round(markings: Sequence[Marking]) -> dict[tuple[int, int], dict[str, Marking]]:
    rounds: dict[tuple[int, int], dict[str, Marking]] = defaultdict(dict)
    for m in markings:
        rounds[(m.submission_id, m.round)][str(m.stage)] = m
    return rounds


def build_quality_report(admin: User, org: Organization) -> QualityReport:
    """The organization's quality figures (admins)."""
    require_role(admin, org, Role.ADMIN)
    markings = list(
        db.session.scalars(
            select(Marking)
            .join(Submission, Submission.id == Marking.submission_id)
            .where(Submission.organization_id == org.id)
            .options(
                selectinload(Marking.scores),
                selectinload(Marking.submission).selectinload(Submission.credential),
            )
            .order_by(Marking.id)
        )
    )
    rounds = _pairs_by_round(markings)
    by_cred: dict[int, list[dict[str, Marking]]] = defaultdict(list)
    for stages in rounds.values():
        any_m = next(iter(stages.values()))
        by_cred[any_m.submission.credential_id].append(stages)
    creds: list[CredentialQuality] = []
    for rows in by_cred.values():
        sub = next(iter(rows[0].values())).submission
        version = sub.rubric_version
        positions = {lv.id: lv.position for lv in version.levels}
        element_pairs: dict[int, list[tuple[int, int]]] = defaultdict(list)
        outcome_pairs: list[tuple[object, object]] = []
        sided: Counter[str] = Counter()
        moderations = 0
        for stages in rows:
            first, second = stages.get(MarkingStage.FIRST), stages.get(MarkingStage.SECOND)
            if first is None or second is None:
                continue
            outcome_pairs.append((first.outcome, second.outcome))
            a = {s.element_id: s.level_id for s in first.scores}
            b = {s.element_id: s.level_id for s in second.scores}
            for element_id in a.keys() & b.keys():
                element_pairs[element_id].append(
                    (positions.get(a[element_id], -1), positions.get(b[element_id], -1))
                )
            moderation = stages.get(MarkingStage.MODERATION)
            if moderation is not None:
                moderations += 1
                final = {s.element_id: s.level_id for s in moderation.scores}
                if final == a and moderation.outcome == first.outcome:
                    sided["first marker"] += 1
                elif final == b and moderation.outcome == second.outcome:
                    sided["second marker"] += 1
                else:
                    sided["neither"] += 1
        all_pairs = [p for pairs in element_pairs.values() for p in pairs]
        titles = {e.id: e.title for e in version.elements}
        creds.append(
            CredentialQuality(
                name=sub.credential.name,
                overall=Agreement(
                    "All elements",
                    len(all_pairs),
                    percent_agreement(all_pairs),
                    cohen_kappa(all_pairs),
                ),
                outcome=Agreement(
                    "Outcome",
                    len(outcome_pairs),
                    percent_agreement(outcome_pairs),
                    cohen_kappa(outcome_pairs),
                ),
                elements=[
                    Agreement(
                        titles.get(eid, "?"),
                        len(pairs),
                        percent_agreement(pairs),
                        cohen_kappa(pairs),
                    )
                    for eid, pairs in sorted(element_pairs.items(), key=lambda kv: kv[0])
                ],
                moderations=moderations,
                moderation_sided=dict(sided),
            )
        )
    creds.sort(key=lambda c: c.name)

    samples = list(
        db.session.scalars(
            select(VerificationSample)
            .where(VerificationSample.organization_id == org.id)
            .options(selectinload(VerificationSample.decided_by))
        )
    )
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sample in samples:
        if sample.state == SampleState.WAITING:
            continue
        name = sample.decided_by.display_name if sample.decided_by else "(removed)"
        per[name][1] += 1
        if sample.state == SampleState.AGREED:
            per[name][0] += 1
    iqa = sorted((name, v[0], v[1]) for name, v in per.items())

    stage_times: dict[str, list[float]] = defaultdict(list)
    for (_sub_id, _round), stages in rounds.items():
        sub = next(iter(stages.values())).submission
        first, second = stages.get(MarkingStage.FIRST), stages.get(MarkingStage.SECOND)
        mod, iqa_m = stages.get(MarkingStage.MODERATION), stages.get(MarkingStage.VERIFICATION)
        if first is not None and sub.submitted_at is not None and _round == 1:
            stage_times["Waiting for the first marking"].append(
                (first.created_at - sub.submitted_at).total_seconds() / 3600
            )
        if first is not None and second is not None:
            stage_times["Waiting for the second marking"].append(
                (second.created_at - first.created_at).total_seconds() / 3600
            )
        if second is not None and mod is not None:
            stage_times["With the moderator"].append(
                (mod.created_at - second.created_at).total_seconds() / 3600
            )
        deciding = mod or second or first
        if deciding is not None and iqa_m is not None:
            stage_times["With the internal verifier"].append(
                (iqa_m.created_at - deciding.created_at).total_seconds() / 3600
            )
    order = [
        "Waiting for the first marking",
        "Waiting for the second marking",
        "With the moderator",
        "With the internal verifier",
    ]
    stage_hours = [
        (label, sum(stage_times[label]) / len(stage_times[label]), len(stage_times[label]))
        for label in order
        if stage_times.get(label)
    ]

    appeal_rows = list(
        db.session.scalars(
            select(Appeal)
            .join(Submission, Submission.id == Appeal.submission_id)
            .where(Submission.organization_id == org.id)
        )
    )
    appeals = {
        "lodged": len(appeal_rows),
        "open": sum(a.outcome is None for a in appeal_rows),
        "upheld (decision overturned)": sum(a.outcome == "pass" for a in appeal_rows),
        "dismissed (decision stands)": sum(a.outcome == "fail" for a in appeal_rows),
    }
    return QualityReport(creds, iqa, stage_hours, appeals)
