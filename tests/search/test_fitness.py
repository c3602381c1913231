"""Fitness: exact rank loss on aggregated scores, rules applied before evaluation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lpzero_sr.export.text import formula_text
from lpzero_sr.formula import Node, evaluate_tokens
from lpzero_sr.ranking import WORST_LOSS
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.fitness import Fitness
from lpzero_sr.table import StatTable


def rules(**extra: dict) -> RuleSet:
    return RuleSet.from_dict(
        {
            "operators": {"unary": ["log", "neg", "inv", "exp"], "binary": ["add", "sub", "mul", "div"]},
            "rules": {
                "size": {"kind": "max_size", "limit": 7},
                "fin": {"kind": "finite"},
                "const": {"kind": "non_constant"},
                **extra,
            },
        }
    )


def test_loss_equals_one_minus_scipy_spearman(arch_table) -> None:
    fit = Fitness(arch_table, rules())
    tokens = ("mul", 0, 1)
    expected = 1 - stats.spearmanr(arch_table.column("a") * arch_table.column("b"), arch_table.y).statistic
    assert fit(tokens).loss == pytest.approx(expected, abs=1e-12)
    assert fit(("add", "log", 0, 1)).loss == pytest.approx(0.0, abs=1e-12)
    kendall = Fitness(arch_table, rules(), method="kendall")
    assert kendall((0,)).loss == pytest.approx(1 - stats.kendalltau(arch_table.column("a"), arch_table.y).statistic)


def test_per_layer_rows_are_aggregated_before_ranking(layer_table) -> None:
    s, groups = layer_table.column("s"), layer_table.groups
    for how in ("sum", "mean"):
        fit = Fitness(layer_table, rules(), aggregation=how)
        per_arch = np.bincount(groups, weights=np.log(s)) / (np.bincount(groups) if how == "mean" else 1)
        expected = 1 - stats.spearmanr(per_arch, layer_table.y).statistic
        assert fit(("log", 0)).loss == pytest.approx(expected, abs=1e-12)


def test_rejections_name_the_rule(arch_table) -> None:
    fit = Fitness(arch_table, rules())
    assert fit(("add", "add", 0, 1, "add", 0, "add", 1, 2)).rejected_by == "size"
    out = fit(("sub", 0, 0))
    assert (out.loss, out.rejected_by) == (WORST_LOSS, "const")


def test_non_finite_values_rejected(arch_table) -> None:
    frame = arch_table.frame.copy()
    frame.loc[0, "a"] = 1e300
    table = StatTable.from_frame(frame, "acc")
    assert Fitness(table, rules())(("mul", 0, 0)).rejected_by == "fin"  # 1e600 overflows


def test_early_rejection_on_subsample(arch_table) -> None:
    fit = Fitness(arch_table, rules(early={"kind": "early_rejection", "subsample": 10, "min_corr": 0.5}), seed=0)
    assert fit(("neg", "log", 0)).rejected_by == "early"  # anti-correlated everywhere
    assert fit(("add", "log", 0, 1)).rejected_by is None


def test_guarded_operators_by_hand() -> None:
    cols = [np.array([0.0, -2.0, 3.0, 1e-40]), np.array([1.0, 0.0, -4.0, 2.0])]
    tokens = ("add", "log", 0, "div", 1, 0)
    values = evaluate_tokens(tokens, cols)
    guarded = np.array([1e-30, -2.0, 3.0, 1e-30])  # |x| < 1e-30 -> 1e-30 with the sign of x (+0.0 -> +)
    expected = np.log([1e-30, 2.0, 3.0, 1e-30]) + cols[1] / guarded
    np.testing.assert_allclose(values, expected, rtol=1e-15)
    assert formula_text(Node.from_tokens(tokens, ["a", "b"])) == "log|a| + b/a"
