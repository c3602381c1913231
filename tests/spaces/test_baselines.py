"""Baselines: correlation signs, extraction into a resumable cache, the command, the authors' anchors."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from lpzero_sr import baselines as bl
from lpzero_sr.cli import main
from lpzero_sr.spaces import Benchmark, load_benchmark, load_generic


def _bench(direction: str) -> Benchmark:
    targets = pd.DataFrame({"ppl": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]}, index=[f"a{i}" for i in range(6)])
    return Benchmark("toy", {}, targets, "ppl", direction)


def test_minimised_targets_are_negated():
    features = pd.DataFrame(
        {"good": [6, 5, 4, 3, 2, 1.0], "partial": [1, 2, np.nan, 4, 3, 6.0]}, index=[f"a{i}" for i in range(6)]
    )
    table = bl.correlations(_bench("minimize"), features, ["partial", "good"])
    assert table["proxy"].tolist() == ["good", "partial"]
    assert table.loc[0, "spearman"] == pytest.approx(1.0) and table.loc[0, "kendall"] == pytest.approx(1.0)
    kept = [0, 1, 3, 4, 5]
    expected = stats.spearmanr([1, 2, 4, 3, 6], -np.array([10, 20, 40, 50, 60.0])).statistic
    assert table.loc[1, "n"] == len(kept) and table.loc[1, "spearman"] == pytest.approx(expected)
    flipped = bl.correlations(_bench("maximize"), features, ["good"])
    assert flipped.loc[0, "spearman"] == pytest.approx(-1.0)


def test_extraction_is_cached_and_resumed(tmp_path):
    configs = tmp_path / "configs.jsonl"
    rows = [
        {
            "arch": f"m{i}",
            "config": {
                "model_type": "gpt2",
                "vocab_size": 50,
                "n_positions": 16,
                "n_head": 2,
                "n_layer": 1 + i % 2,
                "n_embd": 8 + 8 * i,
            },
        }
        for i in range(5)
    ]
    configs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    scores = tmp_path / "scores.csv"
    scores.write_text("arch,score\n" + "".join(f"m{i},{i * 1.5}\n" for i in range(5)))
    bench = load_generic(configs, scores)
    settings = bl.ExtractSettings(batch_size=2, seq_len=8, seed=0, proxies="single")
    assert settings.tag() == "b2-t8-s0-single"
    per_arch = bl.extract_benchmark(bench, settings, tmp_path / "t", stats="none", device="cpu", progress=False)
    assert sorted(per_arch["arch"]) == [f"m{i}" for i in range(5)]
    again = bl.extract_benchmark(bench, settings, tmp_path / "t", stats="none", device="cpu", progress=False)
    assert len((tmp_path / "t" / "records.jsonl").read_text().splitlines()) == 5
    pd.testing.assert_frame_equal(per_arch, again)
    table = bl.baseline_table(bench, per_arch).set_index("proxy")
    assert "params" in table.index and "synflow" not in table.index  # synflow needs an extra pass
    values = per_arch.set_index("arch").loc[[f"m{i}" for i in range(5)], "params"]
    assert table.loc["params", "spearman"] == pytest.approx(stats.spearmanr(values, np.arange(5) * 1.5).statistic)


def test_command_on_precomputed_tables(shared_data):
    result = CliRunner().invoke(
        main, ["baselines", "nb201-cifar100", "--data-dir", str(shared_data), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.output)).set_index("proxy")
    raw = json.loads((shared_data / "nb_suite_zero" / "zc_nasbench201.json").read_text())["nasbench201"]["cifar100"]
    synflow = [cell["synflow"] for cell in raw.values()]
    accuracy = [cell["val_accuracy"] for cell in raw.values()]
    assert table.loc["synflow", "spearman"] == pytest.approx(stats.spearmanr(synflow, accuracy).statistic)
    assert table.loc["synflow", "kendall"] == pytest.approx(stats.kendalltau(synflow, accuracy).statistic)
    assert len(table) == 11 and (table["n"] == 491).all()


def test_authors_anchors_reproduce_from_their_published_values(shared_data):
    bench = load_benchmark("flexibert", shared_data)
    theirs = bl.published_flexibert(shared_data / "flexibert" / "BERT_results_activation.csv")
    table = bl.correlations(bench, theirs, list(theirs)).set_index("proxy")["spearman"].round(3)
    assert (table["params"], table["head_conf"], table["synaptic_saliency"]) == (0.652, 0.716, 0.281)


def test_markdown():
    frame = pd.DataFrame({"proxy": ["a"], "n": [3], "spearman": [0.12345]})
    assert bl.to_markdown(frame) == "| proxy | n | spearman |\n| --- | --- | --- |\n| a | 3 | 0.123 |"


def test_command_reads_cached_extraction_and_published_values(tmp_path, shared_data):
    """With every sampled architecture already in the cache, the command extracts nothing and correlates."""
    bench = load_benchmark("flexibert", shared_data)
    archs = [bench.archs[i] for i in np.random.default_rng(3).permutation(500)[:6]]
    glue = bench.targets.loc[archs, "glue"]
    keys = bl.benchmark_keys(bench, bl.ExtractSettings(seed=3), archs=archs)  # the command's defaults, --seed 3
    with (tmp_path / "records.jsonl").open("w") as fh:
        for arch in archs:
            values = {"params": float(glue[arch]), "snip": -float(glue[arch]), "grad.sqr.mean": 1.0}
            record = {"arch": arch, "key": keys[arch], "per_arch": values, "per_layer": {"layer": [0]}, "error": None}
            fh.write(json.dumps(record) + "\n")
    args = ["baselines", "flexibert", "--data-dir", str(shared_data), "--limit", "6", "--seed", "3"]
    out = tmp_path / "baselines.csv"
    result = CliRunner().invoke(
        main, [*args, "--tables", str(tmp_path), "--published", "--format", "csv", "--out", out]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    ours = table[table["table"].str.startswith("flexibert: 6 architectures")].set_index("proxy")
    assert ours["spearman"].to_dict() == {"params": 1.0, "snip": -1.0}
    published = pd.read_csv(shared_data / "flexibert" / "BERT_results_activation.csv").set_index("ID")
    theirs = table[table["table"] == "authors' published proxy values vs glue"].set_index("proxy")
    rows = published.loc[[int(a) for a in archs]]
    expected = stats.spearmanr(rows["Head Confidence"], rows["GLUE Score"]).statistic
    assert theirs.loc["head_conf", "n"] == 6 and theirs.loc["head_conf", "spearman"] == pytest.approx(expected)
    agree = table[table["table"].str.startswith("agreement")].set_index("proxy")
    expected = stats.spearmanr(glue[archs], rows["Number of Parameters"]).statistic
    assert agree.loc["params", "spearman"] == pytest.approx(expected)


def test_lpzero_published_rows_are_signed_beside_lpzeros_reported_values():
    """LPZero's GPT-2 proxy rises with perplexity: LPZero reports |rho| 0.98, here -0.980 in the same convention."""
    table = pd.DataFrame(
        {"proxy": ["snip", "lpzero-gpt2", "lpzero-flexibert"], "n": [200] * 3, "spearman": [0.9, -0.98, -0.5],
         "kendall": [0.8, -0.89, -0.4]}
    )  # fmt: skip
    rows = bl.lpzero_published(table, "lts-gpt2").set_index("proxy")
    assert list(rows.index) == ["lpzero-gpt2", "lpzero-flexibert"]
    assert (rows.loc["lpzero-gpt2", "LPZero spearman"], rows.loc["lpzero-gpt2", "LPZero kendall"]) == (-0.980, -0.886)
    assert np.isnan(rows.loc["lpzero-flexibert", "LPZero spearman"])
    assert rows.loc["lpzero-flexibert", "LPZero's note"] == "published for flexibert"
    electra = bl.lpzero_published(table, "flexibert-electra").set_index("proxy")
    assert electra.loc["lpzero-flexibert", "LPZero spearman"] == 0.748
