"""fit_table: columns chosen on training rows only, column order does not matter, the run directory contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.fit.protocol import DEV_SEEDS, REPORT_SEEDS, split_seeds
from lpzero_sr.rundir import RunDir
from lpzero_sr.settings import FitSettings, SearchSettings
from lpzero_sr.table import StatTable


def table(order: list[str], bad_arch: str | None = None) -> StatTable:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"arch": [f"n{i}" for i in range(30)], "a": 10.0 ** rng.uniform(-2, 3, 30), "b": rng.uniform(0, 2, 30)}
    )
    frame["c"] = rng.normal(size=30)
    frame["acc"] = np.log(frame["a"]) + frame["b"]
    if bad_arch is not None:
        frame.loc[frame["arch"] == bad_arch, "c"] = np.inf
    return StatTable.from_frame(frame[["arch", *order, "acc"]], "acc", nonfinite_features=True)


def fit(t: StatTable, seed: int = 0):
    train, test = t.split(20, seed=seed)
    search = SearchSettings(generations=4, population=24, seed=seed, jobs=1)
    return fit_table(train, test, FitSettings(search=search, peers=False, additive=0)), train


def test_the_same_data_in_another_column_order_gives_the_same_proxy() -> None:
    first, _ = fit(table(["a", "b", "c"]))
    second, _ = fit(table(["c", "b", "a"]))
    assert first.proxy.formula == second.proxy.formula
    assert [c.text for c in first.front.candidates] == [c.text for c in second.front.candidates]


def test_columns_are_dropped_on_training_rows_only() -> None:
    clean, train = fit(table(["a", "b", "c"]))
    held_out = next(a for a in table(["a", "b", "c"]).archs if a not in set(train.archs))
    on_test, _ = fit(table(["a", "b", "c"], bad_arch=held_out))  # inf only on a held-out row: nothing changes
    assert [c.text for c in on_test.front.candidates] == [c.text for c in clean.front.candidates]
    on_train, _ = fit(table(["a", "b", "c"], bad_arch=str(train.archs[0])))  # inf on a training row: c is dropped
    assert all("c" not in c.formula.variables for c in on_train.front.candidates)


def test_finite_features_decides_on_the_rows_it_is_given() -> None:
    t = table(["a", "b", "c"], bad_arch="n3")
    assert t.features == ("a", "b", "c")  # kept in the table: the split decides
    assert t.subset(["n3", "n4", "n5", "n6", "n7"]).finite_features().features == ("a", "b")
    assert t.subset(["n4", "n5", "n6", "n7", "n8"]).finite_features().features == ("a", "b", "c")


def test_dev_and_report_seeds_are_disjoint() -> None:
    assert set(DEV_SEEDS).isdisjoint(REPORT_SEEDS)
    assert split_seeds("report") == (100, 101, 102) and split_seeds("dev") == (1, 2, 3)
    with pytest.raises(ValueError, match="unknown split 'test'"):
        split_seeds("test")


def test_run_directory_contract(tmp_path) -> None:
    result, _ = fit(table(["a", "b", "c"]))
    paths = RunDir(tmp_path / "run").write(result.record())
    assert [p.name for p in paths] == ["proxy.json", "front.json", "history.json", "predictions.csv", "settings.json"]
    front = json.loads((tmp_path / "run" / "front.json").read_text())
    assert front["chosen"] == result.chosen and front["selection"] == "best"
    assert all({"train", "heldout"} <= set(c) for c in front["candidates"])
    assert front["report"]["baseline"]["train"]["spearman"] > 0.5
