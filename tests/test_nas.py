"""Aging evolution and random search (lpzero_sr.nas) and the ``lpzero-sr nas`` command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lpzero_sr.cli import main
from lpzero_sr.errors import ConfigError
from lpzero_sr.formula import Node
from lpzero_sr.mutation import aligned_fields, field_distance, leaves, resample_field, take_field
from lpzero_sr.nas import (
    Journal,
    LabelledDomain,
    NasError,
    NasSettings,
    ParamsScoring,
    RandomScoring,
    SpaceDomain,
    count_params,
    search,
)
from lpzero_sr.proxy import Proxy
from lpzero_sr.spaces import SPACES, load_benchmark
from lpzero_sr.spaces.base import config_id
from lpzero_sr.spaces.tiny_gpt2 import validate_config

TARGET = {"a": 4, "b": 2, "c": 5, "d": 3}


class ToySpace:
    """Four fields in 0..5 (d = 0 cannot be built); the model is a Linear(1, 1 + a): 2 * (1 + a) parameters."""

    name = "toy"
    dataset = "toy"
    causal = False

    def load(self, data_dir: Path) -> Any:
        raise NotImplementedError

    def build(self, config: dict[str, Any]) -> nn.Module:
        if config["d"] == 0:
            raise ConfigError("d = 0 cannot be built")
        return nn.Linear(1, 1 + config["a"])

    def vocab_size(self, config: dict[str, Any]) -> int:
        return 1

    def sample(self, rng: np.random.Generator) -> dict[str, int]:
        return {k: int(rng.integers(6)) for k in TARGET}


class Objective:
    """Minus the squared distance to TARGET; counts the configs it scores."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, configs: Sequence[dict[str, Any]]) -> list[float]:
        self.calls += len(configs)
        return [-float(sum((c[k] - v) ** 2 for k, v in TARGET.items())) for c in configs]


TOY = ToySpace()


def run(seed: int = 0, strategy: str = "evolution", journal: Journal | None = None, **kw: Any) -> Any:
    opts = {"candidates": 150, "population": 20, "sample": 5, **kw}
    return search(SpaceDomain(TOY), Objective(), NasSettings(seed=seed, strategy=strategy, **opts), journal)


def test_aging_evolution_finds_the_optimum_within_the_budget() -> None:
    found_by_random = 0
    for seed in range(10):
        result = run(seed, candidates=270, sample=3)
        best = result.top(1)[0]
        assert best.config == TARGET and best.score == 0.0
        assert len(result.history) == 270 and len(result.scored) == len({c.arch for c in result.history}) < 270
        found_by_random += run(seed, "random", candidates=270).top(1)[0].score == 0.0
    assert found_by_random <= 3  # 270 of 1,080 buildable configs drawn at random: P(hit) = 0.25 per seed


def test_budget_rejections_are_counted_and_never_scored() -> None:
    result = run(1, "random", candidates=40, max_params=10)  # 2 * (1 + a) <= 10  <=>  a <= 4
    assert all(c.params <= 10 and c.config["a"] <= 4 for c in result.history)
    # replay the sampler by hand: every draw is scored, rejected over budget, rejected invalid, or a repeat
    rng, seen, over, invalid = np.random.default_rng(1), set(), 0, 0
    while len(seen) < 40:
        config = TOY.sample(rng)
        if config["d"] == 0:
            invalid += 1
        elif config["a"] > 4:
            over += 1
        else:
            seen.add(tuple(config.values()))
    assert (result.rejected_budget, result.rejected_invalid) == (over, invalid)
    assert over > 0 and invalid > 0


def test_a_budget_nothing_fits_gives_up_with_one_line() -> None:
    with pytest.raises(NasError, match="gave up after 250 proposals"):
        run(0, candidates=5, max_params=1)


def test_search_is_deterministic_under_a_seed() -> None:
    first, again, other = run(4), run(4), run(5)
    assert [c.arch for c in first.history] == [c.arch for c in again.history]
    assert [c.arch for c in first.history] != [c.arch for c in other.history]


