"""The embedded DEAP engine: finds an exact formula, is deterministic, stops on budget/Ctrl-C, resumes."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import multiprocessing
import time

import pytest

from lpzero_sr.fit.selection import parsimony
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.deap_engine import DeapEngine
from lpzero_sr.search.engine import Front, SearchError
from lpzero_sr.search.engines import get_engine
from lpzero_sr.settings import SearchSettings, SettingsError


def summary(front: Front) -> list[tuple[int, float, str]]:
    return [(c.complexity, round(c.loss, 12), c.text) for c in front.candidates]


def fit(table, checkpoint=None, progress=None, rules="default", **kw):
    """The engine on ``table`` with small search settings (``kw``: fields of :class:`SearchSettings`)."""
    kw = {"generations": 4, "population": 24, "jobs": 1, "checkpoint_every": 0.0, **kw}
    return DeapEngine().fit(table, RuleSet.load(rules) if isinstance(rules, str) else rules, SearchSettings(**kw),
                            checkpoint=checkpoint, progress=progress)  # fmt: skip


def test_finds_the_exact_ranking_formula(arch_table) -> None:
    front = fit(arch_table, generations=30, seed=1)
    best = front.best
    assert best.loss == pytest.approx(0.0, abs=1e-12)
    assert best.text in {"log|a| + b", "b + log|a|", "a*exp(b)", "exp(b)*a"}  # the 4-node formulas ranking exactly
    penalised = {c.text: c.loss + 0.005 * c.complexity for c in front.candidates}
    assert parsimony(front).text == min(penalised, key=penalised.get)
    assert [c.complexity for c in front.candidates] == sorted(c.complexity for c in front.candidates)
    losses = [c.loss for c in front.candidates]
    assert losses == sorted(losses, reverse=True)  # non-dominated: larger formulas must rank better
    assert front.generations == 30 and front.stopped == "generations"
    assert front.rejections["nesting"] >= 0 and set(front.rejections) == set(RuleSet.load("default").rule_names())
    history_losses = [loss for _, loss in front.history]
    assert history_losses == sorted(history_losses, reverse=True)
    assert front.history[-1] == (front.evaluations, best.loss)


def test_same_seed_same_front_for_any_worker_count(arch_table) -> None:
    one = fit(arch_table, seed=3, jobs=1)
    two = fit(arch_table, seed=3, jobs=2)
    assert summary(one) == summary(two)
    assert one.rejections == two.rejections and one.evaluations == two.evaluations
    assert summary(fit(arch_table, seed=3)) == summary(one)


@pytest.mark.parametrize("loss", ["spearman", "kendall"])
def test_compiled_and_reference_evaluators_give_the_same_front(arch_table, layer_table, loss) -> None:
    """The same seed and number of evaluations: the same front, formulas in the same order, and the same counts."""
    budget = {"generations": None, "evaluations": 400}
    for table, aggregation in ((arch_table, "sum"), (layer_table, "mean")):
        runs = [
            fit(table, **budget, seed=4, loss=loss, aggregation=aggregation, evaluator=name)
            for name in ("compiled", "reference")
        ]
        assert summary(runs[0]) == summary(runs[1])
        assert [(r.evaluations, r.history, r.rejections) for r in runs[:1]] == [
            (r.evaluations, r.history, r.rejections) for r in runs[1:]
        ]
    with pytest.raises(SettingsError, match="^evaluator: must be one of compiled, reference, got 'fast'$"):
        fit(arch_table, evaluator="fast")


def test_evaluation_budget_and_ctrl_c(arch_table) -> None:
    front = fit(arch_table, generations=None, evaluations=150, seed=0)
    assert front.stopped == "evaluations" and front.evaluations >= 150

    def interrupt(generation: int, evaluations: int, best: float) -> None:
        if generation == 2:
            raise KeyboardInterrupt

    front = fit(arch_table, generations=50, progress=interrupt)
    assert front.stopped == "interrupted" and front.generations == 2 and front.candidates


def test_resumed_search_equals_uninterrupted(arch_table, tmp_path) -> None:
    whole = fit(arch_table, generations=6, seed=2)
    fit(arch_table, generations=3, seed=2, checkpoint=tmp_path)
    resumed = fit(arch_table, generations=6, seed=2, checkpoint=tmp_path)
    assert resumed.generations == 6
    assert summary(resumed) == summary(whole)
    # the evaluation cache is restored: a resumed run counts exactly the formulas an unbroken run counts
    assert (resumed.evaluations, resumed.history) == (whole.evaluations, whole.history)
    with pytest.raises(SearchError, match=r"belongs to a different search \(differs in: seed\)$"):
        fit(arch_table, generations=7, seed=5, checkpoint=tmp_path)


def test_resume_under_an_evaluation_budget_stops_where_an_unbroken_run_stops(arch_table, tmp_path) -> None:
    budget = {"generations": None, "evaluations": 1500}
    whole = fit(arch_table, **budget, seed=3)
    fit(arch_table, generations=2, seed=3, checkpoint=tmp_path)
    resumed = fit(arch_table, **budget, seed=3, checkpoint=tmp_path)
    assert (resumed.generations, resumed.evaluations) == (whole.generations, whole.evaluations)
    assert summary(resumed) == summary(whole)


def test_checkpoints_are_keyed_by_rule_content_not_name(arch_table, tmp_path) -> None:
    default = RuleSet.load("default")
    renamed = dataclasses.replace(default, name="mine")
    fit(arch_table, rules=default, generations=1, population=16, checkpoint=tmp_path)
    fit(arch_table, rules=renamed, generations=2, population=16, checkpoint=tmp_path)
    changed = dataclasses.replace(default, unary=("log",))  # same name, other content
    with pytest.raises(SearchError, match=r"belongs to a different search \(differs in: rules\)$"):
        fit(arch_table, rules=changed, generations=3, population=16, checkpoint=tmp_path)


def _run_forever(table, directory) -> None:
    fit(table, generations=10**6, seed=4, checkpoint=directory)


def test_killed_then_resumed_front_is_at_least_as_good(arch_table, tmp_path) -> None:
    proc = multiprocessing.get_context("spawn").Process(target=_run_forever, args=(arch_table, tmp_path))
    proc.start()
    state_file = tmp_path / "deap_state.json"
    deadline = time.monotonic() + 120
    generation = 0
    while generation < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
        if state_file.exists():  # replaced atomically: never half written
            generation = json.loads(state_file.read_text())["state"]["generation"]
    proc.kill()
    proc.join()
    assert generation >= 3
    state = json.loads(state_file.read_text())["state"]
    before = {size: (loss, tokens) for size, loss, tokens in state["best_by_size"]}
    resumed = fit(arch_table, generations=state["generation"] + 3, seed=4, checkpoint=tmp_path)
    assert resumed.generations == state["generation"] + 3
    for size, (loss, _) in before.items():
        assert any(c.complexity <= size and c.loss <= loss for c in resumed.candidates)


def test_engine_registry_and_auto(monkeypatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert isinstance(get_engine("auto"), DeapEngine)
    # Julia on PATH is not enough: without the pysr package, auto stays embedded
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/julia")
    real = importlib.util.find_spec
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "pysr" else real(name, *a))
    assert isinstance(get_engine("auto"), DeapEngine)
    with pytest.raises(SearchError, match=r"unknown engine 'gp'; known: deap, pysr"):
        get_engine("gp")


def test_constants_from_the_rules_become_terminals(arch_table) -> None:
    rules = RuleSet.from_dict(
        {
            "operators": {"unary": ["log"], "binary": ["add", "mul"], "constants": [2.0]},
            "rules": {"size": {"kind": "max_size", "limit": 7}, "const": {"kind": "non_constant"}},
        }
    )
    front = fit(arch_table, rules=rules, generations=10, seed=0)
    assert front.best.loss == pytest.approx(0.0, abs=1e-12)
    assert all(c.complexity <= 7 for c in front.candidates)
