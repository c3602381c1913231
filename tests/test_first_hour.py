"""A newcomer's first hour (issue 25): each stumble of the trial, replayed through the command line.

Every test here reproduces one case of the trial and asserts the answer it now gets: the exit status, the one
``Error:`` line or the warning, and that no file was lost. ``.ci/newcomer`` replays the same cases as shell steps in
a fresh install.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lpzero_sr.cli import main
from lpzero_sr.fsutil import run_lock
from lpzero_sr.nas import ParamsScoring, count_params
from lpzero_sr.spaces import SPACES

README = Path(__file__).resolve().parents[1] / "README.md"
NAS = ["nas", "tiny-gpt2", "--objective", "params", "--within-benchmark", "--population", "4", "--sample", "2"]


def invoke(args: list[str], **kwargs: Any) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def last_line(result: Any) -> str:
    """The last line a command printed (progress bars come before it)."""
    return result.output.strip().splitlines()[-1]


def readme_commands(command: str) -> list[list[str]]:
    """The README's ``lpzero-sr <command> ...`` lines, as argument lists (comments cut)."""
    lines = [line.split("#")[0] for line in README.read_text().splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.strip().startswith(f"lpzero-sr {command} ")]


# ---------------------------------------------------------------------------------------------- 2. nas
def test_every_readme_nas_budget_admits_architectures_of_its_space() -> None:
    nas = [args for args in readme_commands("nas") if "--max-params" in args]
    budgets = [(args[1], int(args[args.index("--max-params") + 1])) for args in nas]
    assert {space for space, _ in budgets} >= {"tiny-gpt2", "flexibert"}
    for space_name, limit in budgets:
        space = SPACES.get(space_name)
        rng = np.random.default_rng(0)
        sizes = [count_params(space, space.sample(rng)) for _ in range(20)]
        assert sum(size <= limit for size in sizes) >= 5, (space_name, limit, sorted(sizes))


def test_a_nas_run_that_scored_nothing_blocks_no_retry(tmp_path: Path) -> None:
    out, whole_space = tmp_path / "nas", [a for a in NAS if a != "--within-benchmark"]
    failed = invoke([*whole_space, "--candidates", "5", "--max-params", "1000", "--out", out])
    assert failed.exit_code == 1 and last_line(failed).startswith("Error: gave up after 250 proposals (250 over the")
    retry = invoke([*whole_space, "--candidates", "5", "--max-params", "300000", "--out", out])
    assert retry.exit_code == 0, retry.output
    assert len((out / "candidates.jsonl").read_text().splitlines()) == 5


class _CtrlCAfter(ParamsScoring):
    """#params, until Ctrl-C arrives while the fourth architecture is scored."""

    calls = 0

    def __call__(self, configs: Any) -> list[float]:
        type(self).calls += len(configs)
        if type(self).calls > 3:
            raise KeyboardInterrupt
        return super().__call__(configs)


def test_ctrl_c_in_nas_exits_130_keeps_each_scored_candidate_and_writes_top_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "nas"
    monkeypatch.setattr("lpzero_sr.nas.ParamsScoring", _CtrlCAfter)
    cut = invoke([*NAS, "--candidates", "12", "--out", out])
    assert cut.exit_code == 130, cut.output
    assert cut.stderr.strip().splitlines()[-1] == (
        f"interrupted: 3 evaluated children kept in {out / 'candidates.jsonl'} and the best in {out / 'top.json'}; "
        "rerun the same command to resume"
    )
    assert len((out / "candidates.jsonl").read_text().splitlines()) == 3
    top = json.loads((out / "top.json").read_text())
    assert top["interrupted"] and top["evaluations"] == 3 and len(top["top"]) == 3
    monkeypatch.undo()
    resumed = invoke([*NAS, "--candidates", "12", "--out", out])
    assert resumed.exit_code == 0 and "3 evaluated children replayed" in resumed.output
    assert json.loads((out / "top.json").read_text())["evaluations"] == 12


