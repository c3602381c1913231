"""Learned peers: hand-computed rank averages, ridge on ranks, LightGBM determinism, per-layer tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from lpzero_sr.errors import TableError
from lpzero_sr.fit.assess import peer_report
from lpzero_sr.predictors import PEERS, LightGBM, RankAverage, RidgeRanks, XGBoost, pct_ranks
from lpzero_sr.table import StatTable

SIX = pd.DataFrame(
    {
        "a": [1, 2, 3, 4, 6, 5],  # training Spearman 1 - 6*2/(6*35) = 0.9429
        "b": [6, 5, 4, 3, 2, 1],  # -1: used negated
        "c": [3, 1, 2, 4, 5, 6],  # 1 - 6*6/210 = 0.8286
        "e": [5, 2, 6, 1, 4, 3],  # -0.3714: not among the best 3
        "y": [1, 2, 3, 4, 5, 6],
    }
)


def _table(frame: pd.DataFrame, **kwargs: object) -> StatTable:
    # screen=False: these columns rank y perfectly on purpose (a fit would leave them out as leaks)
    return StatTable.from_frame(frame, "y", screen=False, **kwargs)  # type: ignore[arg-type]


def test_rank_average_by_hand():
    peer = RankAverage().fit(_table(SIX))
    assert peer.columns == ("b", "a", "c") and peer.signs.tolist() == [-1.0, 1.0, 1.0]
    # ranks of -b, a, c on the six rows: [1..6], [1,2,3,4,6,5], [3,1,2,4,5,6]; their mean divided by 6
    np.testing.assert_allclose(peer.query(_table(SIX)), np.array([5, 5, 8, 12, 16, 17]) / 18)
    np.testing.assert_allclose(RankAverage(k=1).fit(_table(SIX)).query(_table(SIX)), np.arange(1, 7) / 6)
    with pytest.raises(TableError, match="^rank-avg needs k >= 1, got 0$"):
        RankAverage(k=0)


def test_rank_average_of_a_minimised_target_flips_signs():
    peer = RankAverage(k=2).fit(_table(SIX, direction="minimize"))
    assert peer.columns == ("b", "a") and peer.signs.tolist() == [1.0, -1.0]


def _monotone(seed: int, n: int = 60, noise: int = 0) -> StatTable:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    cols = {"x": x, **{f"n{i}": rng.normal(size=n) for i in range(noise)}}
    return _table(pd.DataFrame({**cols, "y": np.exp(2 * x)}))  # y is a monotone (rank-linear) function of x


def test_ridge_on_ranks_recovers_a_rank_linear_target():
    table = _monotone(0)
    train, test = table.split(30, seed=1)
    report = peer_report(train, test)
    assert report["ridge-ranks"]["spearman"] == pytest.approx(1.0)
    assert report["rank-avg"]["spearman"] == pytest.approx(1.0)
    assert report["ridge-ranks"]["topk"] == 1.0
    noisy_train, noisy_test = _monotone(0, noise=3).split(30, seed=1)
    assert RidgeRanks().fit(noisy_train).model.coef_[0] > 0.8  # the ranks of x carry the fit


@pytest.mark.parametrize("model", [LightGBM, XGBoost])
def test_boosted_trees_are_deterministic_and_learn_the_order(model):
    train, test = _monotone(3, n=200, noise=2).split(100, seed=0)
    first, second = model().fit(train).query(test), model().fit(train).query(test)
    np.testing.assert_array_equal(first, second)
    assert spearmanr(first, test.y).statistic > 0.95


def test_per_layer_tables_are_averaged_over_layers():
    per_arch = SIX.assign(arch=[f"m{i}" for i in range(6)])
    layers = pd.concat(
        [per_arch.assign(layer=0, a=per_arch["a"] - 1.0), per_arch.assign(layer=1, a=per_arch["a"] + 1.0)]
    )
    per_layer = StatTable.from_frame(layers, "y", arch_col="arch", layer_col="layer")
    flat = StatTable.from_frame(per_arch, "y", arch_col="arch")
    for name, peer in PEERS.items():
        np.testing.assert_allclose(peer().fit(per_layer).query(per_layer), peer().fit(flat).query(flat), err_msg=name)


def test_scoring_a_table_without_the_training_columns_fails_in_one_line():
    peer = RidgeRanks().fit(_table(SIX))
    with pytest.raises(TableError, match="^table lacks the predictor's training column\\(s\\): b, c, e$"):
        peer.query(_table(SIX[["a", "y"]]))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=30))
def test_pct_ranks_are_order_preserving_in_unit_interval(values):
    ranks = pct_ranks(np.array(values)[:, None])[:, 0]
    assert ranks.min() > 0 and ranks.max() <= 1.0
    for i in range(len(values)):
        for j in range(len(values)):
            if values[i] < values[j]:
                assert ranks[i] < ranks[j]
