"""Held-out metrics and the best-single-column baseline chosen on training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.fit.assess import heldout_report
from lpzero_sr.predictors import best_single_column
from lpzero_sr.table import StatTable


def table(target: np.ndarray, **cols: np.ndarray) -> StatTable:
    n = len(target)
    return StatTable.from_frame(pd.DataFrame({"arch": [f"a{i}" for i in range(n)], **cols, "acc": target}), "acc")


class Fixed:
    """A predictor with fixed scores."""

    size = None

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def fit(self, train: StatTable) -> Fixed:
        return self

    def query(self, table: StatTable) -> np.ndarray:
        return self.scores


def test_rank_metrics_match_scipy() -> None:
    s, t = np.array([3.0, 1.0, 2.0, 5.0, 4.0]), np.array([2.0, 1.0, 3.0, 5.0, 4.0])
    m = rank_metrics(s, t, frac=0.4)
    assert m["spearman"] == pytest.approx(stats.spearmanr(s, t).statistic)
    assert m["kendall"] == pytest.approx(stats.kendalltau(s, t).statistic)
    assert m["topk"] == 1.0  # top-2 by both: indices 3, 4


def test_baseline_is_chosen_on_train_with_its_sign() -> None:
    y = np.arange(8.0)
    good = -np.array([0.0, 1, 4, 9, 16, 36, 25, 49])  # one swap: |rho| < 1 (rho = 1 would be a leak)
    train = table(y, good=good, weak=np.array([1.0, 0, 3, 2, 5, 4, 7, 6]))
    base = best_single_column(train)
    rho = stats.spearmanr(-good, y).statistic
    assert (base.column, base.sign, base.train_spearman) == ("good", -1.0, pytest.approx(rho))
    # on the test rows "weak" is perfect and "good" is not: the report still uses the train choice
    test = table(y[:6], good=np.array([0.0, -1, -4, -2, -16, -25]), weak=y[:6])
    report = heldout_report(Fixed(np.array([0.0, 1, 2, 3, 4, 5])), train, test, peers=False)
    assert report["n_test"] == 6
    assert report["proxy"]["spearman"] == pytest.approx(1.0)
    assert report["baseline"]["column"] == "good" and report["baseline"]["sign"] == -1.0
    expected = stats.spearmanr(-test.column("good"), test.y).statistic
    assert report["baseline"]["spearman"] == pytest.approx(expected)