def _hold(folder: Path, held: Any, release: Any) -> None:
    with run_lock(folder, "nas run"):
        held.set()
        release.wait(60)


def test_a_second_nas_run_on_the_same_folder_is_refused_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "nas"
    ctx = multiprocessing.get_context("fork")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(out, held, release))  # another process: a lock is per process
    holder.start()
    try:
        assert held.wait(30)
        second = invoke([*NAS, "--candidates", "5", "--out", out])
    finally:
        release.set()
        holder.join(30)
    assert second.exit_code == 1
    assert re.fullmatch(
        rf"Error: {re.escape(str(out))} is in use by pid \d+ on \S+: .*; wait for that nas run to end or choose "
        r"another folder",
        last_line(second),
    )
    assert not (out / "candidates.jsonl").exists()


def test_a_broken_middle_line_of_the_nas_journal_is_one_error_line(tmp_path: Path) -> None:
    out = tmp_path / "nas"
    assert invoke([*NAS, "--candidates", "12", "--out", out]).exit_code == 0
    journal = out / "candidates.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join([*lines[:4], "{garbage\n", *lines[5:]]))
    broken = invoke([*NAS, "--candidates", "12", "--out", out])
    assert broken.exit_code == 1 and last_line(broken).startswith(f"Error: {journal} line 5 is broken (")
    assert journal.read_text().count("\n") == 12  # nothing rewritten


# ---------------------------------------------------------------------------------------------- 3. extraction time
def test_an_extraction_says_what_a_time_limit_covers_and_estimates_its_time_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LPZERO_SR_CACHE", str(tmp_path / "cache"))
    labels = _labels(tmp_path, 5)
    # every statistic is extracted (and cached); the search reads three of them, for 0.3 s
    args = ["fit", "tiny-gpt2", "--labels", labels, "--time-limit", "0.3", "--population", "8", "--jobs", "1",
            "--train-size", "1.0", "--batch-size", "1", "--seq-len", "8", "--out", tmp_path / "run",
            "--features", "params,grad.sqr.mean,act.abs.std"]  # fmt: skip
    with caplog.at_level("WARNING"):
        first = invoke(args)
    assert first.exit_code == 0, first.output
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("extracting")]
    assert lines[0] == (
        "extracting 5 model(s) not in the cache; a time limit covers the search, not this extraction (it is cached: "
        "a rerun starts at once); timing the first 3"
    )
    estimate = r"extracting 5 model\(s\) at about \S+ s each \(the median of the first 3\): about \d+ s in all"
    assert len(lines) == 2 and re.fullmatch(estimate, lines[1])
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert invoke(args).exit_code == 0  # all cached: nothing to announce
    assert not [r for r in caplog.records if r.getMessage().startswith("extracting")]


def _labels(folder: Path, n: int) -> Path:
    """A ``labels.jsonl`` of ``lpzero-sr label tiny-gpt2`` with the first ``n`` shipped architectures."""
    from lpzero_sr.spaces.tiny_gpt2 import labels_path

    out = folder / "labels"
    out.mkdir()
    lines = labels_path().read_text().splitlines(keepends=True)
    chosen, seen = [], set()
    for line in lines:
        arch = json.loads(line)["arch"]
        if arch in seen or len(seen) < n:
            seen.add(arch)
            chosen.append(line)
    (out / "labels.jsonl").write_text("".join(chosen))
    (out / "meta.json").write_text(json.dumps({"space": "tiny-gpt2", "train_seeds": [0, 1]}))
    return out / "labels.jsonl"


