"""Proxy: the search's tree on disk (JSON, never parsed as text), LaTeX, evaluation with aggregation, files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lpzero_sr.formula import Node
from lpzero_sr.proxy import FORMAT, Proxy, ProxyError
from lpzero_sr.table import StatTable

NAMES = ["grad.sqr.mean", "weight*grad"]


def node(*tokens: object) -> Node:
    return Node.from_tokens(tokens, NAMES)  # type: ignore[arg-type]


def test_tree_roundtrip_keeps_the_search_tree() -> None:
    formula = node("add", "log", 0, "mul", "square", 1, 0.5)
    tree = formula.to_json()
    assert tree == {
        "op": "add",
        "args": [
            {"op": "log", "args": [{"var": "grad.sqr.mean"}]},
            {"op": "mul", "args": [{"op": "square", "args": [{"var": "weight*grad"}]}, {"const": 0.5}]},
        ],
    }
    assert Node.from_json(json.loads(json.dumps(tree))) == formula
    assert formula.to_tokens(NAMES) == ("add", "log", 0, "mul", "square", 1, 0.5)


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"op": "eval", "args": [{"var": "x"}]}, r"^bad proxy formula: unknown operator 'eval'; known: abs, add, div"),
        ({"op": "add", "args": [{"var": "x"}]}, r"^bad proxy formula: operator 'add' needs a list of 2 argument\(s\)$"),
        ({"const": "__import__('os')"}, r"^bad proxy formula: bad constant: "),
        ({"const": float("inf")}, r"^bad proxy formula: bad constant: 'inf'$"),
        ({"var": ""}, r"^bad proxy formula: bad variable name: ''$"),
        (["x"], r"^bad proxy formula: bad formula node: \"\['x'\]\" \(expected an object\)$"),
    ],
)
def test_bad_trees_are_refused(tree: object, message: str) -> None:
    with pytest.raises(ProxyError, match=message):
        Proxy.from_json({"format": FORMAT, "tree": tree})


def test_deep_and_malformed_files_are_one_error_line(tmp_path) -> None:
    path = tmp_path / "deep.json"
    deep: dict = {"var": "x"}
    for _ in range(100):
        deep = {"op": "neg", "args": [deep]}
    path.write_text(json.dumps({"format": FORMAT, "tree": deep}))
    with pytest.raises(ProxyError, match=r"^bad proxy formula: formula tree is deeper than 64 levels$"):
        Proxy.load(path)
    path.write_text('{"a": ' * 10_000 + "1" + "}" * 10_000)
    with pytest.raises(ProxyError, match=r"is nested too deeply to be a proxy file$"):
        Proxy.load(path)
    path.write_text(json.dumps({"format": FORMAT, "tree": {"var": "x"}, "aggregation": "max"}))
    with pytest.raises(ProxyError, match=r"^proxy aggregation must be 'sum', 'mean', 'nanmean' or null, got 'max'$"):
        Proxy.load(path)
    path.write_text(json.dumps({"format": FORMAT, "tree": {"var": "x"}, "metrics": []}))
    with pytest.raises(ProxyError, match=r"^proxy field 'metrics' has the wrong type \(list\)$"):
        Proxy.load(path)
    path.write_text("[1, 2]")
    with pytest.raises(ProxyError, match=r"^not a proxy file \(expected a JSON object\)$"):
        Proxy.load(path)


def test_latex_and_text_escape_statistic_names() -> None:
    proxy = Proxy(node("add", 1, "log", 0))
    assert proxy.latex() == r"\mathrm{weight\ast{}grad} + \log\left|\mathrm{grad.sqr.mean}\right|"
    assert proxy.text() == "[weight*grad] + log|grad.sqr.mean|"
    assert Proxy(Node(var="grad_norm")).latex() == r"\mathrm{grad\_norm}"


def test_save_load_roundtrip(tmp_path) -> None:
    proxy = Proxy(
        node("mul", 0, "square", 1), aggregation="sum", target="ppl", direction="minimize", engine="deap", seed=3
    )
    proxy.metrics["train"] = {"spearman": 0.5, "kendall": 0.4, "topk": 1.0}
    path = proxy.save(tmp_path / "p" / "proxy.json")
    data = json.loads(path.read_text())
    assert data["format"] == "lpzero-sr-proxy/2" and data["features"] == ["grad.sqr.mean", "weight*grad"]
    assert data["formula"] == "grad.sqr.mean*[weight*grad]**2" and "exp(min(x, 80))" in data["semantics"]
    assert data["version"] and data["created"].endswith("+00:00")
    back = Proxy.load(path)
    assert back.formula == proxy.formula and back.to_json() == proxy.to_json()
    path.write_text(json.dumps({**data, "format": "pickle"}))
    with pytest.raises(ProxyError, match=r"^not a proxy file \(format 'pickle', expected 'lpzero-sr-proxy/2'\)$"):
        Proxy.load(path)
    path.write_text(json.dumps({**data, "format": "lpzero-sr-proxy/1"}))
    with pytest.raises(ProxyError, match=r"older lpzero-sr saved simplified formulas .*: refit$"):
        Proxy.load(path)
    path.write_text("{")
    with pytest.raises(ProxyError, match=r"is not JSON"):
        Proxy.load(path)
    with pytest.raises(ProxyError, match=r"^proxy file not found: "):
        Proxy.load(tmp_path / "none.json")


def layer_table() -> StatTable:
    frame = pd.DataFrame(
        {
            "arch": np.repeat([f"a{i}" for i in range(5)], 2),
            "layer": [0, 1] * 5,
            "grad.sqr.mean": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
            "weight*grad": [1.0, 1.0, 2.0, 2.0, 1.0, 3.0, 0.5, 0.5, 2.0, 1.0],
            "acc": np.repeat([1.0, 2.0, 3.0, 4.0, 5.0], 2),
        }
    )
    return StatTable.from_frame(frame, "acc", layer_col="layer")


def test_evaluate_aggregates_per_architecture() -> None:
    table = layer_table()
    product = node("mul", 0, 1)  # per row g * w: [1, 2, 6, 8, 5, 18, 3.5, 4, 18, 10]
    np.testing.assert_allclose(Proxy(product, aggregation="sum").evaluate(table), [3, 14, 23, 7.5, 28])
    np.testing.assert_allclose(Proxy(product, aggregation="mean").evaluate(table), [1.5, 7, 11.5, 3.75, 14])
    with pytest.raises(ProxyError, match="fitted per architecture but the table has one row per layer"):
        Proxy(product).evaluate(table)
    with pytest.raises(ProxyError, match=r"^table lacks statistic\(s\) the proxy needs: act.abs.mean$"):
        Proxy(Node(var="act.abs.mean"), aggregation="sum").evaluate(table)


def test_size_counts_what_a_person_reads() -> None:
    from lpzero_sr.fit.bagging import part_name
    from lpzero_sr.formula import Node
    from lpzero_sr.quantile import Quantile

    column = Quantile("a", (0.0, 1.0), (-0.5, 0.5))
    single = Proxy(Node(op="add", args=(Node(var="q(a)"), Node(var="b"))), quantiles={"q(a)": column})
    assert single.size == 3 and single.constants == 0  # q(a) is one node
    inner = Node(op="mul", args=(Node(const=2.0), Node(var="q(a)")))  # 3 nodes
    bag = Quantile("", (0.0, 1.0), (-0.5, 0.5), source=inner)
    bagged = Proxy(
        Node(op="add", args=(Node(var=part_name(1)), Node(var="b"))), quantiles={"q(a)": column, part_name(1): bag}
    )
    assert bagged.size == 3 + 1 + 1 and bagged.constants == 1  # q(f1) counts f1's nodes
