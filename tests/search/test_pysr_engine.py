"""PySR backend without Julia: the generated Julia objective, the keyword arguments, result conversion."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import sympy

from lpzero_sr.compile import symbol
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.engine import Budget, SearchError
from lpzero_sr.search.pysr_engine import (
    PysrEngine,
    fit_arrays,
    front_from_equations,
    julia_source,
    loss_function_source,
    pysr_kwargs,
    variable_names,
)


def test_julia_library_defines_the_rank_loss() -> None:
    src = julia_source()
    for name in ("lpzero_ranks", "lpzero_pearson", "lpzero_spearman", "lpzero_kendall", "lpzero_aggregate"):
        assert re.search(rf"^(function )?{name}\(", src, re.M), name
    assert (
        "function lpzero_rank_loss(tree, dataset::Dataset{T,L}, options, method::Symbol, how::Symbol)::L where {T,L}"
        in src
    )
    assert "eval_tree_array(tree, dataset.X, options)" in src
    assert "groups = round.(Int, dataset.weights)" in src
    assert "const LPZERO_WORST_LOSS = 2.0" in src
    assert src.count("function ") == src.count("\nend\n")  # every function block is closed at top level


def test_loss_function_source_ends_with_the_entry_point() -> None:
    src = loss_function_source("kendall", "mean")
    assert src.startswith(julia_source())
    tail = src[len(julia_source()) :].strip().splitlines()
    assert tail[0] == "function lpzero_objective(tree, dataset::Dataset{T,L}, options, idx=nothing)::L where {T,L}"
    assert tail[-2].strip() == "return lpzero_rank_loss(tree, dataset, options, :kendall, :mean)"
    assert tail[-1] == "end"
    with pytest.raises(SearchError, match=r"unsupported loss/aggregation for PySR: pearson/sum"):
        loss_function_source("pearson", "sum")  # type: ignore[arg-type]


def test_fit_arrays_carry_architecture_ids_in_weights(layer_table) -> None:
    X, y, w = fit_arrays(layer_table)
    assert X.shape == (24, 2)
    np.testing.assert_array_equal(w, np.repeat(np.arange(1, 9), 3).astype(float))
    np.testing.assert_allclose(y, np.repeat(-(10.0 - np.arange(8)), 3))  # minimised target, negated per row


def test_kwargs(arch_table, tmp_path) -> None:
    kw = pysr_kwargs(
        arch_table, RuleSet.load("default"), loss="spearman", aggregation="sum",
        budget=Budget(generations=40, time_limit=30), seed=7, population=64, jobs=2, checkpoint=tmp_path,
    )  # fmt: skip
    assert kw["loss_function"] == loss_function_source("spearman", "sum")
    assert kw["loss_scale"] == "linear" and kw["batching"] is False and kw["precision"] == 64
    assert kw["niterations"] == 40 and kw["timeout_in_seconds"] == 30.0 and "max_evals" not in kw
    assert kw["population_size"] == 64 and kw["random_state"] == 7
    assert kw["parallelism"] == "multithreading" and kw["deterministic"] is False
    assert kw["output_directory"] == str(tmp_path) and kw["run_id"] == "lpzero"
    assert variable_names(arch_table) == ["x0", "x1", "x2"]
    assert "x0" in kw["guesses"] and "logabs(x1)" in kw["guesses"] and "neg(logabs(x2))" in kw["guesses"]
    assert any(g.startswith("(logabs(") and " + logabs(" in g for g in kw["guesses"])
    serial = pysr_kwargs(arch_table, RuleSet.load("default"), budget=Budget(evaluations=500, generations=None))
    assert serial["parallelism"] == "serial" and serial["deterministic"] is True and "procs" not in serial
    assert serial["max_evals"] == 500 and serial["niterations"] == 10**9


def test_missing_julia_is_one_clear_error(arch_table, monkeypatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(SearchError, match=r"^the pysr engine needs Julia: no `julia` on PATH"):
        PysrEngine().fit(arch_table, RuleSet.load("default"), budget=Budget(generations=1))


def test_equations_become_a_front_over_feature_names() -> None:
    x0, x1 = sympy.symbols("x0 x1")
    equations = pd.DataFrame(
        {
            "complexity": [3, 1],
            "loss": [0.1, 0.4],
            "equation": ["logabs(x0) + x1", "x1"],
            "sympy_format": [sympy.log(sympy.Abs(x0)) + x1, x1],
        }
    )
    front = front_from_equations(equations, ("grad.sqr.mean", "weight*grad"))
    assert [c.complexity for c in front.candidates] == [1, 3]
    g, w = symbol("grad.sqr.mean"), symbol("weight*grad")
    assert front.candidates[1].expr == sympy.log(sympy.Abs(g)) + w
    assert front.choose().loss == 0.1
