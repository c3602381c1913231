"""From your own configs and scores to a fit, a score and a report: the documented command path, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from lpzero_sr.cli import main


def test_configs_to_fit_score_and_report(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    rows = []
    for i, (layers, width) in enumerate([(1, 16), (2, 16), (1, 32), (2, 32), (3, 16), (3, 32), (1, 24), (2, 24)]):
        name = f"m{i}"
        config = {"model_type": "gpt2", "n_layer": layers, "n_embd": width, "n_head": 2, "vocab_size": 64,
                  "n_positions": 16}  # fmt: skip
        (configs / f"{name}.json").write_text(json.dumps(config))
        rows.append({"arch": name, "score": layers * width + 0.5 * i})  # "trained" quality grows with size
    pd.DataFrame(rows).to_csv(tmp_path / "scores.csv", index=False)
    tables = tmp_path / "tables"
    common = ["--batch-size", "2", "--seq-len", "8", "--device", "cpu"]
    result = CliRunner().invoke(main, ["extract", str(configs), "--out", str(tables), "--stats", "weight.abs.mean",
                                       "--proxies", "params,snip", "--no-progress", *common])  # fmt: skip
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    args = [
        "fit",
        str(tables),
        "--labels",
        str(tmp_path / "scores.csv"),
        "--target",
        "score",
        "--maximize",
        "--train-size",
        "1.0",
        "--generations",
        "3",
        "--population",
        "12",
        "--jobs",
        "1",
        "--out",
        str(run),
    ]
    result = CliRunner().invoke(main, args)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "8 training / 0 held-out architectures, 3 features, target score (maximize)" in result.output
    proxy = json.loads((run / "proxy.json").read_text())
    assert proxy["metrics"]["train"]["spearman"] > 0.9  # params ranks these 8 by size
    result = CliRunner().invoke(main, ["score", str(run), "--config", str(configs), *common])
    assert result.exit_code == 0, result.output
    ranked = [m.group(1) for m in re.finditer(r"^\s*\d+\s+(m\d)\s", result.output, re.M)]
    assert sorted(ranked) == [f"m{i}" for i in range(8)]
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert (run / "report.html").is_file() and (run / "report.md").is_file()
    result = CliRunner().invoke(main, ["fit", str(tmp_path), "--labels", str(tmp_path / "scores.csv"),
                                       "--target", "score", "--out", str(tmp_path / "x")])  # fmt: skip
    assert result.output == f"Error: {tmp_path} is not an extraction folder (no per_arch.parquet; " \
        f"run `lpzero-sr extract ... --out {tmp_path}`)\n"  # fmt: skip
    assert np.isfinite(pd.read_csv(run / "predictions.csv")["score"]).all()