class BatchLog(Objective):
    """The objective, recording the size of each batch it is asked to score."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def __call__(self, configs: Sequence[dict[str, Any]]) -> list[float]:
        self.batches.append(len(configs))
        return super().__call__(configs)


@pytest.mark.parametrize("strategy", ["evolution", "random"])
def test_batched_cycles_score_children_together_and_batch_1_is_the_sequential_loop(strategy: str) -> None:
    sequential = run(2, strategy, candidates=47)
    assert [c.arch for c in run(2, strategy, candidates=47, batch=1).history] == [c.arch for c in sequential.history]
    objective = BatchLog()
    settings_ = NasSettings(candidates=47, population=20, sample=5, seed=2, strategy=strategy, batch=4)
    batched = search(SpaceDomain(TOY), objective, settings_)
    assert len(batched.history) == 47
    assert sum(objective.batches) == len(batched.scored)  # repeats of a scored architecture are memoized
    if strategy == "random":  # 47 draws without replacement, within a batch too: cycles of 4, then 3
        assert objective.batches == [4] * 11 + [3] and len({c.arch for c in batched.history}) == 47
    else:  # the initial population 4 at a time (journaled as scored), then cycles of at most 4 new children
        assert objective.batches[:5] == [4] * 5 and max(objective.batches) == 4 and len(objective.batches) <= 5 + 7
    assert [c.arch for c in batched.history] == [
        c.arch for c in search(SpaceDomain(TOY), Objective(), settings_).history
    ]
    with pytest.raises(NasError, match="need batch >= 1, got 0"):
        run(0, batch=0)


def test_resume_after_a_kill_gives_the_uninterrupted_result(tmp_path: Path) -> None:
    record = {"space": "toy", "seed": 3}
    whole = run(3, journal=Journal(tmp_path / "whole", record), candidates=60)
    lines = (tmp_path / "whole" / "candidates.jsonl").read_text().splitlines(keepends=True)
    assert len(lines) == len(whole.history)
    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / "candidates.jsonl").write_text("".join(lines[:25]) + lines[25][:17])  # 25 lines + a torn one
    (killed / "run.json").write_text((tmp_path / "whole" / "run.json").read_text())
    objective = Objective()
    settings_ = NasSettings(candidates=60, population=20, sample=5, seed=3)
    resumed = search(SpaceDomain(TOY), objective, settings_, Journal(killed, record))
    assert [(c.arch, c.score) for c in resumed.history] == [(c.arch, c.score) for c in whole.history]
    assert (killed / "candidates.jsonl").read_text() == "".join(lines)
    replayed = {json.loads(line)["arch"] for line in lines[:25]}
    assert objective.calls == len(whole.scored) - len(replayed)  # the journal's architectures were not rescored


def test_journal_of_other_settings_is_refused(tmp_path: Path) -> None:
    run(0, journal=Journal(tmp_path, {"seed": 1}), candidates=3)
    with pytest.raises(NasError, match=r"holds a run with other settings \(.*run.json\) and 3 evaluated children"):
        Journal(tmp_path, {"seed": 2})
    run(0, journal=Journal(tmp_path / "old", {"seed": 1}), candidates=3)  # before --children: one child per cycle
    Journal(tmp_path / "old", {"seed": 1, "batch": 1})
    with pytest.raises(NasError, match="holds a run with other settings"):
        Journal(tmp_path / "old", {"seed": 1, "batch": 2})


def test_a_run_that_scored_nothing_blocks_no_retry(tmp_path: Path) -> None:
    with pytest.raises(
        NasError, match=r"^gave up after 250 proposals \(211 over the parameter budget, 39 invalid\) with 0 of 5"
    ):
        run(0, journal=Journal(tmp_path, {"max_params": 1}), candidates=5, max_params=1)
    assert (tmp_path / "run.json").exists() and not (tmp_path / "candidates.jsonl").exists()
    retry = run(0, journal=Journal(tmp_path, {"max_params": 10}), candidates=5, max_params=10)
    assert len(retry.history) == 5 and json.loads((tmp_path / "run.json").read_text()) == {"max_params": 10}


class StopAfter(Objective):
    """The objective, until Ctrl-C arrives while it scores its ``limit`` + 1-th config."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __call__(self, configs: Sequence[dict[str, Any]]) -> list[float]:
        if self.calls + len(configs) > self.limit:
            raise KeyboardInterrupt
        return super().__call__(configs)


def test_each_candidate_is_journaled_as_it_is_scored_and_ctrl_c_keeps_them(tmp_path: Path) -> None:
    settings_ = NasSettings(candidates=60, population=20, sample=5, seed=3)
    cut = search(SpaceDomain(TOY), StopAfter(7), settings_, Journal(tmp_path, {"seed": 3}))
    assert cut.interrupted and len(cut.history) == 7  # inside the first population: 7 scored, 7 kept
    lines = (tmp_path / "candidates.jsonl").read_text().splitlines()
    assert [json.loads(line)["arch"] for line in lines] == [c.arch for c in cut.history]
    whole = search(SpaceDomain(TOY), Objective(), settings_)
    resumed = search(SpaceDomain(TOY), Objective(), settings_, Journal(tmp_path, {"seed": 3}))
    assert not resumed.interrupted and [c.arch for c in resumed.history] == [c.arch for c in whole.history]