# ---------------------------------------------------------------------------------------------- 10. label -> fit
@pytest.mark.slow
def test_fit_a_registered_space_with_the_labels_of_lpzero_sr_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LPZERO_SR_CACHE", str(tmp_path / "cache"))
    labels = _labels(tmp_path, 12)
    args = ["fit", "tiny-gpt2", "--labels", labels, "--generations", "1", "--population", "8", "--jobs", "1",
            "--train-size", "6", "--batch-size", "1", "--seq-len", "8", "--out", tmp_path / "run"]  # fmt: skip
    result = invoke(args)
    assert result.exit_code == 0, result.output
    assert "6 training / 6 held-out architectures" in result.output and "target val_loss (minimize)" in result.output
    extracted = list((tmp_path / "cache" / "tables" / "tiny-gpt2").glob("labels-*/b1-t8-s0/per_arch.parquet"))
    assert len(extracted) == 1 and len(pd.read_parquet(extracted[0])) == 12
    other = invoke(["fit", "tiny-llama", "--labels", labels, "--out", tmp_path / "other"])
    assert other.exit_code == 1 and last_line(other) == (
        f"Error: {labels} labels the space 'tiny-gpt2' ({labels.parent / 'meta.json'}), not 'tiny-llama': fit "
        "tiny-gpt2 with it"
    )


def test_extract_of_a_labels_jsonl_is_one_error_pointing_at_fit(tmp_path: Path) -> None:
    labels = _labels(tmp_path, 3)
    result = invoke(["extract", labels, "--out", tmp_path / "out"])
    assert result.exit_code == 1
    assert last_line(result) == (
        f"Error: {labels} holds the labels of `lpzero-sr label tiny-gpt2`, not a model config; to fit a proxy to "
        f"them: lpzero-sr fit tiny-gpt2 --labels {labels}"
    )
    stray = tmp_path / "scores.csv"
    stray.write_text("arch,score\na,1\n")
    other = invoke(["extract", stray, "--out", tmp_path / "out"])
    assert other.exit_code == 1 and last_line(other) == f"Error: {stray} is not a config file (JSON or YAML: .json, " \
        ".yaml, .yml)"  # fmt: skip


# ---------------------------------------------------------------------------------------------- 4.-6. tables
def _csv(folder: Path, name: str, **columns: Any) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(40)], "x": rng.normal(size=40), "z": rng.normal(size=40)})
    frame["glue"] = frame["x"] + 0.5 * rng.normal(size=40)
    path = folder / name
    frame.assign(**{k: v(frame) for k, v in columns.items()}).to_csv(path, index=False)
    return path


FIT = ["--generations", "2", "--population", "16", "--jobs", "1", "--train-size", "20", "--additive", "0"]


