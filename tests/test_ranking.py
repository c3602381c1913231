"""lpzero_sr.ranking against scipy and hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lpzero_sr.ranking import WORST_LOSS, aggregate, bootstrap_ci, kendall, rank_loss, spearman, topk_precision

SCORE = np.array([0.3, 1.2, -0.5, 2.0, 0.9, 0.9])
TARGET = np.array([1.0, 3.0, 0.0, 4.0, 2.5, 2.0])


def test_correlations_match_scipy() -> None:
    assert spearman(SCORE, TARGET) == pytest.approx(stats.spearmanr(SCORE, TARGET).statistic)
    assert kendall(SCORE, TARGET) == pytest.approx(stats.kendalltau(SCORE, TARGET).statistic)


def test_perfect_and_reversed_orders() -> None:
    x = np.arange(5.0)
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert kendall(x, -x) == pytest.approx(-1.0)


def test_constant_input_gives_nan() -> None:
    assert np.isnan(spearman(np.ones(4), np.arange(4.0)))
    assert np.isnan(kendall(np.arange(4.0), np.zeros(4)))


def test_rank_loss_is_one_minus_scipy_spearman() -> None:
    expected = 1.0 - stats.spearmanr(SCORE, TARGET).statistic
    assert rank_loss(SCORE, TARGET) == pytest.approx(expected)
    assert rank_loss(SCORE, TARGET, "kendall") == pytest.approx(1.0 - stats.kendalltau(SCORE, TARGET).statistic)


def test_rank_loss_invalid_scores_get_worst_loss() -> None:
    assert rank_loss(np.array([1.0, np.nan, 2.0]), np.arange(3.0)) == WORST_LOSS
    assert rank_loss(np.array([1.0, np.inf, 2.0]), np.arange(3.0)) == WORST_LOSS
    assert rank_loss(np.ones(3), np.arange(3.0)) == WORST_LOSS
    assert rank_loss(np.ones(2), np.arange(3.0)) == WORST_LOSS  # shape mismatch


def test_topk_precision_by_hand() -> None:
    score = np.array([9.0, 8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0])
    target = np.array([9.0, 0.0, 8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    # k = 2: top by score {0, 1}; top by target {0, 2} -> one shared
    assert topk_precision(score, target, frac=0.2) == pytest.approx(0.5)
    assert topk_precision(score, target, frac=0.1) == pytest.approx(1.0)


def test_aggregate_sum_and_mean() -> None:
    values = np.array([1.0, 2.0, 3.0, 10.0])
    groups = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(aggregate(values, groups, 2, "sum"), [3.0, 13.0])
    np.testing.assert_allclose(aggregate(values, groups, 2, "mean"), [1.5, 6.5])
    with pytest.raises(ValueError, match="unknown aggregation 'max'"):
        aggregate(values, groups, 2, "max")  # type: ignore[arg-type]


def test_bootstrap_ci_is_seeded_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    y = x + rng.normal(scale=0.5, size=60)
    low, high = bootstrap_ci(x, y, n_boot=200, seed=3)
    assert (low, high) == bootstrap_ci(x, y, n_boot=200, seed=3)
    assert low < spearman(x, y) < high
    assert -1.0 <= low < high <= 1.0