def test_a_broken_middle_line_of_the_journal_is_one_error_naming_it(tmp_path: Path) -> None:
    run(0, journal=Journal(tmp_path, {"seed": 0}), candidates=50)
    path = tmp_path / "candidates.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines[:39], "{garbage\n", *lines[40:]]))
    message = (
        f"{path} line 40 is broken (Expecting property name enclosed in double quotes); the 39 line(s) before it "
        "are intact: delete line 40 and every line after it to resume from there, or pick another --out"
    )
    with pytest.raises(NasError) as caught:
        Journal(tmp_path, {"seed": 0})
    assert str(caught.value) == message
    path.write_text("".join([*lines[:10], '{"arch": "x"}\n', *lines[11:]]))
    with pytest.raises(NasError, match=r"line 11 is broken \(not an evaluated child\)"):
        Journal(tmp_path, {"seed": 0})


def test_field_helpers() -> None:
    a = {"h": 128, "layers": [{"op": "SA", "p": "SDP"}, {"op": "LT", "p": "DFT"}]}
    b = {"h": 256, "layers": [{"op": "SA", "p": "WMA"}]}
    assert leaves(a) == {("h",): 128, ("layers", 0, "op"): "SA", ("layers", 0, "p"): "SDP",
                         ("layers", 1, "op"): "LT", ("layers", 1, "p"): "DFT"}  # fmt: skip
    assert field_distance(leaves(a), leaves(b)) == 4  # h, layers.0.p, and the two fields of the missing layer
    assert aligned_fields(a, b) == [("h",), ("layers",)]
    assert take_field(a, b, ("layers",))["layers"] == [{"op": "SA", "p": "SDP"}]  # one layer fewer
    assert take_field(b, a, ("layers",))["layers"] == [{"op": "SA", "p": "WMA"}, {"op": "LT", "p": "DFT"}]
    assert take_field(a, b, ("h",)) == {**a, "h": 256} and a["h"] == 128
    assert aligned_fields(a, a) == [("h",), ("layers", 0, "op"), ("layers", 0, "p"), ("layers", 1, "op"),
                                    ("layers", 1, "p")]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_resample_field_changes_a_tiny_gpt2_config_and_keeps_it_valid(seed: int) -> None:
    space = SPACES.get("tiny-gpt2")
    rng = np.random.default_rng(seed)
    parent = space.sample(rng)

    def valid(config: dict[str, Any]) -> bool:
        try:
            validate_config(config)
        except ConfigError:
            return False
        return True

    child = resample_field(space, parent, rng, valid)
    assert child != parent and validate_config(child) == child


@pytest.fixture(scope="module")
def tiny() -> Any:
    return load_benchmark("tiny-gpt2")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), index=st.integers(0, 79))
def test_within_benchmark_mutation_returns_another_labelled_config(tiny: Any, seed: int, index: int) -> None:
    domain = LabelledDomain(tiny.space, tiny.configs)
    parent = tiny.configs[tiny.archs[index]]
    child = domain.mutate(parent, np.random.default_rng(seed))
    assert child != parent and domain.arch_id(child) in tiny.configs and child in tiny.configs.values()


def test_within_benchmark_mutation_picks_the_nearest_labelled_config() -> None:
    pool = {"p": {"a": 1, "b": 1, "c": 1, "d": 1}, "q": {"a": 1, "b": 1, "c": 1, "d": 2},
            "r": {"a": 5, "b": 5, "c": 5, "d": 5}}  # fmt: skip
    domain = LabelledDomain(TOY, pool)
    for seed in range(20):  # one field of p changes: q (distance <= 2) is always nearer than r (>= 3)
        assert domain.mutate(pool["p"], np.random.default_rng(seed)) == pool["q"]


def test_a_config_labelled_twice_is_one_architecture() -> None:
    pool = {"p": {"a": 1, "b": 1, "c": 1, "d": 1}, "q": {"a": 1, "b": 1, "c": 1, "d": 1},
            "r": {"a": 5, "b": 5, "c": 5, "d": 5}}  # fmt: skip
    domain = LabelledDomain(TOY, pool)
    assert domain.arch_id(pool["q"]) == "p"
    assert all(domain.mutate(pool["q"], np.random.default_rng(seed)) == pool["r"] for seed in range(10))
    assert {domain.arch_id(domain.sample(np.random.default_rng(seed))) for seed in range(30)} == {"p", "r"}
    with pytest.raises(NasError, match="at least 2 distinct architectures, got 1"):
        LabelledDomain(TOY, {"p": pool["p"], "q": pool["q"]})


