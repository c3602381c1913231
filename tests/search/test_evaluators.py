"""The compiled evaluator against the reference: values, rules, rank loss and aggregation, to the last bit."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from lpzero_sr import ranking
from lpzero_sr.formula import evaluate_tokens
from lpzero_sr.operators import OPS
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search import compiled, rankcorr
from lpzero_sr.search.evaluators import CompiledEvaluator, ReferenceEvaluator
from lpzero_sr.search.fitness import Fitness
from lpzero_sr.search.multitask import MultiFitness
from lpzero_sr.search.numpy_loops import LIBM_ULPS, LOOPS, call
from lpzero_sr.search.programs import Alphabet
from lpzero_sr.semantics import all_operators, sample_columns, sample_formula
from lpzero_sr.table import StatTable

RULES = {"default": RuleSet.load("default"), "all": all_operators(RuleSet.load("default"))}
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def alphabet_of(rules: RuleSet, n_features: int) -> Alphabet:
    return Alphabet((*rules.unary, *rules.binary), n_features, rules.constants)


def edge_table(seed: int, n_rows: int = 24, n_features: int = 3) -> StatTable:
    columns = sample_columns(np.random.default_rng(seed), n_features, n_rows)
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(n_rows)], **columns})
    frame["target"] = np.random.default_rng(seed + 1).permutation(n_rows).astype(float)
    return StatTable.from_frame(frame, "target", nonfinite_features=True, features=list(columns))


def ranked_table(seed: int, n_archs: int, layers: int, ties: bool) -> StatTable:
    """Positive-ish statistics with repeated values (ties) and optional layer rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_archs):
        target = float(rng.integers(0, 5)) if ties else float(rng.normal())
        for layer in range(layers):
            stat = rng.integers(1, 4, 3).astype(float) if ties else 10.0 ** rng.uniform(-3, 3, 3)
            rows.append({"arch": f"m{a}", "layer": layer, "s": stat[0], "t": -stat[1], "u": stat[2], "y": target})
    frame = pd.DataFrame(rows)
    if layers == 1:
        return StatTable.from_frame(frame.drop(columns="layer"), "y")
    return StatTable.from_frame(frame, "y", layer_col="layer")


