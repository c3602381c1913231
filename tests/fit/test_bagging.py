"""Bagged proxies: a rank average of several searches' formulas is one formula that every backend computes alike."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata, spearmanr

from lpzero_sr.fit.bagging import part_name, rank_average, subspace
from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.formula import Node, quantile_column
from lpzero_sr.proxy import Proxy, ProxyError
from lpzero_sr.quantile import Quantile, QuantileError, fit_quantiles
from lpzero_sr.rundir import RunDir, load_proxy
from lpzero_sr.search.engine import SearchError
from lpzero_sr.settings import SettingsError
from lpzero_sr.table import StatTable


def _table(n: int = 60, seed: int = 0) -> StatTable:
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=(3, n))
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(n)], "a": a, "b": np.exp(b), "c": c})
    frame["y"] = a + 0.5 * b - 0.3 * c**2 + 0.2 * rng.normal(size=n)
    return StatTable.from_frame(frame, "y")


A, B, C = (Node(var=f"q({v})") for v in "abc")
F1 = Node(op="add", args=(A, B))
F2 = Node(op="sub", args=(A, Node(op="square", args=(C,))))


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=5, max_size=30, unique=True),
    other=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=5, max_size=30, unique=True),
)
def test_on_training_rows_each_term_is_the_centred_mid_rank_of_its_formula(values: list, other: list) -> None:
    n = min(len(values), len(other))
    ranks = rankdata(np.sin(np.arange(n)))
    for v in (values, other):  # a row index, or a column ranked as the target, is no statistic (a leak)
        assume(
            list(v[:n]) != list(range(n))
            and not any(np.array_equal(rankdata(v[:n]), r) for r in (ranks, n + 1 - ranks))
        )
    archs = [f"a{i}" for i in range(n)]
    frame = pd.DataFrame({"arch": archs, "a": values[:n], "b": other[:n], "y": np.sin(np.arange(n))})
    train = StatTable.from_frame(frame, "y")
    quantiles = fit_quantiles(train, "quantile")
    root, bagged = rank_average([Node(op="mul", args=(A, B)), Node(var="q(b)")], train, quantiles)
    proxy = Proxy(root, quantiles=bagged)
    product = quantiles["q(a)"].numpy(train.column("a")) * quantiles["q(b)"].numpy(train.column("b"))
    levels = [(rankdata(v) - 1) / (n - 1) - 0.5 for v in (product, train.column("b"))]
    np.testing.assert_allclose(proxy.evaluate(train), levels[0] + levels[1], atol=1e-12)


def test_a_rank_average_reads_as_one_formula_in_every_backend() -> None:
    train, test = _table().split(40, seed=0)
    quantiles = fit_quantiles(train, "quantile")
    root, bagged = rank_average([F1, F2], train, quantiles)
    proxy = Proxy(root, quantiles=bagged)
    assert root == Node(op="add", args=(Node(var=part_name(1)), Node(var=part_name(2))))
    assert proxy.text() == "q(q(a) + q(b)) + q(q(a) - q(c)**2)"
    assert proxy.latex().startswith(r"q\left(q(\mathrm{a}) + q(\mathrm{b})\right) + q\left(")
    assert proxy.features == ("a", "b", "c")
    f1 = quantiles["q(a)"].numpy(test.column("a")) + quantiles["q(b)"].numpy(test.column("b"))
    f2 = quantiles["q(a)"].numpy(test.column("a")) - quantiles["q(c)"].numpy(test.column("c")) ** 2
    expected = bagged["q[f1]"].numpy(f1) + bagged["q[f2]"].numpy(f2)
    np.testing.assert_array_equal(proxy.evaluate(test), expected)
    saved = Proxy.from_json(json.loads(json.dumps(proxy.to_json())))
    np.testing.assert_array_equal(saved.evaluate(test), expected)
    assert set(saved.to_json()["quantiles"]) == {"q(a)", "q(b)", "q(c)", "q[f1]", "q[f2]"}
    stats = {n: torch.tensor(test.column(n), requires_grad=True) for n in "abc"}
    out = saved.to_torch()(stats)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=0, atol=1e-12)
    out.sum().backward()
    assert torch.isfinite(stats["c"].grad).all()
    namespace: dict = {}
    exec(saved.torch_source(), namespace)  # standalone: the formulas and all knots inline
    torch.testing.assert_close(namespace["proxy"](stats), out, rtol=0, atol=0)


def test_fit_with_bag_ranks_by_the_average_of_each_searchs_choice(tmp_path, quick) -> None:
    train, test = _table(80, seed=1).split(50, seed=0)
    seen = []
    result = fit_table(
        train, test, quick(population=30, bag=3, additive=0),
        progress=lambda generation, n_evals, best: seen.append(generation),
    )  # fmt: skip
    assert seen == sorted(seen) and seen[-1] == 3 * 4  # generations counted over the whole bag
    singles = [fit_table(train, None, quick(population=30, seed=s, additive=0)) for s in range(3)]
    assert [p["text"] for p in result.parts] == [s.proxy.text() for s in singles]
    assert result.chosen is None and result.proxy.selection == "rank average of 3 searches' best members"
    assert result.front.candidates == singles[0].front.candidates
    manual = sum(Quantile.fit("", s.proxy.evaluate(train)).numpy(s.proxy.evaluate(test)) for s in singles)
    np.testing.assert_allclose(result.proxy.evaluate(test), manual, atol=1e-12)
    assert result.report["proxy"]["spearman"] == pytest.approx(spearmanr(manual, test.y).statistic, abs=1e-9)
    assert result.proxy.metrics["heldout"]["spearman"] == pytest.approx(result.report["proxy"]["spearman"])
    RunDir(tmp_path).write(result.record())
    front = json.loads((tmp_path / "front.json").read_text())
    assert front["chosen"] is None and [p["seed"] for p in front["parts"]] == [0, 1, 2]
    np.testing.assert_array_equal(load_proxy(tmp_path).evaluate(test), result.proxy.evaluate(test))


def test_bag_must_be_positive_and_per_architecture(layer_table: StatTable, quick) -> None:
    with pytest.raises(SettingsError, match=re.escape("bag: must be at least 1, got 0")):
        quick(bag=0)
    with pytest.raises(SearchError, match="^bag needs a table with one row per architecture"):
        fit_table(layer_table, None, quick(generations=1, bag=2))


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("q[f1]", {"formula": {"op": "nope", "args": []}, "knots": [0.0], "levels": [0.0]}, "unknown operator"),
        ("q(a)", {"formula": {"var": "q(b)"}, "knots": [0.0], "levels": [0.0]}, "must not be named like a column"),
        ("q[f1]", {"column": "a", "formula": {"var": "a"}, "knots": [0.0], "levels": [0.0]}, "either 'column' or"),
    ],
)
def test_a_bad_formula_quantile_is_one_error_line(name: str, data: dict, message: str) -> None:
    with pytest.raises(QuantileError, match=re.escape(message)):
        Quantile.from_json(name, data)
    proxy = Proxy(Node(var="q[f1]"), quantiles={"q[f1]": Quantile("", (0.0,), (0.0,), source=Node(var="a"))})
    data_file = proxy.to_json()
    data_file["quantiles"] = {name: data}
    with pytest.raises(ProxyError):
        Proxy.from_json(data_file)


def test_terminal_modes_take_turns_over_the_searches_of_a_bag(quick) -> None:
    train, test = _table(80, seed=2).split(50, seed=0)
    result = fit_table(train, test, quick(population=30, bag=3, terminals=("quantile", "raw"), additive=0))
    singles = [
        fit_table(train, None, quick(population=30, seed=k, terminals=mode, additive=0))
        for k, mode in enumerate(("quantile", "raw", "quantile"))
    ]
    assert [p["text"] for p in result.parts] == [s.proxy.text() for s in singles]
    assert all(v.startswith("q(") for v in singles[0].proxy.formula.variables)
    assert not any(v.startswith("q(") for v in singles[1].proxy.formula.variables)
    manual = sum(Quantile.fit("", s.proxy.evaluate(train)).numpy(s.proxy.evaluate(test)) for s in singles)
    saved = Proxy.from_json(json.loads(json.dumps(result.proxy.to_json())))
    np.testing.assert_allclose(saved.evaluate(test), manual, atol=1e-12)
    with pytest.raises(SettingsError, match=re.escape("terminals: 2 modes take turns over the searches of a bag")):
        quick(terminals=("quantile", "raw"))


def test_each_search_of_a_bag_sees_its_own_random_subspace(quick) -> None:
    names = [f"s{i}" for i in range(10)]
    assert subspace(names, 1.0, seed=3) == tuple(names)
    picked = subspace(names, 0.7, seed=3)
    assert len(picked) == 7 and picked == subspace(names, 0.7, seed=3)
    assert list(picked) == [n for n in names if n in picked] and subspace(names, 0.7, seed=4) != picked
    assert len(subspace(names[:3], 0.1, seed=0)) == 2  # a formula needs something to combine
    train, test = _table(80, seed=3).split(50, seed=0)
    result = fit_table(train, test, quick(population=30, bag=4, subspace=0.5, additive=0))
    for k, part in enumerate(result.parts):
        read = {quantile_column(v) or v for v in Node.from_json(part["tree"]).variables}
        assert read <= set(part["columns"]) and part["columns"] == list(subspace(("a", "b", "c"), 0.5, seed=k))
    assert len({subspace(("a", "b", "c"), 0.5, seed=k) for k in range(4)}) > 1
    with pytest.raises(SettingsError, match=re.escape("subspace: must be in (0, 1], got 1.5")):
        quick(subspace=1.5)