def test_an_unlabelled_config_of_a_space_without_ids_is_named_as_labelling_names_it() -> None:
    config = {"d": 4, "c": 3, "b": 2, "a": 1}  # SHA-1 of '{"a": 1, "b": 2, "c": 3, "d": 4}', first 12 hex digits
    assert SpaceDomain(TOY).arch_id(config) == config_id(config) == "ddee5727daf7"
    assert SpaceDomain(TOY, {"p": dict(config)}).arch_id(config) == "p"


class ToySpaceWithMutate(ToySpace):
    name = "toy-mutate"

    def mutate(self, config: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        return {**config, "b": (config["b"] + 1) % 6}


def test_a_space_mutate_method_replaces_the_generic_mutation() -> None:
    domain = SpaceDomain(ToySpaceWithMutate())
    assert domain.mutate({"a": 1, "b": 5, "c": 1, "d": 1}, np.random.default_rng(0)) == {"a": 1, "b": 0, "c": 1, "d": 1}


def test_params_and_random_objectives() -> None:
    domain = SpaceDomain(TOY)
    configs = [{"a": 3, "b": 0, "c": 0, "d": 1}, {"a": 0, "b": 0, "c": 0, "d": 0}]
    assert count_params(TOY, configs[0]) == 8
    assert ParamsScoring(domain)(configs)[0] == 8.0 and np.isnan(ParamsScoring(domain)(configs)[1])
    scores = RandomScoring(0)(configs)
    assert scores == RandomScoring(0)(configs) and scores != RandomScoring(1)(configs)
    assert all(0 <= s < 1 for s in scores)


def test_cli_params_objective_within_tiny_gpt2(tmp_path: Path, tiny: Any) -> None:
    out = tmp_path / "nas"
    args = ["nas", "tiny-gpt2", "--objective", "params", "--within-benchmark", "--candidates", "12", "--population",
            "4", "--sample", "2", "--max-params", "300000", "--seed", "1", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    top = json.loads((out / "top.json").read_text())
    params = {a: count_params(tiny.space, c) for a, c in tiny.configs.items()}
    best = top["top"][0]
    assert best["params"] == best["score"] == params[best["arch"]] <= 300000
    assert best["true"] == pytest.approx(float(tiny.targets.loc[best["arch"], "val_loss"]))
    assert top["evaluations"] == 12 and top["scored"] <= 12 and f"pick {best['arch']}: true val_loss" in result.output
    rerun = CliRunner().invoke(main, args)
    n = len((out / "candidates.jsonl").read_text().splitlines())
    assert rerun.exit_code == 0 and f"resuming from {out / 'candidates.jsonl'}: {n} evaluated children" in rerun.output
    assert json.loads((out / "top.json").read_text())["top"] == top["top"]


def test_cli_children_per_cycle_default_to_workers(tmp_path: Path) -> None:
    args = ["nas", "tiny-gpt2", "--objective", "params", "--within-benchmark", "--candidates", "9", "--population",
            "4", "--sample", "2", "--seed", "1"]  # fmt: skip
    for extra, batch in (([], 1), (["--children", "3"], 3)):
        out = tmp_path / str(batch)
        result = CliRunner().invoke(main, [*args, *extra, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert json.loads((out / "run.json").read_text())["batch"] == batch
        assert len((out / "candidates.jsonl").read_text().splitlines()) == 9


def test_cli_proxy_objective_scores_with_the_scorer(tmp_path: Path) -> None:
    proxy = tmp_path / "proxy.json"
    Proxy(Node(var="weight.abs.mean")).save(proxy)
    args = ["nas", "tiny-gpt2", "--proxy", str(proxy), "--candidates", "3", "--population", "2", "--sample", "1",
            "--batch-size", "1", "--seq-len", "8", "--device", "cpu", "--top-k", "3"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "3 distinct architectures scored in 3 evaluations" in result.output and " 3. L" in result.output


def test_cli_error_lines(tmp_path: Path) -> None:
    missing = CliRunner().invoke(main, ["nas", "tiny-gpt2", "--proxy", str(tmp_path / "none.json")])
    assert missing.exit_code == 1
    assert missing.output.strip() == f"Error: proxy file not found: {tmp_path / 'none.json'}"
    unknown = CliRunner().invoke(main, ["nas", "nope", "--objective", "params"])
    assert unknown.exit_code == 1 and unknown.output.startswith("Error: unknown space 'nope'; known:")
    no_proxy = CliRunner().invoke(main, ["nas", "tiny-gpt2"])
    assert no_proxy.exit_code == 1 and "--objective proxy needs --proxy PATH" in no_proxy.output
