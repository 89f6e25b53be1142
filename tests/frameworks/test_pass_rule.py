"""The pass rule: required elements at or above the pass level, optional points threshold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.frameworks.pass_rule import ElementSpec, IncompleteScores, LevelSpec, evaluate

LEVELS = [
    LevelSpec(0, "Not yet", Decimal(0)),
    LevelSpec(1, "Developing", Decimal(1)),
    LevelSpec(2, "Meets", Decimal(2)),
    LevelSpec(3, "Exceeds", Decimal(3)),
]
ELEMENTS = [
    ElementSpec(1, "Prepare the joint", True, Decimal(1)),
    ElementSpec(2, "Weld the joint", True, Decimal(2)),
    ElementSpec(3, "Tidy the workplace", False, Decimal(1)),
]


def test_all_required_at_pass_level_passes() -> None:
    result = evaluate(ELEMENTS, LEVELS, 2, None, {1: 2, 2: 2, 3: 0})
    assert result.passed and result.reasons == []
    assert result.total_points == Decimal(6)


def test_one_required_element_below_fails_and_names_it() -> None:
    result = evaluate(ELEMENTS, LEVELS, 2, None, {1: 3, 2: 1, 3: 3})
    assert not result.passed
    assert result.below_pass_level == ["Weld the joint"]
    assert result.reasons == ["“Weld the joint” is below Meets."]


def test_non_required_element_never_blocks_alone() -> None:
    assert evaluate(ELEMENTS, LEVELS, 2, None, {1: 2, 2: 2, 3: 0}).passed


def test_points_threshold_applies_on_top_and_counts_weights() -> None:
    # 2*1 + 2*2 + 0*1 = 6 < 7
    result = evaluate(ELEMENTS, LEVELS, 2, Decimal(7), {1: 2, 2: 2, 3: 0})
    assert not result.passed
    assert result.reasons == ["The total of 6 points is below the required 7."]
    # exactly at the threshold passes: 2 + 4 + 1 = 7
    assert evaluate(ELEMENTS, LEVELS, 2, Decimal(7), {1: 2, 2: 2, 3: 1}).passed


def test_lowest_level_as_pass_level_passes_everything_scored() -> None:
    assert evaluate(ELEMENTS, LEVELS, 0, None, {1: 0, 2: 0, 3: 0}).passed


def test_every_element_must_be_scored() -> None:
    with pytest.raises(IncompleteScores, match="Tidy the workplace"):
        evaluate(ELEMENTS, LEVELS, 2, None, {1: 2, 2: 2})
    with pytest.raises(IncompleteScores, match="Unknown level"):
        evaluate(ELEMENTS, LEVELS, 2, None, {1: 2, 2: 2, 3: 9})


@st.composite
def rubrics_and_scores(draw):  # type: ignore[no-untyped-def]
    n_levels = draw(st.integers(2, 6))
    points = sorted(draw(st.lists(st.integers(0, 10), min_size=n_levels, max_size=n_levels)))
    levels = [LevelSpec(i, f"L{i}", Decimal(p)) for i, p in enumerate(points)]
    n_elements = draw(st.integers(1, 8))
    elements = [
        ElementSpec(i, f"E{i}", draw(st.booleans()), Decimal(draw(st.integers(1, 3))))
        for i in range(n_elements)
    ]
    pass_level = draw(st.integers(0, n_levels - 1))
    threshold = draw(st.one_of(st.none(), st.integers(0, 100).map(Decimal)))
    scores = {e.key: draw(st.integers(0, n_levels - 1)) for e in elements}
    return elements, levels, pass_level, threshold, scores


@given(rubrics_and_scores())
def test_rule_matches_its_definition(case) -> None:  # type: ignore[no-untyped-def]
    elements, levels, pass_level, threshold, scores = case
    result = evaluate(elements, levels, pass_level, threshold, scores)
    required_ok = all(scores[e.key] >= pass_level for e in elements if e.is_required)
    total = sum(levels[scores[e.key]].points * e.weight for e in elements)
    assert result.total_points == total
    assert result.passed == (required_ok and (threshold is None or total >= threshold))
    assert result.passed == (result.reasons == [])


@given(rubrics_and_scores(), st.data())
def test_raising_a_score_never_turns_a_pass_into_a_fail(case, data) -> None:  # type: ignore[no-untyped-def]
    elements, levels, pass_level, threshold, scores = case
    before = evaluate(elements, levels, pass_level, threshold, scores)
    element = data.draw(st.sampled_from(elements))
    better = dict(scores)
    better[element.key] = min(scores[element.key] + 1, len(levels) - 1)
    after = evaluate(elements, levels, pass_level, threshold, better)
    assert not (before.passed and not after.passed)
