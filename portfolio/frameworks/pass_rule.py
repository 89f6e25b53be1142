"""The pass rule, as a pure function of a rubric's shape and an assessor's scores.

A submission passes when every required element is scored at or above the rubric's pass level
and, if the rubric sets one, the weighted total of points reaches its minimum. Non-required
elements never block a pass on their own, but their points count in the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class ElementSpec:
    """What the rule needs to know of one rubric element."""

    key: int
    title: str
    is_required: bool
    weight: Decimal


@dataclass(frozen=True)
class LevelSpec:
    """What the rule needs to know of one performance level (position 0 is the lowest)."""

    position: int
    name: str
    points: Decimal


@dataclass(frozen=True)
class Evaluation:
    """The outcome of the pass rule, with the reasons a person can read."""

    passed: bool
    total_points: Decimal
    #: Required elements scored below the pass level, by title.
    below_pass_level: list[str] = field(default_factory=list)
    #: Human-readable reasons when not passed.
    reasons: list[str] = field(default_factory=list)


class IncompleteScores(ValueError):
    """Some element has no level, or a level that the rubric does not have."""


def evaluate(
    elements: Sequence[ElementSpec],
    levels: Sequence[LevelSpec],
    pass_level_position: int,
    min_total_points: Decimal | None,
    scores: Mapping[int, int],
) -> Evaluation:
    """Apply the pass rule. `scores` maps element key → level position; every element must be
    scored (an assessor scores every element), or `IncompleteScores` is raised."""
    by_position = {level.position: level for level in levels}
    if pass_level_position not in by_position:
        raise ValueError("the pass level is not one of the rubric's levels")
    missing = [e.title for e in elements if e.key not in scores]
    if missing:
        raise IncompleteScores("Choose a level for every element: " + ", ".join(missing) + ".")
    unknown = [e.title for e in elements if scores[e.key] not in by_position]
    if unknown:
        raise IncompleteScores("Unknown level for: " + ", ".join(unknown) + ".")

    total = sum((by_position[scores[e.key]].points * e.weight for e in elements), start=Decimal(0))
    pass_name = by_position[pass_level_position].name
    below = [e.title for e in elements if e.is_required and scores[e.key] < pass_level_position]
    reasons = [f"“{title}” is below {pass_name}." for title in below]
    if min_total_points is not None and total < min_total_points:
        reasons.append(f"The total of {total:g} points is below the required {min_total_points:g}.")
    return Evaluation(
        passed=not reasons, total_points=total, below_pass_level=below, reasons=reasons
    )
