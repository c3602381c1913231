"""Multi-table search: MultiFitness is the mean (or worst) of per-table rank losses; the search finds a shared law."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import spearmanr

from lpzero_sr.cli import main
from lpzero_sr.fit.pipeline import fit_tables
from lpzero_sr.proxy import Proxy
from lpzero_sr.ranking import WORST_LOSS
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.rundir import RunDir
from lpzero_sr.search.deap_engine import DeapEngine
from lpzero_sr.search.engine import SearchError
from lpzero_sr.search.fitness import Fitness
from lpzero_sr.search.multitask import MultiFitness, shared_features
from lpzero_sr.settings import MultiFitSettings, SearchSettings, SettingsError
from lpzero_sr.table import StatTable


def task_frame(seed: int, n: int, extra: str) -> pd.DataFrame:
    """``n`` architectures whose target is exactly ranked by log|a| + b; ``extra`` is a column only this task has."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "arch": [f"s{seed}-{i}" for i in range(n)],
            "a": 10.0 ** rng.uniform(-2, 3, n),
            "b": rng.uniform(0, 2, n),
            "noise": rng.normal(size=n),
            extra: rng.normal(size=n),
        }
    )
    frame["acc"] = np.log(frame["a"]) + frame["b"]
    return frame


@pytest.fixture
def tables() -> list[StatTable]:
    return [StatTable.from_frame(task_frame(s, 30, f"only{s}"), "acc") for s in (3, 4)]


def test_shared_features_is_the_sorted_finite_intersection(tables) -> None:
    assert shared_features(tables) == ["a", "b", "noise"]
    frame = task_frame(5, 30, "only3")
    frame.loc[0, "noise"] = np.nan  # not finite on every row of this table: no task may use it
    third = StatTable.from_frame(frame, "acc", nonfinite_features=True)
    assert shared_features([tables[0], third]) == ["a", "b", "only3"]
    assert shared_features([StatTable.from_frame(task_frame(3, 30, "x"), "acc"), third]) == ["a", "b"]
    assert shared_features([tables[0], StatTable.from_frame(task_frame(7, 30, "only3"), "acc")]) == [
        "a", "b", "noise", "only3",
    ]  # fmt: skip
    disjoint = StatTable.from_frame(task_frame(6, 30, "z").drop(columns=["a", "b", "noise"]), "acc")
    with pytest.raises(SearchError, match="share no feature"):
        shared_features([tables[0], disjoint])


def spearman_loss(scores: np.ndarray, y: np.ndarray) -> float:
    return 1.0 - float(spearmanr(scores, y).statistic)


def test_multi_loss_is_the_mean_or_the_worst_of_the_per_table_losses(tables) -> None:
    rules = RuleSet.load("default")
    multi = MultiFitness(tables, rules, "spearman", "sum", 0)
    worst = MultiFitness(tables, rules, "spearman", "sum", 0, reduce="min")
    assert multi.features == ("a", "b", "noise")
    tokens = ("add", 0, 2)  # a + noise: imperfect on both tables
    by_hand = [spearman_loss(t.column("a") + t.column("noise"), t.y) for t in tables]
    assert by_hand[0] != pytest.approx(by_hand[1])
    per_table = [Fitness(t.with_features(multi.features), rules, "spearman", "sum", 0)(tokens).loss for t in tables]
    assert per_table == pytest.approx(by_hand, abs=1e-12)
    assert multi(tokens).loss == pytest.approx(np.mean(by_hand), abs=1e-12)
    assert worst(tokens).loss == pytest.approx(max(by_hand), abs=1e-12)
    assert multi(("add", "log", 0, 1)).loss == pytest.approx(0.0, abs=1e-12)


def test_rejection_on_any_table_rejects(tables) -> None:
    rules = RuleSet.load("default")
    multi = MultiFitness(tables, rules)
    bad = ("sub", 0, 0)  # a - a: a structural rule or a constant-score value rule rejects it
    outcome = multi(bad)
    assert outcome.loss == WORST_LOSS and outcome.rejected_by is not None
    single = Fitness(tables[0].with_features(multi.features), rules)(bad)
    assert single.rejected_by == outcome.rejected_by


def test_multi_table_search_finds_the_shared_law(tables) -> None:
    settings = SearchSettings(generations=30, population=24, seed=1, jobs=1)
    front = DeapEngine().fit(tables, RuleSet.load("default"), settings)
    assert front.best.loss == pytest.approx(0.0, abs=1e-12)
    assert front.best.text == "log|a| + b"


def test_fit_multi_reports_each_task(tables, tmp_path) -> None:
    splits = [t.split(20, 1) for t in tables]
    search = SearchSettings(generations=30, population=24, seed=1, jobs=1)
    result = fit_tables(tables, MultiFitSettings(search=search, train_size=20), names=["t1", "t2"])
    assert result.front.candidates[result.chosen].loss == pytest.approx(0.0, abs=1e-12)  # log|a| + b or a*exp(b)
    assert result.proxy.metrics["train"]["spearman"] == pytest.approx(1.0)
    for (train, _), report in zip(splits, result.reports, strict=True):
        assert report["n_test"] == 10
        assert report["proxy"]["spearman"] == pytest.approx(1.0)
        rho = {c: spearmanr(train.column(c), train.y).statistic for c in ("a", "b", "noise")}
        best = max(rho, key=lambda c: abs(rho[c]))  # chosen on this task's training rows only
        assert report["baseline"]["column"] == best and report["baseline"]["sign"] == np.sign(rho[best])
    paths = RunDir(tmp_path / "run").write(result.record())
    front = json.loads(paths[1].read_text())
    assert front["tasks"] == ["t1", "t2"] and len(front["reports"]) == 2
    assert front["candidates"][front["chosen"]]["heldout"]["t2"]["spearman"] == pytest.approx(1.0)


def test_pysr_refuses_several_tables(tables) -> None:
    with pytest.raises(SettingsError, match=r"^search.engine: a fit of several tables runs on the deap engine"):
        MultiFitSettings(search=SearchSettings(engine="pysr", generations=1))


def test_cli_fits_several_tables(tmp_path) -> None:
    paths = []
    for seed in (3, 4):
        path = tmp_path / f"t{seed}.csv"
        task_frame(seed, 30, f"only{seed}").to_csv(path, index=False)
        paths.append(str(path))
    out = tmp_path / "run"
    args = ["fit", *paths, "--target", "acc", "--train-size", "20", "--generations", "30", "--population", "24"]
    result = CliRunner().invoke(main, [*args, "--seed", "1", "--jobs", "1", "--engine", "deap", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{paths[0]}: 20 training / 10 held-out architectures, 4 features" in result.output
    assert "chosen proxy: " in result.output
    proxy = Proxy.load(out / "proxy.json")
    rows = {line.split()[0]: line.split() for line in result.output.splitlines() if line.startswith("  ")}
    rhos = []
    for path in paths:  # each task's held-out rows, split as the command does, scored by hand
        _, test = StatTable.from_frame(pd.read_csv(path), "acc").split(20, 1)
        rhos.append(spearmanr(proxy.evaluate(test), test.y).statistic)
        assert rows[path][1] == f"{rhos[-1]:.4f}"
    assert rows["mean"][1] == f"{np.mean(rhos):.4f}"
    assert json.loads((out / "front.json").read_text())["tasks"] == paths
    assert (out / "proxy.json").exists()
