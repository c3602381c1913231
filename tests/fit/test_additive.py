"""The additive formula: ridge coefficients on each column's quantile and its square, as one readable formula."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import rankdata, spearmanr
from sklearn.linear_model import RidgeCV

from lpzero_sr.fit.additive import MAX_COLUMNS, additive_formula, additive_weight
from lpzero_sr.fit.bagging import rank_average
from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.formula import Node
from lpzero_sr.predictors import RIDGE_ALPHAS
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import fit_quantiles
from lpzero_sr.rundir import RunDir, load_proxy
from lpzero_sr.search.engine import SearchError
from lpzero_sr.settings import ENSEMBLE, SettingsError
from lpzero_sr.table import StatTable


def _table(n: int = 80, seed: int = 0) -> StatTable:
    """A target that peaks at a middling value of ``a`` (a quarter above its median) and rises with ``b``."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=(3, n))
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(n)], "a": a, "b": np.exp(b), "c": c})
    frame["y"] = -((a - 0.3) ** 2) + 0.5 * b + 0.1 * rng.normal(size=n)
    return StatTable.from_frame(frame, "y")


def test_the_coefficients_are_a_ridge_fit_of_the_target_ranks_rounded_to_3_digits() -> None:
    train = _table()
    quantiles = fit_quantiles(train, "quantile")
    formula = additive_formula(train, quantiles)
    levels = np.column_stack([quantiles[f"q({c})"].numpy(train.column(c)) for c in "abc"])
    model = RidgeCV(alphas=RIDGE_ALPHAS).fit(np.hstack([levels, levels**2]), rankdata(train.y) / len(train.y))
    consts = [n.const for n in formula.walk() if n.const is not None]
    expected = [model.coef_[i + k] for i in range(3) for k in (0, 3)]  # a, a**2, b, b**2, c, c**2
    assert consts == [float(f"{v:.3g}") for v in expected]
    np.testing.assert_allclose(consts, expected, rtol=5e-3)
    assert formula.variables == ("q(a)", "q(b)", "q(c)")
    assert formula.size == 3 * 3 + 3 * 4 + 5  # c*q(x) and c*q(x)**2 per column, 5 additions
    proxy = Proxy(formula, quantiles=quantiles)
    assert proxy.text().startswith(f"{consts[0]:g}*q(a) - {-consts[1]:g}*q(a)**2 + ")  # a peak: a negative square
    assert consts[0] > 0  # ... above the median of a
    fitted = model.predict(np.hstack([levels, levels**2])) - model.intercept_  # a ranking needs no intercept
    np.testing.assert_allclose(proxy.evaluate(train), fitted, atol=0.005)


def test_the_additive_formula_finds_a_peak_that_no_single_column_ranks() -> None:
    train, test = _table(300, seed=1).split(100, seed=0)
    proxy = Proxy(additive_formula(train, fit_quantiles(train, "quantile")), quantiles=fit_quantiles(train, "quantile"))
    rho = spearmanr(proxy.evaluate(test), test.y).statistic
    best_single = max(abs(spearmanr(test.column(c), test.y).statistic) for c in "abc")
    assert rho > 0.85 and best_single < 0.6


def test_a_wide_table_keeps_the_columns_with_the_largest_coefficients() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(90, 24)), columns=[f"s{i:02d}" for i in range(24)])
    frame["y"] = frame["s05"] - (frame["s17"] - 0.5) ** 2 + 0.5 * frame["s20"] + 0.05 * rng.normal(size=90)
    frame["arch"] = [f"a{i}" for i in range(90)]
    train = StatTable.from_frame(frame, "y")
    formula = additive_formula(train, fit_quantiles(train, "quantile"))
    assert len(formula.variables) == MAX_COLUMNS == 16
    assert {"q(s05)", "q(s17)", "q(s20)"} <= set(formula.variables) and formula.depth == 16 + 3


