"""Scorer: equals full extraction + Proxy.evaluate, captures only what its formula needs, clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from lpzero_sr.baselines import extract_benchmark
from lpzero_sr.cli import main
from lpzero_sr.features.inputs import make_batch
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy
from lpzero_sr.scorer import Scorer, ScorerError
from lpzero_sr.spaces.base import SPACES, Benchmark

SPACE = SPACES.get("tiny-gpt2")
CONFIGS = {
    "a": {"n_layer": 1, "n_embd": 32, "n_head": 2, "n_inner": 64},
    "b": {"n_layer": 2, "n_embd": 32, "n_head": 4, "n_inner": 32},
    "c": {"n_layer": 2, "n_embd": 48, "n_head": 1, "n_inner": 96},
    "d": {"n_layer": 1, "n_embd": 48, "n_head": 8, "n_inner": 192},
    "e": {"n_layer": 3, "n_embd": 32, "n_head": 1, "n_inner": 128},
}
SETTINGS = ExtractSettings(batch_size=2, seq_len=16, seed=3)


def S(name: str) -> Node:  # noqa: N802 - a variable leaf, as in the old sympy-based tests
    return Node(var=name)


def T(*tokens: object, names: tuple[str, ...] = ()) -> Node:  # noqa: N802
    return Node.from_tokens(tokens, names)  # type: ignore[arg-type]


def per_arch_proxy() -> Proxy:
    expr = (
        T(
            "sub",
            "add",
            "log",
            0,
            "mul",
            "sqrt",
            1,
            2,
            3,
            names=("snip", "grad.sqr.mean", "weight.abs.mean", "act.identity.std"),
        )  # fmt: skip
    )
    return Proxy(expr)


def per_layer_proxy() -> Proxy:
    names = ("softmax.identity.std", "head.abs.mean", "weight*grad.abs.l1")
    return Proxy(T("add", "mul", 0, 1, "exp", "neg", 2, names=names), "sum")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Benchmark, pd.DataFrame, pd.DataFrame]:
    targets = pd.DataFrame({"val_loss": [5.0, 4.0, 3.0, 2.5, 2.0]}, index=pd.Index(list(CONFIGS), name="arch"))
    bench = Benchmark("tiny-test", CONFIGS, targets, "val_loss", "minimize", space=SPACE)
    out = tmp_path_factory.mktemp("extract")
    per_arch = extract_benchmark(bench, SETTINGS, out_dir=out, device="cpu", progress=False)
    return bench, per_arch, pd.read_parquet(out / "per_layer.parquet")


def test_per_arch_scores_equal_full_extraction(extracted: tuple[Benchmark, pd.DataFrame, pd.DataFrame]) -> None:
    bench, per_arch, _ = extracted
    proxy = per_arch_proxy()
    expected = proxy.evaluate(bench.table(per_arch))
    got = Scorer(proxy, device="cpu").score_configs(SPACE, list(CONFIGS.values()), SETTINGS)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert len(set(np.round(got, 6))) == 5


def test_per_layer_scores_equal_full_extraction(extracted: tuple[Benchmark, pd.DataFrame, pd.DataFrame]) -> None:
    bench, _, per_layer = extracted
    proxy = per_layer_proxy()
    expected = proxy.evaluate(bench.table(per_layer, layer_col="layer"))
    got = Scorer(proxy, device="cpu").score_configs(SPACE, list(CONFIGS.values()), SETTINGS)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_single_model_call_matches_hand_formula() -> None:
    torch.manual_seed(0)
    model = SPACE.build(CONFIGS["b"])
    batch = make_batch(SPACE.vocab_size(CONFIGS["b"]), 2, 16, seed=1)
    scorer = Scorer(Proxy(T("add", "mul", 2.0, 0, 1.0, names=("weight.abs.mean",))), device="cpu")
    by_hand = []
    for block in model.transformer.h:
        matrices = [p for p in block.parameters() if p.dim() >= 2]
        by_hand.append(torch.cat([p.detach().abs().flatten() for p in matrices]).mean().item())
    assert scorer(model, batch) == pytest.approx(2 * np.mean(by_hand) + 1, rel=1e-6)


def test_only_needed_hooks_and_no_backward_for_weight_statistics() -> None:
    torch.manual_seed(0)
    model = SPACE.build(CONFIGS["a"])
    batch = make_batch(SPACE.vocab_size(CONFIGS["a"]), 2, 16, seed=1)
    act = model.transformer.h[0].mlp.act
    seen: dict[str, int] = {"hooks": -1, "backward": 0}

    def count_hooks(module: torch.nn.Module, args: object, output: object) -> None:
        seen["hooks"] = len(module._forward_hooks) - 1  # minus this counting hook

    act.register_forward_hook(count_hooks)
    model.lm_head.weight.register_hook(lambda g: seen.__setitem__("backward", seen["backward"] + 1))
    Scorer(Proxy(S("weight.abs.mean")), device="cpu")(model, batch)
    assert seen == {"hooks": 0, "backward": 0}
    Scorer(Proxy(T("mul", 0, 1, names=("act.abs.mean", "grad.abs.mean"))), device="cpu")(model, batch)
    assert seen == {"hooks": 1, "backward": 1}
    assert len(act._forward_hooks) == 1  # the scorer removed its hook


def test_failed_architecture_scores_nan() -> None:
    bad = {"n_layer": 1, "n_embd": 40, "n_head": 2, "n_inner": 40}
    scores = Scorer(Proxy(S("weight.abs.mean")), device="cpu").score_configs(SPACE, [bad, CONFIGS["a"]], SETTINGS)
    assert math.isnan(scores[0]) and math.isfinite(scores[1])


def test_scorer_errors(tmp_path: Path) -> None:
    with pytest.raises(ScorerError, match="proxy feature 'grad.cube.mean' is neither a classic proxy nor a statistic"):
        Scorer(Proxy(S("grad.cube.mean")), device="cpu")
    with pytest.raises(ScorerError, match="per-layer proxy reads per-architecture value"):
        Scorer(Proxy(T("mul", 0, 1, names=("snip", "grad.abs.mean")), "mean"), device="cpu")
    path = per_arch_proxy().save(tmp_path / "proxy.json")
    assert Scorer(path, device="cpu").proxy.features == ("act.identity.std", "grad.sqr.mean", "snip", "weight.abs.mean")


def test_score_command_on_benchmark_and_config_files(tmp_path: Path) -> None:
    proxy = Proxy(S("weight.abs.mean")).save(tmp_path / "proxy.json")
    archs = SPACE.load(None).archs[:3]
    common = ["--batch-size", "2", "--seq-len", "16", "--device", "cpu"]
    out = tmp_path / "scores.csv"
    args = ["score", str(proxy), "--benchmark", "tiny-gpt2", "--archs", ",".join(archs), "--out", str(out)]
    result = CliRunner().invoke(main, args + common)
    assert result.exit_code == 0, result.output
    assert "3 scored architectures: spearman " in result.output
    assert "vs val_loss (target negated: lower is better)" in result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["rank", "arch", "score", "val_loss"] and sorted(frame["arch"]) == sorted(archs)
    assert list(frame["score"]) == sorted(frame["score"], reverse=True) and list(frame["rank"]) == [1, 2, 3]
    config = tmp_path / "mine.json"
    config.write_text(json.dumps(CONFIGS["a"]), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["score", str(proxy), "--benchmark", "tiny-gpt2", "--config", str(config)] + common
    )
    assert result.exit_code == 0, result.output
    torch.manual_seed(0)
    expected = Scorer(proxy, device="cpu")(SPACE.build(CONFIGS["a"]), make_batch(2048, 2, 16, seed=0))
    assert f"1 mine {expected:.6f}" in " ".join(result.output.split())


def test_score_rows_of_a_table_and_a_front_member(tmp_path: Path) -> None:
    names = ("synflow", "jacov")
    proxy = Proxy(T("add", 0, 1, names=names), target="val_accuracy")
    run = tmp_path / "run"
    proxy.save(run / "proxy.json")
    members = [T(0, names=names).to_json(), T("add", 0, 1, names=names).to_json()]
    (run / "front.json").write_text(json.dumps({"candidates": [{"tree": t} for t in members]}))
    frame = pd.DataFrame({"arch": list("abcdef"), "synflow": [1.0, 5, 3, 2, 6, 4], "jacov": [0.0] * 6})
    frame["acc"] = frame["synflow"] * 2 + 1
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = CliRunner().invoke(main, ["score", str(run), "--member", "0", "--table", str(tmp_path / "t.csv"),
                                       "--target", "acc"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "proxy: synflow"
    assert "6 scored architectures: spearman 1.0000, kendall 1.0000 vs acc" in result.output
    result = CliRunner().invoke(main, ["score", str(run), "--member", "5", "--table", str(tmp_path / "t.csv")])
    assert result.output.startswith("Error: member 5 is not in the front of ")
    result = CliRunner().invoke(main, ["score", str(run)])
    assert result.output == "Error: give exactly one of --table, --config FILE... or --benchmark NAME\n"


def test_score_command_unknown_arch(tmp_path: Path) -> None:
    proxy = Proxy(S("weight.abs.mean")).save(tmp_path / "proxy.json")
    result = CliRunner().invoke(main, ["score", str(proxy), "--benchmark", "tiny-gpt2", "--archs", "nope"])
    assert result.exit_code == 1
    assert result.output == "Error: architecture(s) not in tiny-gpt2: nope\n"


def test_quantile_terminals_score_like_full_extraction(extracted: tuple[Benchmark, pd.DataFrame, pd.DataFrame]) -> None:
    """A proxy over q(x) terminals computes the raw statistics and reads them through the stored training CDF, per
    architecture and per layer alike."""
    from lpzero_sr.quantile import fit_quantiles

    bench, per_arch, per_layer = extracted
    for table, names, aggregation in (
        (bench.table(per_arch), ("snip", "grad.sqr.mean"), None),
        (bench.table(per_layer, layer_col="layer"), ("head.abs.mean", "weight*grad.abs.l1"), "sum"),
    ):
        quantiles = fit_quantiles(table.with_features(list(names)), "quantile")
        formula = T("sub", "square", 0, 1, names=tuple(f"q({n})" for n in names))
        proxy = Proxy(formula, aggregation, quantiles=quantiles)
        assert proxy.features == tuple(sorted(names))
        expected = proxy.evaluate(table)
        got = Scorer(proxy, device="cpu").score_configs(SPACE, list(CONFIGS.values()), SETTINGS)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
        assert len(set(np.round(got, 9))) > 1


def test_a_bagged_proxy_scores_like_full_extraction(extracted: tuple[Benchmark, pd.DataFrame, pd.DataFrame]) -> None:
    """A rank average of formulas (``fit --bag``) computes only its statistics and reads each formula through its
    stored training CDF."""
    from lpzero_sr.fit.bagging import rank_average
    from lpzero_sr.quantile import fit_quantiles

    bench, per_arch, _ = extracted
    table = bench.table(per_arch)
    quantiles = fit_quantiles(table.with_features(["snip", "grad.sqr.mean", "nwot"]), "quantile")
    parts = [T("sub", "square", 0, 1, names=("q(snip)", "q(grad.sqr.mean)")), T("neg", 0, names=("q(nwot)",))]
    root, bagged = rank_average(parts, table, quantiles)
    proxy = Proxy(root, quantiles=bagged)
    assert proxy.features == ("grad.sqr.mean", "nwot", "snip")
    got = Scorer(proxy, device="cpu").score_configs(SPACE, list(CONFIGS.values()), SETTINGS)
    np.testing.assert_allclose(got, proxy.evaluate(table), rtol=1e-9, atol=1e-12)