def formulas(rules: RuleSet, n_features: int, seed: int, count: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    return [sample_formula(rng, rules, n_features) for _ in range(count)]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values with equal signs of zero, NaN where NaN."""
    nan = np.isnan(a)
    return bool(np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan].view(np.int64), b[~nan].view(np.int64)))


@SLOW
@given(seed=st.integers(0, 2**32 - 1), rules=st.sampled_from(sorted(RULES)))
def test_values_are_numpys_to_the_last_bit(seed: int, rules: str) -> None:
    """Every operator, on zeros of both signs, 1e-30 and 1e30 scales and exp's clip: the generated kernels compute
    numpy's values bit for bit (log and exp through numpy's own loops)."""
    table = edge_table(seed)
    forms = formulas(RULES[rules], 3, seed, 20)
    alphabet = alphabet_of(RULES[rules], 3)
    evaluator = CompiledEvaluator([table], RULES[rules], alphabet)
    codes, lens = alphabet.matrix(forms, 64)
    got = evaluator.values(codes, lens)
    columns = [table.column(f) for f in table.features]
    for tokens, row in zip(forms, got, strict=True):
        expected = evaluate_tokens(tokens, columns)
        if compiled.TRANSCENDENTALS == "numpy" or not {"log", "exp", "sigmoid"} & set(tokens):
            assert same_bits(row, expected), tokens


def test_libm_fallback_is_within_the_stated_ulps_of_numpy() -> None:
    """Where numpy's loops cannot be bound, the kernels call the C library: within LIBM_ULPS of numpy's log/exp."""
    x = np.random.default_rng(0).uniform(-700, 700, 20_000)
    with np.errstate(all="ignore"):
        np.testing.assert_array_max_ulp(np.array([math.exp(v) for v in x]), np.exp(x), maxulp=LIBM_ULPS)
        y = np.abs(x) * 10.0 ** np.random.default_rng(1).uniform(-300, 300, len(x))
        np.testing.assert_array_max_ulp(np.array([math.log(v) for v in y]), np.log(y), maxulp=LIBM_ULPS)


def test_numpy_loops_are_numpys() -> None:
    for name, loop in LOOPS.items():
        if loop is not None:
            x = np.concatenate([[0.0, -0.0, np.inf, -np.inf, np.nan], np.linspace(-800, 800, 1001)])
            with np.errstate(all="ignore"):
                assert same_bits(call(loop, x), getattr(np, name)(x))


@SLOW
@given(
    seed=st.integers(0, 2**32 - 1),
    rules=st.sampled_from(sorted(RULES)),
    method=st.sampled_from(["spearman", "kendall"]),
    layers=st.sampled_from([1, 3]),
    aggregation=st.sampled_from(["sum", "mean", "nanmean"]),
    ties=st.booleans(),
)
def test_outcomes_equal_the_reference_fitness(seed, rules, method, layers, aggregation, ties) -> None:
    """Loss (bit for bit) and rejecting rule of random formulas: rules in order, early rejection on the subsample,
    per-architecture aggregation, Spearman or Kendall with ties."""
    ruleset = dataclasses.replace(RULES[rules], rules=(*RULES[rules].rules,))
    table = ranked_table(seed, n_archs=30, layers=layers, ties=ties)
    alphabet = alphabet_of(ruleset, 3)
    forms = formulas(ruleset, 3, seed, 40) + [(0,), ("sub", 0, 0), ("mul", 0, 0)]
    codes, lens = alphabet.matrix(forms, 64)
    fitness = Fitness(table, ruleset, method, aggregation, seed=seed % 7)
    ref = ReferenceEvaluator(fitness, alphabet).evaluate(codes, lens)
    got = CompiledEvaluator([table], ruleset, alphabet, method, aggregation, seed=seed % 7).evaluate(codes, lens)
    assert np.array_equal(got[1], ref[1])
    assert np.array_equal(got[0], ref[0])


@SLOW
@given(seed=st.integers(0, 2**32 - 1), reduce=st.sampled_from(["mean", "min"]))
def test_multi_table_outcomes_equal_the_reference(seed: int, reduce: str) -> None:
    tables = [ranked_table(seed + k, n_archs=26 + k, layers=1, ties=False) for k in range(3)]
    rules = RULES["default"]
    fitness = MultiFitness(tables, rules, "spearman", "sum", 0, reduce)  # type: ignore[arg-type]
    alphabet = alphabet_of(rules, len(fitness.features))
    codes, lens = alphabet.matrix(formulas(rules, len(fitness.features), seed, 40), 64)
    ref = ReferenceEvaluator(fitness, alphabet).evaluate(codes, lens)
    shared = [t.with_features(fitness.features) for t in tables]
    got = CompiledEvaluator(shared, rules, alphabet, reduce=reduce).evaluate(codes, lens)  # type: ignore[arg-type]
    assert np.array_equal(got[1], ref[1]) and np.array_equal(got[0], ref[0])


def test_jobs_split_a_population_without_changing_it(arch_table) -> None:
    rules = RULES["all"]
    alphabet = alphabet_of(rules, 3)
    codes, lens = alphabet.matrix(formulas(rules, 3, 5, 300), 64)
    one = CompiledEvaluator([arch_table], rules, alphabet, jobs=1).evaluate(codes, lens)
    two = CompiledEvaluator([arch_table], rules, alphabet, jobs=2)
    assert all(np.array_equal(a, b) for a, b in zip(one, two.evaluate(codes, lens), strict=True))
    two.close()


@settings(max_examples=200, deadline=None)
@given(
    x=st.lists(st.integers(-3, 3), min_size=2, max_size=40),
    seed=st.integers(0, 1000),
)
def test_rank_correlations_against_scipy(x: list[int], seed: int) -> None:
    """Spearman (average ranks for ties) within 1e-12 of scipy, and equal to ranking.spearman to the last bit;
    Kendall tau-b equal to scipy's to the last bit (the same arithmetic on the same exact counts)."""
    score = np.array(x, dtype=float) + 0.25 * (np.arange(len(x)) % 2)  # ties and near-ties
    target = np.random.default_rng(seed).integers(0, 4, len(x)).astype(float)
    t = rankcorr.Target.of(target)
    rho, tau = rankcorr.spearman_rho(score, t.centred), rankcorr.kendall_tau_b(score, t.dense, t.ties)
    if np.ptp(score) > 0 and np.ptp(target) > 0:
        sp, kt = stats.spearmanr(score, target).statistic, stats.kendalltau(score, target).statistic
        assert rho == pytest.approx(sp, abs=1e-12) or (np.isnan(rho) and np.isnan(sp))
        assert tau == kt or (np.isnan(tau) and np.isnan(kt))
    expected = ranking.spearman(score, target)
    assert rho == expected or (np.isnan(rho) and np.isnan(expected))
    for method in ("spearman", "kendall"):
        code = rankcorr.method_code(method)  # type: ignore[arg-type]
        assert rankcorr.rank_loss(score, code, t.centred, t.dense, t.ties) == ranking.rank_loss(score, target, method)


def test_spearman_by_hand() -> None:
    """x = (1, 2, 2, 4), y = (1, 2, 3, 4): mid-ranks (1, 2.5, 2.5, 4); doubled and centred: (-3, 0, 0, 3) and
    (-3, -1, 1, 3); Sxy = 18, Sxx = 18, Syy = 20, rho = 18 / sqrt(360) = 0.9486832980505138."""
    x, y = np.array([1.0, 2.0, 2.0, 4.0]), np.array([1.0, 2.0, 3.0, 4.0])
    assert rankcorr.spearman_rho(x, rankcorr.Target.of(y).centred) == 18 / math.sqrt(360)
    assert ranking.spearman(x, y) == 18 / math.sqrt(360)


