"""PySR backend without Julia: the generated Julia objective, the keyword arguments, result conversion."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from lpzero_sr.export.julia import julia_text, parse_equation
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.engine import SearchError
from lpzero_sr.search.fitness import Fitness
from lpzero_sr.search.pysr_engine import (
    PysrEngine,
    fit_arrays,
    front_from_equations,
    julia_source,
    loss_function_source,
    pysr_kwargs,
    variable_names,
)
from lpzero_sr.settings import SearchSettings


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
    settings = SearchSettings(
        loss="spearman", aggregation="sum", generations=40, time_limit=30, seed=7, population=64, jobs=2
    )
    kw = pysr_kwargs(arch_table, RuleSet.load("default"), settings, tmp_path)
    assert kw["loss_function"] == loss_function_source("spearman", "sum")
    assert kw["loss_scale"] == "linear" and kw["batching"] is False and kw["precision"] == 64
    assert kw["niterations"] == 40 and kw["timeout_in_seconds"] == 30.0 and "max_evals" not in kw
    assert kw["population_size"] == 64 and kw["random_state"] == 7
    assert kw["parallelism"] == "multithreading" and kw["deterministic"] is False
    assert kw["output_directory"] == str(tmp_path) and kw["run_id"] == "lpzero"
    assert variable_names(arch_table) == ["x0", "x1", "x2"]
    assert "x0" in kw["guesses"] and "lpz_log(x1)" in kw["guesses"] and "lpz_neg(lpz_log(x2))" in kw["guesses"]
    assert any(g.startswith("(lpz_log(") and " + lpz_log(" in g for g in kw["guesses"])
    assert kw["should_simplify"] is False
    serial = pysr_kwargs(arch_table, RuleSet.load("default"), SearchSettings(evaluations=500, jobs=1))
    assert serial["parallelism"] == "serial" and serial["deterministic"] is True and "procs" not in serial
    assert serial["max_evals"] == 500 and serial["niterations"] == 10**9


def test_missing_julia_is_one_clear_error(arch_table, monkeypatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(SearchError, match=r"^the pysr engine needs Julia: no `julia` on PATH"):
        PysrEngine().fit(arch_table, RuleSet.load("default"), SearchSettings(generations=1))


def test_equations_are_parsed_and_rescored_by_the_embedded_fitness(arch_table) -> None:
    equations = pd.DataFrame(
        {
            "complexity": [4, 1, 6],
            "loss": [0.0, 0.4, 0.0],  # PySR's own losses are not trusted: every member is re-scored
            "equation": ["lpz_log(x0) + x1", "x1", "(x1 * -0.5) - lpz_neg(lpz_log(x0))"],
        }
    )
    fitness = Fitness(arch_table, RuleSet.load("default"))
    front = front_from_equations(equations, fitness)
    assert [c.complexity for c in front.candidates] == [1, 4]  # the 7-node one is no better than the 4-node one
    assert front.candidates[1].text == "log|a| + b"
    assert front.candidates[1].loss == pytest.approx(0.0, abs=1e-12)
    assert front.candidates[0].loss == pytest.approx(fitness((1,)).loss)
    third = parse_equation("(x1 * -0.5) - lpz_neg(lpz_log(x0))", arch_table.features)
    assert third.to_tokens(arch_table.features) == ("sub", "mul", 1, "neg", 0.5, "neg", "log", 0)
    assert parse_equation(julia_text(third, arch_table.features), arch_table.features) == third


def test_an_unreadable_equation_is_one_search_error(arch_table) -> None:
    equations = pd.DataFrame({"complexity": [2], "loss": [0.0], "equation": ["exp(x0)"]})
    with pytest.raises(SearchError, match=r"^PySR equation 'exp\(x0\)' uses unknown operator 'exp'$"):
        front_from_equations(equations, Fitness(arch_table, RuleSet.load("default")))
