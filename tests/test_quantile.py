"""Quantile terminals: the training CDF by hand, numpy == torch bit for bit, and proxies that carry their knots."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata, spearmanr

from lpzero_sr.export.torch import torch_quantile
from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy, ProxyError
from lpzero_sr.quantile import Quantile, QuantileError, fit_quantiles, quantile_name, search_table
from lpzero_sr.rundir import RunDir, load_proxy
from lpzero_sr.settings import FitSettings, SearchSettings
from lpzero_sr.table import StatTable

finite = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)
probes = st.one_of(finite, st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]))


def test_knots_are_the_mid_ranks_of_the_training_values() -> None:
    q = Quantile.fit("a", np.array([3.0, 1.0, 2.0, 2.0, 5.0, np.nan]))  # ranks 1, 2.5, 2.5, 4, 5 of 5 finite
    assert q.knots == (1.0, 2.0, 3.0, 5.0)
    assert q.levels == (-0.5, -0.125, 0.25, 0.5)  # (rank - 1) / 4 - 1/2
    got = q.numpy(np.array([0.0, 1.5, 2.5, 4.0, 9.0, np.nan, np.inf]))
    np.testing.assert_array_equal(got, [-0.5, -0.3125, 0.0625, 0.375, 0.5, np.nan, 0.5])


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, min_size=1, max_size=30), st.lists(probes, min_size=1, max_size=30))
def test_numpy_and_torch_agree_bit_for_bit_and_keep_order(train: list[float], x: list[float]) -> None:
    q = Quantile.fit("s", np.array(train))
    values = np.array(x)
    via_numpy = q.numpy(values)
    via_torch = torch_quantile(torch.tensor(values, dtype=torch.float64), list(q.knots), list(q.levels)).numpy()
    np.testing.assert_array_equal(via_numpy, via_torch)
    order = np.argsort(values[~np.isnan(values)], kind="stable")
    assert np.all(np.diff(via_numpy[~np.isnan(values)][order]) >= 0)  # monotone: q keeps the ranking of x
    expected = (rankdata(train) - 1) / max(len(train) - 1, 1) - 0.5
    np.testing.assert_allclose(q.numpy(np.array(train)), expected, rtol=0, atol=1e-12)


def frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = 10.0 ** rng.uniform(0, 30, n), rng.normal(size=n)
    return pd.DataFrame({"arch": [f"n{i}" for i in range(n)], "a": a, "b": b, "y": rankdata(a) + rankdata(b)})


def test_search_table_adds_quantile_columns_fitted_on_its_rows() -> None:
    table = StatTable.from_frame(frame(), "y")
    train, _ = table.split(30, seed=0)
    qs = fit_quantiles(train, "both")
    searched = search_table(train, qs, "both")
    assert searched.features == ("a", "b", "q(a)", "q(b)")
    assert spearmanr(searched.column("q(a)"), train.column("a")).statistic == pytest.approx(1.0)
    assert search_table(train, qs, "quantile").features == ("q(a)", "q(b)")
    assert fit_quantiles(train, "raw") == {}


def test_a_quantile_proxy_scores_new_rows_with_the_training_knots_in_every_backend() -> None:
    table = StatTable.from_frame(frame(), "y")
    train, test = table.split(30, seed=0)
    qs = fit_quantiles(train, "quantile")
    formula = Node(op="add", args=(Node(var="q(a)"), Node(var="q(b)")))
    proxy = Proxy(formula, quantiles=qs)
    assert proxy.features == ("a", "b") and set(proxy.quantiles) == {"q(a)", "q(b)"}
    expected = qs["q(a)"].numpy(test.column("a")) + qs["q(b)"].numpy(test.column("b"))
    np.testing.assert_array_equal(proxy.evaluate(test), expected)
    saved = Proxy.from_json(json.loads(json.dumps(proxy.to_json())))
    np.testing.assert_array_equal(saved.evaluate(test), expected)
    stats = {n: torch.tensor(test.column(n), requires_grad=True) for n in ("a", "b")}
    out = saved.to_torch()(stats)
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    out.sum().backward()
    assert torch.isfinite(stats["b"].grad).all()
    namespace: dict = {}
    exec(saved.torch_source(), namespace)  # the exported source is standalone
    np.testing.assert_array_equal(namespace["proxy"](stats).detach().numpy(), expected)
    assert saved.text() == "q(a) + q(b)"
    assert saved.latex() == r"q(\mathrm{a}) + q(\mathrm{b})"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"column": "a", "knots": [2.0, 1.0], "levels": [0.0, 1.0]}, "knots must increase"),
        ({"column": "a", "knots": [1.0, 2.0], "levels": [0.0, 1.0]}, "levels must be non-decreasing in [-0.5, 0.5]"),
        ({"column": "b", "knots": [1.0], "levels": [0.0]}, "does not name its column"),
        ({"column": "a", "knots": [1.0, "x"], "levels": [0.0, 1.0]}, "equal-length lists of finite numbers"),
    ],
)
def test_bad_knots_in_a_proxy_file_are_one_error_line(data: dict, message: str) -> None:
    proxy = Proxy(Node(var="q(a)"), quantiles={"q(a)": Quantile("a", (1.0, 2.0), (-0.5, 0.5))}).to_json()
    proxy["quantiles"]["q(a)"] = data
    with pytest.raises(ProxyError, match=re.escape(message)):
        Proxy.from_json(proxy)
    with pytest.raises(QuantileError):
        Quantile.from_json("q(a)", data)
    assert quantile_name("a") == "q(a)"


def test_fit_with_quantile_terminals_saves_a_run_whose_members_reload(tmp_path) -> None:
    table = StatTable.from_frame(frame(60, seed=1), "y")
    train, test = table.split(40, seed=0)
    search = SearchSettings(generations=5, population=30, jobs=1)
    result = fit_table(train, test, FitSettings(search=search, peers=False, terminals=("quantile",)))
    assert all(v.startswith("q(") for c in result.front.candidates for v in c.formula.variables)
    RunDir(tmp_path).write(result.record())
    chosen = load_proxy(tmp_path)
    np.testing.assert_array_equal(chosen.evaluate(test), result.proxy.evaluate(test))
    assert result.report["proxy"]["spearman"] == pytest.approx(
        spearmanr(chosen.evaluate(test), test.y).statistic, abs=1e-12
    )
    for i, member in enumerate(result.members):
        reloaded = load_proxy(tmp_path, member=i)
        got = spearmanr(reloaded.evaluate(test), test.y).statistic
        assert got == pytest.approx(member["heldout"]["spearman"], abs=1e-12)


def test_several_tables_take_raw_terminals_and_refuse_quantiles(tmp_path) -> None:
    from click.testing import CliRunner

    from lpzero_sr.cli import main

    paths = []
    for seed in (0, 1):
        path = tmp_path / f"t{seed}.csv"
        frame(30, seed).to_csv(path, index=False)
        paths.append(str(path))
    refused = CliRunner().invoke(main, ["fit", *paths, "--target", "y", "--terminals", "quantile"])
    assert refused.exit_code == 1
    assert refused.output == (
        "Error: --terminals applies to a fit of one table only: a quantile is one table's training CDF, "
        "so several TABLES search raw columns\n"
    )
    out = tmp_path / "multi"
    ran = CliRunner().invoke(
        main,
        ["fit", *paths, "--target", "y", "--maximize", "--generations", "2", "--population", "20", "--out", str(out)],
    )
    assert ran.exit_code == 0, ran.output
    assert not json.loads((out / "proxy.json").read_text())["quantiles"]
