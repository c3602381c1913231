"""LPZero's evolutionary search (DEAP's tools) on a synthetic per-item table of branch values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lpzero_sr.features.lpzero_space import INPUTS, Branches, Genotype, all_columns, column_name, parse_column
from lpzero_sr.features.lpzero_table import ITEM, ArchBranches, branch_frame
from lpzero_sr.lpzero_evolution import REJECTED, ProgramFitness, evolve
from lpzero_sr.lpzero_tables import AGGREGATION, valued_everywhere
from lpzero_sr.proxy import Proxy
from lpzero_sr.table import StatTable

N_ARCHS = 9


@pytest.fixture(scope="module")
def table() -> StatTable:
    """Architecture k: the same weights and gradients scaled by s_k (the target), 2 + k % 3 FFN activations, no
    softmax."""
    gen = torch.Generator().manual_seed(0)
    base = [torch.randn(3, 3, generator=gen) for _ in range(3)]
    stored, targets = {}, {}
    for k in range(N_ARCHS):
        scale = 0.5 + k / 4
        lists = {
            "act": [torch.randn(2, 3, generator=gen) for _ in range(2 + k % 3)],
            "head": [torch.randn(2, 3, generator=gen) for _ in range(2)],
            "softmax": [],
            "grad": [scale * b.T for b in base],
            "weight": [scale * b for b in base],
        }
        branches = Branches(lists)
        names = all_columns(twice=False)
        branches.compute(parse_column(c) for c in names)
        stored[f"a{k}"] = ArchBranches({c: branches.column(c) for c in names}, {i: len(lists[i]) for i in INPUTS})
        targets[f"a{k}"] = scale
    columns = all_columns()
    frame = branch_frame(stored, columns).assign(y=lambda f: f["arch"].map(targets))
    return StatTable.from_frame(frame, "y", layer_col=ITEM, nonfinite_features=True).with_features(columns)


def test_lpzero_rules_reject_what_its_code_rejects(table: StatTable) -> None:
    fitness = ProgramFitness(table)
    pow_mean = ("pow", "mean")
    assert fitness(["weight", "weight", *pow_mean, *pow_mean, "sum"]) == pytest.approx(1.0)
    one = ("frobenius_norm", "softmax")  # softmax of a 0-d tensor: exactly 1
    zero = ("std", "logsoftmax")  # log_softmax of a 0-d tensor: exactly 0
    rejected = {
        "disconnect": ["weight", "grad", "pow", "disconnect", *pow_mean, "sum"],
        "matrix multiplication": ["weight", "grad", *pow_mean, *pow_mean, "matrix_multiplication"],
        "empty list (softmax)": ["softmax", "grad", *pow_mean, *pow_mean, "sum"],
        "value 0": ["act", "head", *zero, *zero, "sum"],
        "first four values equal": ["weight", "grad", *one, *one, "sum"],
    }
    for why, program in rejected.items():
        assert fitness(program) == REJECTED, why


def test_values_are_lpzeros_zip_of_the_two_lists(table: StatTable) -> None:
    """(head, act): the head list twice, cut at the number of activations (2 + k % 3 items)."""
    g = Genotype(("head", "act"), (("pow", "mean"), ("no_op", "mean")), "product")
    values = ProgramFitness(table).values(g)
    frame = table.frame.set_index("arch")
    for k in range(N_ARCHS):
        rows = frame.loc[f"a{k}"]
        head = rows[column_name("head", "pow", "mean")].to_numpy()[:2]
        act = rows[column_name("act", "no_op", "mean")].to_numpy()[: 2 + k % 3]
        n = min(4, len(act))
        assert values[k] == pytest.approx(np.mean(np.tile(head, 2)[:n] * act[:n]))
    assert values == pytest.approx(Proxy(g.formula(), aggregation=AGGREGATION).evaluate(table))


def test_evolution_finds_a_rank_perfect_program_deterministically(table: StatTable) -> None:
    result = evolve(table, seed=0, population=12, iterations=60)
    again = evolve(table, seed=0, population=12, iterations=60)
    assert (result.best, result.history) == (again.best, again.history)
    assert result.train_rho == pytest.approx(1.0) and ProgramFitness(table)(list(_genes(result.best))) == 1.0
    assert all(b >= a for a, b in zip(result.history, result.history[1:], strict=False))  # the best is never removed
    assert len(result.history) == 60 and result.evaluations >= 12


def _genes(g: Genotype) -> tuple[str, ...]:
    return (*g.inputs, *g.ops[0], *g.ops[1], g.binary)


def test_the_projects_search_reads_the_branches_valued_on_every_architecture(table: StatTable) -> None:
    kept = valued_everywhere(table).features
    assert not any(c.startswith("lpz.softmax") for c in kept)  # an empty list
    assert "lpz.act.exp.exp" in kept and "lpz.weight.pow.mean" in kept
    assert len(kept) < len(table.features)