@settings(deadline=None)
@given(
    values=st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan)), min_size=1, max_size=30),
    n_groups=st.integers(1, 5),
    how=st.sampled_from(["sum", "mean", "nanmean"]),
)
def test_aggregation_equals_ranking_aggregate(values: list[float], n_groups: int, how: str) -> None:
    """Sum, mean and nanmean (NaN rows: items a formula's columns do not all have) to the last bit."""
    v = np.array(values)
    groups = np.arange(len(v)) % n_groups
    n = min(n_groups, len(v))
    expected = ranking.aggregate(v, groups, n, how)  # type: ignore[arg-type]
    got = rankcorr.aggregate_rows(v, groups.astype(np.int64), n, rankcorr.AGGREGATION_CODES[how])
    assert same_bits(got, expected)


@SLOW
@given(seed=st.integers(0, 2**32 - 1))
def test_structural_rules_equal_the_reference(seed: int) -> None:
    """Random formulas, most of them breaking some rule: the same first rejecting rule as ``tree_violation``."""
    rules = RULES["default"]
    wide = {"operators": {"unary": ["log"]}, "rules": {"s": {"kind": "max_size", "limit": 40}}}
    loose = all_operators(RuleSet.from_dict(wide))
    forms = formulas(loose, 8, seed, 60)  # 8 statistics: max_variables (5) is broken too
    alphabet = Alphabet(tuple(OPS.names()), 8, loose.constants)
    strict = dataclasses.replace(rules, unary=loose.unary, binary=loose.binary, constants=loose.constants)
    codes, lens = alphabet.matrix(forms, 64)
    got = CompiledEvaluator([edge_table(seed, n_features=8)], strict, alphabet).structure.violations(codes, lens)
    names = strict.rule_names()
    assert [names[v] if v >= 0 else None for v in got] == [strict.tree_violation(f) for f in forms]


def test_max_variables_counts_distinct_statistics() -> None:
    """Six statistics break the default limit of five; five read twice do not (compiled and reference agree)."""
    rules = RULES["default"]
    six = ("add", "add", "add", 0, 1, "add", 2, 3, "add", 4, 5)
    five_twice = ("add", "add", "add", 0, 1, "add", 2, 3, "add", 4, 0)
    alphabet = alphabet_of(rules, 8)
    codes, lens = alphabet.matrix([six, five_twice], 16)
    got = CompiledEvaluator([edge_table(0, n_features=8)], rules, alphabet).structure.violations(codes, lens)
    names = rules.rule_names()
    assert [names[v] if v >= 0 else None for v in got] == ["variables", None]
    assert [rules.tree_violation(f) for f in (six, five_twice)] == ["variables", None]


def test_the_committed_kernels_are_generated_from_the_operators() -> None:
    """lpzero_sr/search/kernels.py is what the generator writes now; if not, run python -m lpzero_sr.search.compiled
    (the search still works meanwhile: it compiles the fresh source in the process)."""
    assert compiled.GENERATED.read_text() == compiled.kernel_source(tuple(OPS.names()))


def test_each_operator_is_generated_from_its_definition() -> None:
    """By hand: ``log`` guards |x| at 1e-30 and calls numpy's loop; ``max`` is ``a + max(b - a, 0)``."""
    looped = {"log", "exp"}
    log_block, _ = compiled.operator_block("log", looped)
    assert log_block == [
        "for r in range(n):",
        "    v0 = abs(A[r])",
        "    v1 = v0 if (v0 > 1e-30 or v0 != v0) else 1e-30",
        "    T[0, r] = v1",
        "call_loop(loops, 0, T[0], T[1], n, meta)",
        "for r in range(n):",
        "    v2 = T[1, r]",
        "    OUT[r] = v2",
    ]
    max_block, _ = compiled.operator_block("max", looped)
    assert max_block[1:5] == [
        "    v0 = -A[r]",
        "    v1 = B[r] + v0",
        "    v2 = v1 if (v1 > 0.0 or v1 != v1) else 0.0",
        "    v3 = A[r] + v2",
    ]
    libm_block, _ = compiled.operator_block("exp", set())
    assert "    v1 = math.exp(v0)" in libm_block


def test_seeds_ranked_by_the_compiled_scores_are_the_reference_seeds(arch_table) -> None:
    """The engine ranks seed columns with the compiled evaluator (``neg`` added to its symbols when the rules lack
    it); PySR's guesses rank them with ``Fitness``: the same seed formulas."""
    from lpzero_sr.search.seeds import seed_formulas

    for rules in (RULES["default"], dataclasses.replace(RULES["default"], unary=("log",))):
        alphabet = Alphabet((*rules.unary, *rules.binary, *(() if "neg" in rules.unary else ("neg",))), 3)
        evaluator = CompiledEvaluator([arch_table], rules, alphabet)

        def score(formulas: list[tuple]) -> list[float]:
            return evaluator.evaluate(*alphabet.matrix(formulas, 16))[0].tolist()  # noqa: B023

        expected = seed_formulas(Fitness(arch_table, rules), rules)
        assert seed_formulas(evaluator, rules, score=score) == expected and len(expected) > 3
