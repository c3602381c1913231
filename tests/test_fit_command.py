"""`lpzero-sr fit` and `lpzero-sr export` end to end on a tiny table; the table resolver."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sympy
import torch
from click.testing import CliRunner

from lpzero_sr.cli import main
from lpzero_sr.commands.fit import parse_train_size
from lpzero_sr.errors import DataError
from lpzero_sr.export.sympy import SYMPY_FUNCTIONS, symbol
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import read_terminals
from lpzero_sr.settings import SettingsError
from lpzero_sr.table_sources import resolve_table


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 40
    frame = pd.DataFrame(
        {
            "arch": [f"c{i}" for i in range(n)],
            "grad.sqr.mean": 10.0 ** rng.uniform(-2, 2, n),
            "weight*grad": rng.uniform(1, 3, n),
            "noise": rng.normal(size=n),
        }
    )
    frame["ppl"] = 100 - 5 * np.log(frame["grad.sqr.mean"]) * frame["weight*grad"]  # lower is better
    path = tmp_path / "stats.csv"
    frame.to_csv(path, index=False)
    return path


def test_fit_then_export(csv, tmp_path) -> None:
    out = tmp_path / "run"
    args = [
        "fit", str(csv), "--target", "ppl", "--minimize", "--train-size", "30", "--generations", "15",
        "--population", "24", "--jobs", "1", "--seed", "1", "--out", str(out), "--engine", "deap", "--additive", "0",
        "--terminals", "quantile",
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "30 training / 10 held-out architectures, 3 features, target ppl (minimize)" in result.output
    assert "Pareto front (train rho; * = chosen by --select best):" in result.output
    assert "best column (" in result.output and "verdict: on held-out rows the chosen proxy " in result.output
    assert "  peer lightgbm " in result.output and "  peer ridge-ranks " in result.output
    proxy = Proxy.load(out / "proxy.json")
    assert proxy.direction == "minimize" and proxy.engine == "deap" and proxy.seed == 1 and proxy.rules == "default"
    assert proxy.metrics["train"]["spearman"] > 0.9 and "heldout" in proxy.metrics
    front = json.loads((out / "front.json").read_text())
    assert front["candidates"] and front["report"]["n_test"] == 10 and front["selection"] == "best"
    chosen = front["candidates"][front["chosen"]]
    assert chosen["tree"] == proxy.formula.to_json() and chosen["heldout"] == proxy.metrics["heldout"]
    predictions = pd.read_csv(out / "predictions.csv")
    assert list(predictions.columns) == ["arch", "split", "score", "target"]
    note = "-ppl (negated: ppl is minimised, so higher is better)"
    assert front["target"] == {"name": "ppl", "direction": "minimize", "predictions_target": note}
    assert proxy.fitted_on == str(csv)
    assert (predictions["split"] == "test").sum() == 10
    history = json.loads((out / "history.json").read_text())
    assert history["stopped"] == "generations" and history["history"]

    latex = CliRunner().invoke(main, ["export", str(out / "proxy.json"), "--format", "latex"])
    assert latex.exit_code == 0 and latex.output.strip() == proxy.latex()
    assert r"\mathrm{" in latex.output
    text = CliRunner().invoke(main, ["export", str(out / "proxy.json"), "--format", "sympy"]).output.strip()
    assert text == proxy.sympy_text() and sympy.parse_expr(text, evaluate=False) == proxy.expr  # statistics as symbols
    src = CliRunner().invoke(main, ["export", str(out / "proxy.json"), "--format", "torch"]).output
    assert src.startswith("import torch")
    as_json = json.loads(CliRunner().invoke(main, ["export", str(out / "proxy.json"), "--format", "json"]).output)
    assert as_json["tree"] == proxy.to_json()["tree"]

    # the chosen proxy's torch callable equals sympy's own evaluation over its terminals (quantile
    # terminals q(x) read through the stored training CDF), and gradients reach the statistics
    frame = pd.read_csv(csv)
    names, terminals = proxy.features, proxy.formula.variables
    assert proxy.quantiles and set(proxy.quantiles) == set(terminals)
    leaves = read_terminals(terminals, proxy.quantiles, {n: frame[n].to_numpy() for n in names})
    reference = sympy.lambdify([symbol(t) for t in terminals], proxy.expr, modules=[SYMPY_FUNCTIONS, "numpy"])
    expected = reference(*(leaves[t] for t in terminals))
    tensors = {n: torch.tensor(frame[n].to_numpy(), requires_grad=True) for n in names}
    out_t = proxy.to_torch()(tensors)
    np.testing.assert_allclose(out_t.detach().numpy(), np.broadcast_to(expected, (len(frame),)), rtol=1e-6, atol=1e-6)
    out_t.sum().backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in tensors.values())


def test_fit_errors_are_one_line(csv) -> None:
    result = CliRunner().invoke(main, ["fit", str(csv), "--target", "acc"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: target column 'acc' not in table; columns: arch, grad.sqr.mean")
    result = CliRunner().invoke(main, ["fit", str(csv)])
    assert result.output == "Error: --target is required for a table file\n"
    result = CliRunner().invoke(main, ["fit", str(csv), "--target", "ppl", "--rules", "strict"])
    assert (
        result.output
        == "Error: unknown rule set 'strict'; use one of default, minmax, no_pruning or a path to a .toml file\n"
    )
    result = CliRunner().invoke(main, ["export", "missing.json"])
    assert result.output == "Error: proxy file not found: missing.json\n"


def test_parse_train_size(csv) -> None:
    assert parse_train_size("100") == 100 and parse_train_size("0.25") == 0.25 and parse_train_size("1.0") is None
    with pytest.raises(SettingsError, match=r"^train_size: must be a count or a fraction, got 'ten'$"):
        parse_train_size("ten")
    result = CliRunner().invoke(main, ["fit", str(csv), "--target", "ppl", "--train-size", "1.5"])
    assert result.exit_code == 2
    assert result.output.endswith("Error: Invalid value for '--train-size': a fraction must lie in (0, 1), got 1.5\n")


def test_unknown_benchmark_suggests_names(tmp_path) -> None:
    result = CliRunner().invoke(main, ["fit", "tiny_gpt2", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: unknown benchmark 'tiny_gpt2'; did you mean tiny-gpt2")
    result = CliRunner().invoke(main, ["fit", "nb201:cifar10", "--out", str(tmp_path / "o")])
    assert result.output.startswith("Error: unknown benchmark 'nb201:cifar10'; did you mean nb201-cifar10")
    result = CliRunner().invoke(main, ["fit", "missing.csv", "--target", "y", "--out", str(tmp_path / "o")])
    assert result.output == "Error: table file not found: missing.csv\n"


def test_resolve_nb201_benchmark(shared_data, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LPZERO_SR_CACHE", str(tmp_path))
    monkeypatch.delenv("LPZERO_SR_DATA", raising=False)
    table = resolve_table("nb201-cifar100")  # the cache is filled from the mirror
    assert len(table.archs) == 491 and table.target == "val_accuracy" and table.direction == "maximize"
    assert len(table.features) == 11 and "synflow" in table.features
    small = resolve_table("nb201-cifar10", shared_data, features=["synflow", "jacov"])
    assert small.features == ("synflow", "jacov")


def test_resolve_missing_data(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("LPZERO_SR_MIRROR", raising=False)
    with pytest.raises(
        DataError, match=r"^NAS-Bench-Suite-Zero file not found: .*empty/nb_suite_zero/zc_nasbench201.json$"
    ):
        resolve_table("nb201-cifar10", tmp_path / "empty")


def test_fit_per_layer_table(tmp_path) -> None:
    rng = np.random.default_rng(2)
    rows = [
        {"arch": f"m{i}", "layer": layer, "act.abs.mean": (i + 1) * (1 + layer), "noise": rng.normal(), "ppl": 50.0 - i}
        for i in range(12)
        for layer in range(3)
    ]
    path = tmp_path / "layers.parquet"
    pd.DataFrame(rows).to_parquet(path)
    args = [
        "fit", str(path), "--target", "ppl", "--minimize", "--layer-col", "layer", "--aggregate", "sum",
        "--train-size", "1.0", "--generations", "3", "--population", "12", "--jobs", "1", "--out", str(tmp_path / "o"),
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "12 training / 0 held-out architectures" in result.output and "held-out (" not in result.output
    proxy = Proxy.load(tmp_path / "o" / "proxy.json")
    assert proxy.aggregation == "sum" and "heldout" not in proxy.metrics
    assert proxy.metrics["train"]["spearman"] == pytest.approx(1.0)  # the summed statistic grows with i


def test_fit_needs_a_table_and_pysr_refuses_several(csv, tmp_path) -> None:
    result = CliRunner().invoke(main, ["fit", "--target", "ppl"])
    assert result.exit_code == 2 and "Missing argument 'TABLES...'" in result.output
    args = ["fit", str(csv), str(csv), "--target", "ppl", "--minimize", "--engine", "pysr", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: Invalid value for '--engine': a fit of several tables runs on the deap engine (or auto), got 'pysr'"
    )


def test_interrupted_fit_writes_its_files_and_exits_130(csv, tmp_path, monkeypatch) -> None:
    from lpzero_sr.search import deap_engine

    calls = {"n": 0}
    step = deap_engine._Search.step

    def interrupt_on_second(self):  # Ctrl-C during the second generation
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return step(self)

    monkeypatch.setattr(deap_engine._Search, "step", interrupt_on_second)
    out = tmp_path / "run"
    args = ["fit", str(csv), "--target", "ppl", "--minimize", "--train-size", "30", "--generations", "50",
            "--population", "24", "--jobs", "1", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 130, result.output
    assert "search stopped early: interrupted (generation 1)" in result.output
    assert (out / "proxy.json").is_file() and json.loads((out / "history.json").read_text())["stopped"] == "interrupted"

    calls["n"] = -3  # a --bag 3 fit of 3 generations per search, cut short in its second search: no third search
    bag = [*args[:-1], str(tmp_path / "bag"), "--generations", "3", "--ensemble", "--bag", "3"]
    result = CliRunner().invoke(main, bag)
    assert result.exit_code == 130, result.output
    front = json.loads((tmp_path / "bag" / "front.json").read_text())
    assert [p.get("seed") for p in front["parts"]] == [0, 1, None]  # the searches that ran, the additive formula
    assert front["selection"] == "rank average of 2 searches' best members and the additive formula"


def test_fit_bag_prints_its_parts_resumes_and_exports_one_formula(csv, tmp_path) -> None:
    out, ckpt = tmp_path / "bag", tmp_path / "ckpt"
    args = [
        "fit", str(csv), "--target", "ppl", "--minimize", "--train-size", "30", "--generations", "6",
        "--population", "24", "--jobs", "1", "--bag", "2", "--out", str(out), "--checkpoint", str(ckpt),
        "--additive", "0",
    ]  # fmt: skip
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "Pareto front (train rho; the first search's):" in first.output
    assert "  first search's formula (" in first.output  # the compact formula, reported beside the ensemble
    assert (
        "rank average of 2 searches' best members, seeds 0..1:" in first.output and "  f2: train rho " in first.output
    )
    proxy = Proxy.load(out / "proxy.json")
    assert proxy.formula.variables == ("q[f1]", "q[f2]") and proxy.text().startswith("q(")
    assert sorted(p.name for p in ckpt.iterdir()) == ["search1", "search2"]
    again = CliRunner().invoke(main, args)  # both searches resume from their finished checkpoints
    assert again.exit_code == 0 and "resuming the search saved in" in again.output
    assert Proxy.load(out / "proxy.json").formula == proxy.formula
    text = CliRunner().invoke(main, ["export", str(out), "--format", "sympy"]).output.strip()
    assert text == proxy.sympy_text() and text.startswith("q(") and "q[f1]" not in text
    assert sympy.parse_expr(text, evaluate=False) == proxy.expr
    two = CliRunner().invoke(main, ["fit", str(csv), str(csv), "--target", "ppl", "--bag", "2"])
    assert two.output == "Error: --bag applies to a fit of one table only: several TABLES run one search\n"
    sub = CliRunner().invoke(main, ["fit", str(csv), str(csv), "--target", "ppl", "--subspace", "0.5"])
    assert sub.output == "Error: --subspace applies to a fit of one table only: several TABLES run one search\n"
    add = CliRunner().invoke(main, ["fit", str(csv), str(csv), "--target", "ppl", "--additive", "0.5"])
    assert add.output == (
        "Error: --additive applies to a fit of one table only: the additive formula is fitted on one table's "
        "training ranks\n"
    )


def test_fit_additive_prints_the_additive_formula_as_the_last_part(csv, tmp_path) -> None:
    args = [
        "fit", str(csv), "--target", "ppl", "--minimize", "--train-size", "30", "--generations", "3",
        "--population", "24", "--jobs", "1", "--additive", "0.5", "--out", str(tmp_path),
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "rank average of 1 search's best member and the additive formula, seeds 0..0:" in result.output
    line = next(row for row in result.output.splitlines() if row.startswith("  f2: "))
    front = json.loads((tmp_path / "front.json").read_text())
    assert line.endswith(f"share 0.5  {front['parts'][1]['text']}") and "*q(" in line
    assert Proxy.load(tmp_path / "proxy.json").formula.variables == ("q[f1]", "q[f2]")
    bad = CliRunner().invoke(main, [*args[:-2], "--additive", "1"])
    assert bad.exit_code == 2 and "Invalid value for '--additive': must be in [0, 1), got 1.0" in bad.output


def test_terminals_must_name_known_modes(csv) -> None:
    result = CliRunner().invoke(main, ["fit", str(csv), "--target", "ppl", "--terminals", "quantile,rank"])
    assert result.exit_code == 2
    assert result.output.endswith(
        "Error: Invalid value for '--terminals': must be one of raw, quantile, both, got 'rank'\n"
    )


def test_the_default_fit_is_one_compact_formula(tmp_path) -> None:
    """A target that is the sum of 12 statistics tempts a search into a long formula: the default fit still saves
    one formula of at most 15 nodes (a quantile of one statistic is one node), 5 statistics and 3 constants, and the
    CLI prints it in one line."""
    rng = np.random.default_rng(3)
    n = 60
    frame = pd.DataFrame({f"s{k}": rng.normal(size=n) for k in range(12)})
    frame.insert(0, "arch", [f"a{i}" for i in range(n)])
    frame["acc"] = frame[[f"s{k}" for k in range(12)]].sum(axis=1)
    frame.to_csv(tmp_path / "wide.csv", index=False)
    out = tmp_path / "run"
    args = [
        "fit",
        str(tmp_path / "wide.csv"),
        "--target",
        "acc",
        "--generations",
        "20",
        "--jobs",
        "1",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    proxy = Proxy.load(out / "proxy.json")
    assert proxy.size <= 15 and len(proxy.features) <= 5 and proxy.constants <= 3, proxy.text()
    assert f"chosen proxy: {proxy.text()}" in result.output.splitlines()
    front = json.loads((out / "front.json").read_text())
    cost = f"search: 20 generations, {front['evaluations']:,} formulas evaluated in {front['seconds']:.1f} s"
    assert cost in result.output.splitlines()