def test_a_nonfinite_feature_column_is_left_out_and_costs_no_architecture(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nwot = lambda f: np.where(np.arange(len(f)) % 20 == 3, -np.inf, f["z"])  # noqa: E731 - 2 of 40 rows
    table = _csv(tmp_path, "t.csv", nwot=nwot, empty=lambda f: np.nan)
    with caplog.at_level("WARNING"):
        result = invoke(
            ["fit", table, "--target", "glue", "--maximize", "--drop-invalid", *FIT, "--out", tmp_path / "r"]
        )
    assert result.exit_code == 0, result.output
    assert "20 training / 20 held-out architectures, 2 features" in result.output
    assert "ignoring 2 column(s) with NaN/inf values: nwot, empty" in caplog.text


def test_a_column_with_the_targets_ranking_is_left_out_as_a_leak(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    table = _csv(tmp_path, "t.csv", glue_copy=lambda f: 2 * f["glue"] + 1, model_id=lambda f: f["glue"].rank())
    with caplog.at_level("WARNING"):
        result = invoke(["fit", table, "--target", "glue", "--maximize", *FIT, "--out", tmp_path / "r"])
    assert result.exit_code == 0, result.output
    for column in ("glue_copy", "model_id"):
        assert f"ignoring column '{column}': it is the ranking of the target 'glue'" in caplog.text
    assert set(json.loads((tmp_path / "r" / "proxy.json").read_text())["features"]) <= {"x", "z"}


def test_a_table_file_without_rows_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "header.csv").write_text("arch,x,glue\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "index.csv").write_text('""\n0\n1\n2\n')
    pd.DataFrame({"arch": ["a"], "x": [1.0], "glue": [1.0]}).iloc[:0].to_parquet(tmp_path / "zero.parquet")
    for name in ("header.csv", "empty.csv", "index.csv", "zero.parquet"):
        result = invoke(["fit", tmp_path / name, "--target", "glue", "--out", tmp_path / "r"])
        assert result.exit_code == 1 and last_line(result).startswith(f"Error: {tmp_path / name} has no rows")
        assert "Traceback" not in result.output


# ---------------------------------------------------------------------------------------------- 7.-9. configs
GPT2 = {"model_type": "gpt2", "n_layer": 1, "n_embd": 16, "n_head": 2, "vocab_size": 64, "n_positions": 32}
BERT = {"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 16, "num_attention_heads": 2,
        "intermediate_size": 32, "vocab_size": 64, "max_position_embeddings": 32}  # fmt: skip
SMALL = ["--stats", "weight.abs.mean,act.abs.mean", "--proxies", "params", "--batch-size", "1", "--seq-len", "8"]


def _configs(folder: Path, **configs: Any) -> Path:
    folder.mkdir()
    for name, config in configs.items():
        (folder / f"{name}.json").write_text(config if isinstance(config, str) else json.dumps(config))
    return folder


def test_an_extraction_that_extracted_nothing_exits_1_and_echoes_its_error_rows(tmp_path: Path) -> None:
    configs = _configs(tmp_path / "configs", broken='{"model_type": "gpt2",,}', other={**GPT2, "model_type": "t5"})
    out = tmp_path / "out"
    result = invoke(["extract", configs, "--out", out, *SMALL, "--no-progress"])
    assert result.exit_code == 1
    assert f"  broken: ConfigError: {configs / 'broken.json'}: Expecting property name" in result.stderr
    assert f"  other: ConfigError: {configs / 'other.json'}: model_type must be one of" in result.stderr
    assert last_line(result) == f"Error: no architecture was extracted: all 2 failed ({out / 'errors.csv'})"


def test_score_config_scores_the_good_configs_and_lists_the_bad_ones(tmp_path: Path) -> None:
    from lpzero_sr.formula import Node
    from lpzero_sr.proxy import Proxy

    configs = _configs(tmp_path / "configs", good=GPT2, wide={**GPT2, "n_embd": 32}, broken="{nope")
    proxy = Proxy(Node(var="weight.abs.mean")).save(tmp_path / "proxy.json")
    result = invoke(["score", proxy, "--config", configs, "--batch-size", "1", "--seq-len", "8", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    ranking = [line.split()[1] for line in result.stdout.splitlines() if re.match(r"\s*\d+ ", line)]
    assert sorted(ranking) == ["good", "wide"]
    assert "1 config file(s) could not be read and were not scored:" in result.stderr
    assert f"  broken: {configs / 'broken.json'}: " in result.stderr


def test_a_folder_mixing_encoders_and_decoders_is_extracted_and_records_each_family(tmp_path: Path) -> None:
    configs = _configs(tmp_path / "configs", dec=GPT2, enc=BERT)
    out = tmp_path / "out"
    result = invoke(["extract", configs, "--out", out, *SMALL, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "note: the configs mix model families (1 bert, 1 gpt2)" in result.output
    frame = pd.read_parquet(out / "per_arch.parquet").set_index("arch")
    assert frame["model_type"].to_dict() == {"dec": "gpt2", "enc": "bert"} and (frame["params"] > 0).all()
    assert set(pd.read_parquet(out / "per_layer.parquet")["model_type"]) == {"gpt2", "bert"}


# ---------------------------------------------------------------------------------------------- 11. messages
def test_a_proxy_file_without_a_cdf_for_a_quantile_terminal_says_so(tmp_path: Path) -> None:
    from lpzero_sr.formula import Node
    from lpzero_sr.proxy import Proxy
    from lpzero_sr.quantile import Quantile

    proxy = Proxy(Node(var="q(x)"), quantiles={"q(x)": Quantile.fit("x", np.arange(5.0))})
    data = proxy.to_json()
    data["quantiles"] = {}
    path = tmp_path / "proxy.json"
    path.write_text(json.dumps(data))
    table = _csv(tmp_path, "t.csv")
    result = invoke(["score", path, "--table", table, "--target", "glue"])
    assert result.exit_code == 1 and last_line(result) == (
        "Error: proxy file has no training CDF for q(x) (its 'quantiles' lacks them): the file is incomplete; refit, "
        "or restore the file"
    )


def test_a_proxy_fitted_on_one_space_warns_when_it_scores_another(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from lpzero_sr.formula import Node
    from lpzero_sr.proxy import Proxy
    from lpzero_sr.quantile import Quantile

    cdf = {"q(weight.abs.mean)": Quantile.fit("weight.abs.mean", np.linspace(0.01, 0.03, 5))}
    path = Proxy(Node(var="q(weight.abs.mean)"), quantiles=cdf, fitted_on="tiny-gpt2").save(tmp_path / "proxy.json")
    args = ["--candidates", "1", "--population", "1", "--sample", "1", "--batch-size", "1", "--seq-len", "8",
            "--device", "cpu"]  # fmt: skip
    with caplog.at_level("WARNING"):
        assert invoke(["nas", "tiny-llama", "--proxy", path, *args]).exit_code == 0
    assert (
        "the proxy was fitted on tiny-gpt2, not on tiny-llama; its q(x) terminals read the training CDFs of "
        "tiny-gpt2's architectures (clamped outside their range), not quantiles among tiny-llama's: refit on "
        "tiny-llama for a proxy calibrated there"
    ) in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert invoke(["nas", "tiny-gpt2", "--proxy", path, *args]).exit_code == 0
    assert "the proxy was fitted on" not in caplog.text


def test_each_seed_option_says_which_stream_it_seeds_and_candidates_says_what_it_counts() -> None:
    nas, label = invoke(["nas", "--help"]).output, invoke(["label", "--help"]).output
    flat = lambda text: " ".join(text.split())  # noqa: E731 - click wraps help text
    assert "Seed of the search's own random stream: initial samples, tournaments and mutations" in flat(nas)
    assert "Children evaluated (the budget" in flat(nas) and "distinct architectures scored may be fewer" in flat(nas)
    assert "Seed of the architecture sample only" in flat(label)


def test_data_list_prints_each_files_sha256() -> None:
    from lpzero_sr.spaces.data import datasets

    spec = datasets()["flexibert"]
    output = invoke(["data", "list"]).output
    for file in spec.files:
        assert f"  {file.sha256}  {spec.folder}/{file.path}" in output


def test_an_offline_download_names_data_dir_and_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LPZERO_SR_MIRROR", raising=False)
    monkeypatch.setattr("lpzero_sr.spaces.data.http_get", _offline)
    result = invoke(["data", "download", "flexibert", "--data-dir", tmp_path])
    assert result.exit_code == 1
    assert last_line(result).startswith("Error: cannot download https://")
    assert "offline? give --data-dir (or set $LPZERO_SR_DATA)" in last_line(result)
    assert "`lpzero-sr data download NAME --mirror DIR` (or set $LPZERO_SR_MIRROR)" in last_line(result)


def _offline(url: str) -> bytes:
    from lpzero_sr.errors import DataError

    raise DataError(f"cannot download {url}: [Errno -3] Temporary failure in name resolution")


# ---------------------------------------------------------------------------------------------- reliability
def test_a_proxy_constant_of_more_than_4300_digits_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "proxy.json"
    path.write_text('{"format": "lpzero-sr-proxy/2", "tree": {"const": 1' + "0" * 5000 + "}}")
    result = invoke(["score", path, "--table", _csv(tmp_path, "t.csv"), "--target", "glue"])
    assert result.exit_code == 1 and last_line(result) == (
        f"Error: {path} holds a number that cannot be read: Exceeds the limit (4300 digits) for integer string "
        "conversion: value has 5001 digits"
    )


# ---------------------------------------------------------------------------------------------- 2. Ctrl-C everywhere
def _ctrl_c(*args: Any, **kwargs: Any) -> Any:
    raise KeyboardInterrupt


def test_ctrl_c_in_extract_exits_130_and_says_which_records_were_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lpzero_sr.spaces.generic import GenericSpace

    configs = _configs(tmp_path / "configs", a=GPT2, b={**GPT2, "n_embd": 32})
    build, calls = GenericSpace.build, []

    def second_is_interrupted(self: GenericSpace, config: dict[str, Any]) -> Any:
        calls.append(config)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return build(self, config)

    monkeypatch.setattr(GenericSpace, "build", second_is_interrupted)
    out = tmp_path / "out"
    result = invoke(["extract", configs, "--out", out, *SMALL, "--no-progress"])
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines()[-1] == (
        f"interrupted: 1 architecture record(s) kept in {out / 'records.jsonl'} (of 2 asked); rerun the same command "
        "to extract the rest"
    )
    monkeypatch.undo()
    assert invoke(["extract", configs, "--out", out, *SMALL, "--no-progress"]).exit_code == 0
    assert len((out / "records.jsonl").read_text().splitlines()) == 2  # the rerun extracted only the second


@pytest.mark.parametrize(
    ("args", "patch", "kept"),
    [
        (["label", "tiny-llama", "--n", "2", "--out", "{tmp}/labels"], "lpzero_sr.labeling.label_space",
         "0 finished (architecture, training seed) run(s) kept in {tmp}/labels/labels.jsonl; rerun the same command "
         "to resume"),
        (["baselines", "tiny-gpt2", "--tables", "{tmp}/tables"], "lpzero_sr.baselines.extract_benchmark",
         "0 architecture record(s) kept in {tmp}/tables/records.jsonl; rerun the same command to go on from there"),
        (["score", "{tmp}/proxy.json", "--table", "tiny-gpt2"], "lpzero_sr.table_sources.resolve_table",
         "nothing was written (the ranking is printed, and written with --out, at the end)"),
        (["analyze", "tiny-gpt2", "--out", "{tmp}/analysis"], "lpzero_sr.table_sources.resolve_table",
         "nothing was written (figures and summary.md are written at the end)"),
        (["data", "download", "flexibert", "--data-dir", "{tmp}/data"], "lpzero_sr.spaces.data.ensure_dataset",
         "files fetched and verified so far are kept in {tmp}/data; rerun to fetch the rest"),
        (["export", "{tmp}/proxy.json"], "lpzero_sr.proxy.Proxy.load", ""),
    ],
)  # fmt: skip
def test_ctrl_c_in_every_command_exits_130_with_a_line_saying_what_was_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], patch: str, kept: str
) -> None:
    from lpzero_sr.formula import Node
    from lpzero_sr.proxy import Proxy

    Proxy(Node(var="params")).save(tmp_path / "proxy.json")
    monkeypatch.setattr(patch, _ctrl_c)
    result = invoke([a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 130
    line = result.stderr.strip().splitlines()[-1]
    assert line == (f"interrupted: {kept.format(tmp=tmp_path)}" if kept else "interrupted")


# ---------------------------------------------------------------------------------------------- 12. benchmarks
@pytest.mark.slow
def test_scorer_overhead_runs_where_it_crashed_on_its_default_formula() -> None:
    import subprocess
    import sys

    script = README.parent / "benchmarks" / "scorer_overhead.py"
    done = subprocess.run([sys.executable, str(script), "--smoke"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("proxy: log|grad.sqr.mean|*act.abs.std + weight.abs.mean")
    assert re.search(r"ratio \d+\.\d{3}  \(goal <= 1\.2\)", done.stdout)