def test_the_weight_gives_the_additive_formula_its_share() -> None:
    assert additive_weight(0.4, 9) == 6.0 and additive_weight(0.5, 9) == 9.0 and additive_weight(0.25, 1) == 0.333333
    train = _table()
    quantiles = fit_quantiles(train, "quantile")
    parts = [Node(var="q(b)"), additive_formula(train, quantiles)]
    root, _ = rank_average(parts, train, quantiles, [1.0, 6.0])
    assert root == Node(op="add", args=(Node(var="q[f1]"), Node(op="mul", args=(Node(const=6.0), Node(var="q[f2]")))))
    for weights in ([1.0], [1.0, 0.0]):
        with pytest.raises(ValueError, match="a rank average needs one positive weight per formula"):
            rank_average(parts, train, quantiles, weights)


def test_fit_with_additive_rank_averages_the_searches_and_the_additive_formula(tmp_path, quick) -> None:
    train, test = _table(120, seed=2).split(60, seed=0)
    kwargs = dict(generations=3, bag=2, terminals=("quantile", "raw"))
    result = fit_table(train, test, quick(additive=0.4, **kwargs))
    plain = fit_table(train, test, quick(additive=0, **kwargs))
    assert [p["text"] for p in result.parts[:2]] == [p["text"] for p in plain.parts]
    quantiles = fit_quantiles(train, "quantile")
    shape = Proxy(additive_formula(train, quantiles), quantiles=quantiles)
    assert result.parts[2]["additive"] == 0.4 and result.parts[2]["text"] == shape.text()
    assert "seed" not in result.parts[2]
    assert result.proxy.selection == "rank average of 2 searches' best members and the additive formula"
    level = rank_average([shape.formula], train, quantiles)[1]["q[f1]"].numpy(shape.evaluate(test))
    expected = plain.proxy.evaluate(test) + additive_weight(0.4, 2) * level  # 1.333333
    np.testing.assert_allclose(result.proxy.evaluate(test), expected, atol=1e-12)
    RunDir(tmp_path).write(result.record())
    saved = load_proxy(tmp_path)
    np.testing.assert_array_equal(saved.evaluate(test), result.proxy.evaluate(test))
    stats = {n: torch.tensor(test.column(n)) for n in saved.features}
    out = saved.to_torch()(stats)
    np.testing.assert_allclose(out.numpy(), result.proxy.evaluate(test), rtol=0, atol=1e-12)
    namespace: dict = {}
    exec(saved.torch_source(), namespace)  # standalone export: the coefficients and all knots inline
    torch.testing.assert_close(namespace["proxy"](stats), out, rtol=0, atol=0)
    assert f" + 1.333333*q({result.parts[2]['text']})" in saved.text()  # the weight of share 0.4 beside 2 searches
    assert json.loads((tmp_path / "front.json").read_text())["parts"][2]["additive"] == 0.4


def test_additive_must_be_a_share_of_a_per_architecture_rank_average(layer_table: StatTable, quick) -> None:
    with pytest.raises(SettingsError, match=re.escape("additive: must be in [0, 1), got 1.0")):
        quick(additive=1.0)
    with pytest.raises(SearchError, match="^additive needs a table with one row per architecture"):
        fit_table(layer_table, None, quick(generations=1, additive=0.5))


def test_by_default_a_fit_is_one_formula_and_the_ensemble_is_an_option(layer_table: StatTable, quick) -> None:
    train, test = _table(60, seed=4).split(40, seed=0)
    fit = fit_table(train, test, quick(generations=2, population=16))
    assert fit.parts == [] and fit.chosen is not None and fit.proxy.formula == fit.front.candidates[fit.chosen].formula
    ensemble = fit_table(train, test, quick(generations=2, population=16, **ENSEMBLE))
    assert ENSEMBLE["additive"] == 0.4 and ensemble.parts[-1]["additive"] == 0.4 and ensemble.chosen is None
    assert [p.get("seed") for p in ensemble.parts] == [*range(9), None]
    per_layer = fit_table(layer_table, None, quick(generations=2, population=16))
    assert per_layer.parts == [] and per_layer.chosen is not None
