"""Bad input stops early with one line: every case of the user's list, its exit code and the line it prints.

Run ``LPZERO_SR_BAD_INPUT_TABLE=bad_input.md pytest tests/test_bad_input.py`` to write the table (Markdown).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lpzero_sr.cli import main

ROWS: list[tuple[str, int, str]] = []


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(12)], "x": rng.normal(size=12), "y": rng.normal(size=12)})
    frame["acc"] = frame["x"] + 0.1 * rng.normal(size=12)
    frame.to_csv(root / "ok.csv", index=False)
    frame.to_csv(root / "indexed.csv")  # pandas writes its index as 'Unnamed: 0'
    text = frame.astype({"y": object})
    text.loc[4, "y"] = "oops"
    text.to_csv(root / "text.csv", index=False)
    configs = root / "configs"
    configs.mkdir()
    good = {"model_type": "gpt2", "n_layer": 1, "n_embd": 16, "n_head": 2, "vocab_size": 64, "n_positions": 32}
    (configs / "good.json").write_text(json.dumps(good))
    (configs / "broken.json").write_text('{"model_type": "gpt2", "n_layer": 1,,}')
    (configs / "other.json").write_text(json.dumps({**good, "model_type": "t5"}))
    deep = root / "deep.json"
    deep.write_text('{"a": ' * 10_000 + "1" + "}" * 10_000)
    checkpoint = root / "ckpt"
    checkpoint.mkdir()
    (checkpoint / "deap_state.json").write_bytes(b"not json")
    return {"root": root, "ok": root / "ok.csv", "indexed": root / "indexed.csv", "text": root / "text.csv",
            "configs": configs, "deep": deep, "ckpt": checkpoint}  # fmt: skip


def run(label: str, args: list[str], code: int, line: str, files: dict[str, Path]) -> list[str]:
    out = ["--out", str(files["root"] / "out")] if args[0] in ("fit", "extract") and "--out" not in args else []
    result = CliRunner().invoke(main, [*args, *out])
    lines = [x for x in result.output.splitlines() if x.strip() and not x.startswith("\r")]
    assert result.exit_code == code, result.output
    match = [x for x in lines if x.startswith(line)]
    assert match, result.output
    ROWS.append((label, result.exit_code, match[0]))
    return lines


TINY = ["--generations", "1", "--population", "4", "--jobs", "1", "--train-size", "1.0"]


def test_budgets_and_sizes_are_checked_before_work(files: dict[str, Path]) -> None:
    ok = str(files["ok"])
    for flag, value, bound in [
        ("--generations", "0", "at least 1"), ("--population", "0", "at least 2"), ("--jobs", "0", "at least 1"),
        ("--evaluations", "-5", "at least 1"), ("--time-limit", "0.0", "above 0"), ("--bag", "0", "at least 1"),
    ]:  # fmt: skip
        run(f"fit {flag} {value}", ["fit", ok, "--target", "acc", flag, value], 2,
            f"Error: Invalid value for '{flag}': must be {bound}, got {value}", files)  # fmt: skip
    run("extract --seq-len beyond positions", ["extract", "--benchmark", "tiny-gpt2", "--seq-len", "200"], 1,
        "Error: --seq-len 200 exceeds the 128 positions of architecture ", files)  # fmt: skip
    run("fit --seq-len beyond positions", ["fit", "tiny-gpt2", "--seq-len", "500"], 1,
        "Error: --seq-len 500 exceeds the 128 positions of architecture ", files)  # fmt: skip
    run("extract HF config --seq-len beyond n_positions", ["extract", str(files["configs"]), "--seq-len", "40"], 1,
        "Error: --seq-len 40 exceeds the 32 positions of architecture 'good'", files)  # fmt: skip
    for flag in ("--seq-len", "--batch-size"):
        run(f"extract {flag} 0", ["extract", str(files["configs"]), flag, "0"], 2,
            f"Error: Invalid value for '{flag}': 0 is not in the range x>=1.", files)  # fmt: skip


def test_table_and_name_errors(files: dict[str, Path]) -> None:
    run("fit misspelt benchmark", ["fit", "tiny_gpt2"], 1, "Error: unknown benchmark 'tiny_gpt2'; did you mean", files)
    run("fit non-numeric cell", ["fit", str(files["text"]), "--target", "acc"], 1,
        "Error: column 'y' has a non-numeric value 'oops' in row 4 (arch a4)", files)  # fmt: skip
    blocked = files["ok"] / "run"  # a file where a folder must go (root ignores permission bits)
    run("fit unwritable --out", ["fit", str(files["ok"]), "--target", "acc", "--out", str(blocked)], 1,
        f"Error: --out {blocked} is not writable ({files['ok']} is not a writable directory)", files)  # fmt: skip
    run("export 10,000-level JSON", ["export", str(files["deep"])], 1,
        f"Error: {files['deep']} is nested too deeply to be a proxy file", files)  # fmt: skip
    run("fit broken checkpoint", ["fit", str(files["ok"]), "--target", "acc", "--checkpoint", str(files["ckpt"]),
        *TINY], 1, "Error: cannot read checkpoint ", files)  # fmt: skip


def test_warnings_that_let_the_run_go_on(files: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    run("fit --target without direction", ["fit", str(files["ok"]), "--target", "acc", *TINY], 0,
        "note: assuming --maximize (higher acc is better)", files)  # fmt: skip
    with caplog.at_level("WARNING"):
        run("fit CSV with its index column", ["fit", str(files["indexed"]), "--target", "acc", *TINY], 0,
            "wrote ", files)  # fmt: skip
    assert "ignoring column 'Unnamed: 0': it is a CSV row index" in caplog.text
    ROWS[-1] = ("fit CSV with its index column", 0, "WARNING ignoring column 'Unnamed: 0': it is a CSV row index")


def test_broken_configs_are_error_rows(files: dict[str, Path]) -> None:
    out = files["root"] / "extracted"
    args = ["extract", str(files["configs"]), "--out", str(out), "--stats", "weight.abs.mean", "--proxies", "none",
            "--batch-size", "1", "--seq-len", "8", "--no-progress"]  # fmt: skip
    run("extract with a JSON syntax error and a bad model_type", args, 0, "1 architectures in ", files)
    errors = pd.read_csv(out / "errors.csv").set_index("arch")["error"]
    assert errors["broken"].startswith(f"ConfigError: {files['configs'] / 'broken.json'}: Expecting property name")
    assert errors["other"] == f"ConfigError: {files['configs'] / 'other.json'}: model_type must be one of gpt2, " \
        "llama, qwen2, bert, got 't5'"  # fmt: skip
    ROWS.append(("  errors.csv row", 0, errors["other"]))


def test_write_the_table() -> None:
    lines = ["| bad input | exit | what it prints |", "|---|---|---|"]
    lines += [f"| {label} | {code} | `{line}` |" for label, code, line in ROWS]
    table = "\n".join(lines) + "\n"
    print(table)
    if os.environ.get("LPZERO_SR_BAD_INPUT_TABLE"):
        Path(os.environ["LPZERO_SR_BAD_INPUT_TABLE"]).write_text(table)
    assert len(ROWS) >= 10
