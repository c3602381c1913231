"""k-fold validation of formula size: folds, the best member up to a size, the one-standard-error rule, a cv fit."""

from __future__ import annotations

import numpy as np
import pytest

from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.fit.selection import select
from lpzero_sr.fit.validation import ValidationCurve, best_up_to, folds
from lpzero_sr.formula import Node
from lpzero_sr.search.engine import Candidate, Front, SearchError
from lpzero_sr.table import StatTable

FRONT = Front(
    [
        Candidate(Node(var="a"), 0.30, 1),
        Candidate(Node(op="log", args=(Node(var="a"),)), 0.25, 2),
        Candidate(Node(op="add", args=(Node(var="a"), Node(var="b"))), 0.10, 3),
        Candidate(Node(op="add", args=(Node(op="log", args=(Node(var="a"),)), Node(var="b"))), 0.05, 4),
    ]
)


def test_folds_cover_every_row_once_and_differ_by_at_most_one() -> None:
    parts = folds(23, 5, seed=4)
    assert sorted(np.concatenate(parts).tolist()) == list(range(23))
    assert sorted(len(p) for p in parts) == [4, 4, 5, 5, 5]
    assert all(np.array_equal(a, b) for a, b in zip(parts, folds(23, 5, seed=4), strict=True))


def test_the_best_member_up_to_a_size() -> None:
    assert best_up_to(FRONT, 2).complexity == 2 and best_up_to(FRONT, 10).complexity == 4
    assert best_up_to(FRONT, 0) is None


def test_the_one_standard_error_rule_by_hand() -> None:
    # best mean 0.80 at size 4, stderr 0.05: the bar is 0.75; size 3 (0.76) is the smallest above it
    curve = ValidationCurve((1, 2, 3, 4), (0.40, 0.70, 0.76, 0.80), (0.1, 0.02, 0.03, 0.05), ())
    assert curve.chosen_size() == 3
    assert select(FRONT, "cv", curve).complexity == 3
    tight = ValidationCurve((1, 2, 3, 4), (0.40, 0.70, 0.76, 0.80), (0.1, 0.02, 0.03, 0.0), ())
    assert select(FRONT, "cv", tight).complexity == 4
    with pytest.raises(SearchError, match="the cv selection rule needs the validation curve"):
        select(FRONT, "cv")


def test_a_cv_fit_records_its_curve_and_picks_by_it(arch_table: StatTable, quick) -> None:
    train, test = arch_table.split(30, seed=0)
    result = fit_table(train, test, quick(generations=3, selection="cv", cv_folds=3, additive=0))
    curve = result.validation
    assert curve is not None and len(curve.folds) == 3 and curve.sizes == tuple(range(1, 16))
    chosen = result.front.candidates[result.chosen]
    assert chosen == best_up_to(result.front, curve.chosen_size())
    assert all(-1 <= v <= 1 for fold in curve.folds for v in fold if np.isfinite(v))


def test_a_time_limit_is_shared_by_the_searches_of_a_fit() -> None:
    from lpzero_sr.fit.search import shared_time
    from lpzero_sr.settings import FitSettings, SearchSettings

    settings = FitSettings(search=SearchSettings(time_limit=60.0), selection="cv", cv_folds=5, bag=1)
    assert settings.searches(100) == 6 and settings.folds(100) == 5
    assert settings.folds(12) == 2 and settings.searches(12) == 3  # at most one fold per 5 architectures
    assert shared_time(settings.search, 6).time_limit == 10.0
    assert shared_time(SearchSettings(generations=7), 6).generations == 7  # generations count per search
    assert FitSettings(bag=3).searches(100) == 3
