"""Reading the CFRubrics of a CASE package: criteria, levels (one set per rubric, ordered by
score) and what the CFDocument's extensions add (evidence guidance, required, pass rule)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from portfolio.frameworks.case.package import (
    EXT,
    EXT_GUIDANCE,
    EXT_MIN_TOTAL,
    EXT_PASS_LEVEL,
    EXT_REQUIRED,
    MAX_IDENTIFIER,
    Checker,
    ParsedCriterion,
    ParsedItem,
    ParsedRubric,
    derived_id,
    locate,
)


def parse_rubric(
    check: Checker,
    rub: dict[str, Any],
    r_index: int,
    items: dict[str, ParsedItem],
    alias: dict[str, str],
    rubric_ext: dict[str, Any],
    notes: list[str],
) -> ParsedRubric | None:
    ident = check.string(
        rub, "identifier", f"CFRubrics[{r_index}]", required=True, max_length=MAX_IDENTIFIER
    )
    # Our settings: in the CFDocument's extensions (what we export), or, from exports made
    # before, in an `extensions` object of the CFRubric itself.
    ext: dict[str, Any] = dict(rub[EXT]) if isinstance(rub.get(EXT), dict) else {}
    found = rubric_ext.get(ident)
    mine: dict[str, Any] = found if isinstance(found, dict) else {}
    for key in ("passLevelPosition", "minTotalPoints"):
        if key in mine:
            ext[f"portfolio:{key}"] = mine[key]
    criteria_ext: dict[str, Any] = (
        mine["criteria"] if isinstance(mine.get("criteria"), dict) else {}
    )
    if isinstance(mine.get("identifier"), str) and mine["identifier"]:
        ident = mine["identifier"]
    where = locate("CFRubrics", r_index, ident)
    title = check.string(rub, "title", where, required=True)
    criteria: list[ParsedCriterion] = []
    raw_criteria = check.obj_list(rub, "CFRubricCriteria", where, required=True)
    if not raw_criteria and "CFRubricCriteria" in rub and isinstance(rub["CFRubricCriteria"], list):
        check.add(where, "CFRubricCriteria", "is empty; a rubric needs at least one criterion")
    for c_index, crit in enumerate(raw_criteria):
        c_id = check.string(
            crit,
            "identifier",
            f"{where} CFRubricCriteria[{c_index}]",
            required=True,
            max_length=MAX_IDENTIFIER,
        )
        c_found = criteria_ext.get(c_id)
        c_mine: dict[str, Any] = c_found if isinstance(c_found, dict) else {}
        if isinstance(c_mine.get("identifier"), str) and c_mine["identifier"]:
            c_id = c_mine["identifier"]
        c_where = f"CFRubricCriterion {c_id}" if c_id else f"{where} CFRubricCriteria[{c_index}]"
        category = check.string(crit, "category", c_where, max_length=300)
        description = check.string(crit, "description", c_where)
        if not category and not description:
            check.add(
                c_where,
                "category",
                "is missing (an element needs a title: give category or description)",
            )
        item_id = None
        if crit.get("CFItemURI") is not None:
            item_id = check.node_ref(crit, "CFItemURI", c_where)
            if item_id is not None:
                item_id = alias.get(item_id, item_id)
            if item_id is not None and item_id not in items:
                check.add(
                    c_where,
                    "CFItemURI",
                    f"points at {item_id}, which is not a CFItem of this package",
                )
        c_ext: dict[str, Any] = dict(crit[EXT]) if isinstance(crit.get(EXT), dict) else {}
        if "evidenceGuidance" in c_mine:
            c_ext[EXT_GUIDANCE] = c_mine["evidenceGuidance"]
        if "required" in c_mine:
            c_ext[EXT_REQUIRED] = c_mine["required"]
        required = c_ext.get(EXT_REQUIRED, True)
        if not isinstance(required, bool):
            check.add(c_where, f"{EXT}.{EXT_REQUIRED}", "must be true or false")
            required = True
        guidance = c_ext.get(EXT_GUIDANCE, "")
        if not isinstance(guidance, str):
            check.add(c_where, f"{EXT}.{EXT_GUIDANCE}", "must be a string")
            guidance = ""
        weight = check.number(crit, "weight", c_where, Decimal(1)) or Decimal(1)
        if weight < 0:
            check.add(c_where, "weight", "cannot be negative")
        criterion = ParsedCriterion(
            identifier=c_id,
            title=category or description.split("\n", 1)[0][:300],
            description=description if category else "",
            weight=weight,
            position=check.integer(crit, "position", c_where, c_index),
            item_identifier=item_id,
            guidance=guidance,
            required=required,
        )
        raw_levels = check.obj_list(crit, "CFRubricCriterionLevels", c_where, required=True)
        if not raw_levels and isinstance(crit.get("CFRubricCriterionLevels"), list):
            check.add(c_where, "CFRubricCriterionLevels", "is empty")
        staged = []
        for l_index, lv in enumerate(raw_levels):
            l_id = check.string(
                lv,
                "identifier",
                f"{c_where} CFRubricCriterionLevels[{l_index}]",
                required=True,
                max_length=MAX_IDENTIFIER,
            )
            l_where = (
                f"CFRubricCriterionLevel {l_id}"
                if l_id
                else f"{c_where} CFRubricCriterionLevels[{l_index}]"
            )
            quality = check.string(lv, "quality", l_where, required=True, max_length=120)
            score = check.number(lv, "score", l_where, None)
            if score is None and "score" not in lv:
                score = Decimal(check.integer(lv, "position", l_where, l_index))
            staged.append(
                (
                    score if score is not None else Decimal(0),
                    check.integer(lv, "position", l_where, l_index),
                    (
                        l_id,
                        quality,
                        score or Decimal(0),
                        check.string(lv, "description", l_where),
                        check.string(lv, "feedback", l_where),
                    ),
                )
            )
        staged.sort(key=lambda s: (s[0], s[1]))
        criterion.levels = [s[2] for s in staged]
        criteria.append(criterion)
    criteria.sort(key=lambda c: c.position)

    levels = _one_level_set(check, title, criteria, notes)
    names = [q for q, _ in levels]
    if len(set(names)) != len(names):
        check.add(where, "CFRubricCriterionLevels", "two levels have the same quality name")
    pass_level = ext.get(EXT_PASS_LEVEL, len(levels) // 2 if levels else None)
    if pass_level is not None and (
        isinstance(pass_level, bool)
        or not isinstance(pass_level, int)
        or not 0 <= pass_level < max(len(levels), 1)
    ):
        check.add(where, f"{EXT}.{EXT_PASS_LEVEL}", "must be the position of one of the levels")
        pass_level = None
    min_total = check.number(ext, EXT_MIN_TOTAL, f"{where} {EXT}", None)
    return ParsedRubric(
        identifier=ident,
        uri=check.string(rub, "uri", where, max_length=1000),
        title=title,
        description=check.string(rub, "description", where),
        criteria=criteria,
        levels=levels,
        pass_level=pass_level,
        min_total=min_total,
    )


def _describe_levels(levels: list[tuple[str, Decimal]]) -> str:
    return "(" + ", ".join(f"{q} = {s.normalize():f}" for q, s in levels) + ")"


def _one_level_set(
    check: Checker, title: str, criteria: list[ParsedCriterion], notes: list[str]
) -> list[tuple[str, Decimal]]:
    """The rubric's one set of levels (ours has one for all elements).

    CASE lets each criterion have its own levels. When they differ, they are mapped onto one
    set by score: one level per distinct score, named after the qualities given at that score;
    a criterion without a level at some score gets an empty cell there (to describe before
    publishing). Every such change is told in `notes`.
    """
    if not criteria:
        return []
    sets = [[(q, s) for _, q, s, _, _ in c.levels] for c in criteria]
    if all(one == sets[0] for one in sets):
        return sets[0]
    names_by_score: dict[Decimal, list[str]] = {}
    for crit, levels in zip(criteria, sets, strict=True):
        scores = [s for _, s in levels]
        if len(set(scores)) != len(scores):
            check.add(
                f"CFRubricCriterion {crit.identifier}",
                "CFRubricCriterionLevels",
                "has two levels with the same score, so its levels cannot be mapped onto one "
                "set of levels by score",
            )
            continue
        for quality, score in levels:
            names = names_by_score.setdefault(score, [])
            if quality not in names:
                names.append(quality)
    unified = [(" / ".join(names_by_score[s]), s) for s in sorted(names_by_score)]
    counts: dict[str, int] = {}
    for name, _ in unified:
        counts[name] = counts.get(name, 0) + 1
    unified = [
        (f"{name} ({score.normalize():f})" if counts[name] > 1 else name, score)
        for name, score in unified
    ]
    notes.append(
        f"Rubric “{title}”: its criteria use different levels, so they were mapped onto one set "
        f"of levels by score: {_describe_levels(unified)}."
    )
    for crit in criteria:
        by_score = {lv[2]: lv for lv in crit.levels}
        missing = [name for name, score in unified if score not in by_score]
        if missing:
            notes.append(
                f"Criterion “{crit.title}” had the levels "
                f"{_describe_levels([(q, s) for _, q, s, _, _ in crit.levels])}; its cells at "
                + ", ".join(f"“{m}”" for m in missing)
                + " are empty and must be described before the rubric is published."
            )
        crit.levels = [
            by_score.get(score)
            or (derived_id(crit.identifier, f"level/{score}"), name, score, "", "")
            for name, score in unified
        ]
    return unified
