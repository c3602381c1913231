"""extract_model on every family; extract_space with resume, error rows, NaN and OOM retry; the CLI command."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import SEQ, VOCAB, TinyNative, hf_model, native

import lpzero_sr
from lpzero_sr.cli import main
from lpzero_sr.errors import LpzeroError
from lpzero_sr.features import bank
from lpzero_sr.features.cache import extract_key
from lpzero_sr.features.extract import ExtractError, extract_columns, extract_model, extract_space, select_proxies
from lpzero_sr.features.proxies import PROXIES


@pytest.mark.parametrize("family", ["bert", "gpt2", "llama"])
def test_extract_model_all_columns(family: str) -> None:
    model = hf_model(family)
    ids = torch.randint(0, 100, (2, 8), generator=torch.Generator().manual_seed(0))
    result = extract_model(model, ids, stats="all", proxies="single", device="cpu")
    assert result.errors == {}
    assert list(result.per_layer["layer"]) == [0, 1]
    assert len(result.per_layer.columns) == 1 + len(bank.column_names()) == 1 + 6 * 13 * 4
    single = [p.name for p in select_proxies("single")]
    assert len(result.per_arch) == len(bank.column_names()) + len(single) == 312 + 19
    for name in ("grad.sqr.mean", "softmax.identity.mean", "act.log_abs.std", "weight*grad.abs.l1"):
        assert result.per_arch[name] == pytest.approx(result.per_layer[name].mean())
    # each of the T = 8 attention rows sums to one over 8 keys (masked keys of decoders hold zeros): mean 1/8
    assert result.per_arch["softmax.identity.mean"] == pytest.approx(1 / 8)
    assert sum(len(m._forward_hooks) for m in model.modules()) == 0
    assert all(p.grad is None for p in model.parameters())


def test_extract_columns_computes_only_what_is_named(ids: torch.Tensor) -> None:
    model = native()
    result = extract_columns(model, ids, ["act.identity.mean", "attn_conf", "weight*grad.abs.l1"], device="cpu")
    assert set(result.per_arch) == {"act.identity.mean", "attn_conf", "weight*grad.abs.l1"}
    assert set(result.timings) == {"pass", "stats", "attn_conf"}
    full = extract_model(native(), ids, stats="all", proxies="all", device="cpu")
    for name in result.per_arch:
        assert result.per_arch[name] == pytest.approx(full.per_arch[name])
    forward_only = extract_columns(model, ids, ["act.identity.mean", "softmax.exp.std"], device="cpu")
    assert list(forward_only.per_layer.columns) == ["layer", "act.identity.mean", "softmax.exp.std"]


def test_bad_selection_is_one_line(ids: torch.Tensor) -> None:
    with pytest.raises(ExtractError, match=r"^unknown proxy 'snipp'; known: act_distance, attn_conf"):
        extract_model(native(), ids, proxies=["snipp"], device="cpu")
    assert len(PROXIES) == 24


class OutOfMemoryOver2(TinyNative):
    """Raises CUDA's out-of-memory error for batches of more than two sequences (what a too-large batch does)."""

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        if input_ids.shape[0] > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().forward(input_ids)


def _build(arch: str) -> torch.nn.Module:
    if arch == "broken":
        raise ValueError("hidden size 30 is not a multiple of 4 heads")
    torch.manual_seed(0)
    model = OutOfMemoryOver2() if arch == "big" else TinyNative()
    if arch == "nan":
        with torch.no_grad():
            model.head.weight.fill_(float("nan"))
    return model


def test_extract_space_resume_errors_and_oom(tmp_path: Path) -> None:
    built: list[str] = []

    def build(arch: str) -> torch.nn.Module:
        built.append(arch)
        return _build(arch)

    def batch(arch: str, model: torch.nn.Module) -> torch.Tensor:
        return torch.randint(0, VOCAB, (8, SEQ), generator=torch.Generator().manual_seed(0))

    stats, proxies = ["grad.abs.mean", "act.identity.mean"], ["snip", "params"]
    frame = extract_space(["a", "broken", "nan", "big"], build, batch, tmp_path, stats, proxies, "cpu", progress=False)
    assert list(frame["arch"]) == ["a", "big"]
    assert frame.set_index("arch").loc["a", "params"] == 1524
    errors = pd.read_csv(tmp_path / "errors.csv", keep_default_na=False)
    assert errors.to_dict("records") == [
        {"arch": "broken", "error": "ValueError: hidden size 30 is not a multiple of 4 heads"},
        {"arch": "nan", "error": "ExtractError: zero-cost loss is nan"},
    ]
    records = [json.loads(line) for line in (tmp_path / "records.jsonl").read_text().splitlines()]
    assert [r.get("batch_size") for r in records] == [8, None, None, 2]  # "big" retried with 4, then 2 sequences
    assert all(len(r["key"]) == 64 and r["seconds"] > 0 for r in records)
    layers = pd.read_parquet(tmp_path / "per_layer.parquet")
    assert layers.shape == (4, 4) and list(layers.columns) == ["arch", "layer", *stats]
    a = extract_model(_build("a"), batch("a", None), stats=stats, proxies=proxies, device="cpu").per_arch
    assert frame.set_index("arch").loc["a", "snip"] == pytest.approx(a["snip"])
    built.clear()
    again = extract_space(
        ["a", "broken", "nan", "big", "c"], build, batch, tmp_path, stats, proxies, "cpu", progress=False
    )
    assert built == ["broken", "nan", "c"] and list(again["arch"]) == ["a", "big", "c"]  # error rows are retried
    assert pd.read_parquet(tmp_path / "per_arch.parquet").shape == (3, 5)


def test_cli_extract_from_config_files(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    gpt2 = {"model_type": "gpt2", "n_layer": 2, "n_embd": 32, "n_head": 4, "vocab_size": 100}
    (configs / "g.json").write_text(json.dumps(gpt2))
    (configs / "q.yaml").write_text(
        "model_type: qwen2\nnum_hidden_layers: 3\nhidden_size: 32\nnum_attention_heads: 4\n"
        "num_key_value_heads: 2\nintermediate_size: 64\nvocab_size: 100\n"
    )
    out = tmp_path / "out"
    args = ["extract", str(configs), "--out", str(out), "--batch-size", "2", "--seq-len", "8", "--no-progress"]
    result = CliRunner().invoke(main, [*args, "--stats", "weight.sqr.mean,head.abs.std", "--proxies", "params"])
    assert result.exit_code == 0, result.output
    assert f"2 architectures in {out / 'per_arch.parquet'}, 0 errors in errors.csv" in result.output
    frame = pd.read_parquet(out / "per_arch.parquet").set_index("arch")
    assert list(frame.columns) == ["model_type", "weight.sqr.mean", "head.abs.std", "params"]
    assert frame["model_type"].to_dict() == {"g": "gpt2", "q": "qwen2"}
    assert frame.loc["g", "params"] == sum(p.numel() for p in hf_model("gpt2").parameters())
    assert len(pd.read_parquet(out / "per_layer.parquet").query("arch == 'q'")) == 3
    bad = CliRunner().invoke(main, ["extract", "--out", str(out)])
    assert bad.exit_code == 1 and "Error: give config files/directories or --benchmark NAME" in bad.output


def test_cli_extract_from_registered_benchmark(tmp_path: Path) -> None:
    args = ["extract", "--benchmark", "tiny-gpt2", "--limit", "2", "--out", str(tmp_path), "--no-progress"]
    options = ["--batch-size", "2", "--seq-len", "8", "--stats", "grad.abs.mean", "--proxies", "params"]
    result = CliRunner().invoke(main, [*args, *options])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(tmp_path / "per_arch.parquet")
    assert len(frame) == 2 and list(frame.columns) == ["arch", "grad.abs.mean", "params"]
    assert (frame["params"] > 0).all() and (frame["grad.abs.mean"] > 0).all()


class Counted:
    """``build_fn``/``batch_fn`` of a one- or two-layer native model per config, recording what was built."""

    def __init__(self, configs: dict[str, dict[str, int]], seq: int = SEQ) -> None:
        self.configs, self.seq, self.built = configs, seq, []

    def build(self, arch: str) -> torch.nn.Module:
        self.built.append(arch)
        model = native()
        model.layers = model.layers[: self.configs[arch]["layers"]]
        return model

    def batch(self, arch: str, model: torch.nn.Module) -> torch.Tensor:
        return torch.randint(0, VOCAB, (2, self.seq), generator=torch.Generator().manual_seed(0))

    def run(self, out: Path, **kwargs: object) -> pd.DataFrame:
        self.built.clear()
        return extract_space(
            list(self.configs),
            self.build,
            self.batch,
            out,
            ["act.identity.mean"],
            ["params"],
            "cpu",
            progress=False,
            configs=self.configs,
            inputs={"seq_len": self.seq},
            **kwargs,
        )


def test_changed_seq_len_or_config_is_recomputed(tmp_path: Path) -> None:
    space = Counted({"a": {"layers": 2}, "b": {"layers": 2}}, seq=6)
    first = space.run(tmp_path).set_index("arch")
    assert space.built == ["a", "b"]
    space.run(tmp_path)
    assert space.built == []
    space.seq = 4  # another sequence length: same ids, other statistics
    shorter = space.run(tmp_path).set_index("arch")
    assert space.built == ["a", "b"]
    fresh = extract_model(space.build("a"), space.batch("a", None), stats=["act.identity.mean"], proxies=[])
    assert shorter.loc["a", "act.identity.mean"] == pytest.approx(fresh.per_arch["act.identity.mean"])
    assert shorter.loc["a", "act.identity.mean"] != pytest.approx(first.loc["a", "act.identity.mean"])
    space.configs["b"] = {"layers": 1}  # an edited config (n_layer 2 -> 1): only that architecture is redone
    edited = space.run(tmp_path).set_index("arch")
    assert space.built == ["b"]
    assert edited.loc["b", "params"] == edited.loc["a", "params"] - (
        4 * (8 * 8 + 8) + 8 * 16 + 16 + 16 * 8 + 8
    )  # one block
    layers = pd.read_parquet(tmp_path / "per_layer.parquet")
    assert layers.groupby("arch").size().to_dict() == {"a": 2, "b": 1}
    space.configs["b"] = {"layers": 2}  # back to the first settings: the old records are current again
    space.seq = 6
    pd.testing.assert_frame_equal(space.run(tmp_path).set_index("arch"), first)
    assert space.built == []


def test_failed_architecture_is_retried_and_the_newest_record_wins(tmp_path: Path) -> None:
    space = Counted({"a": {"layers": 2}, "b": {"layers": 1}})
    build = space.build
    space.build = lambda arch: (_ for _ in ()).throw(RuntimeError("disk full")) if arch == "b" else build(arch)
    assert list(space.run(tmp_path)["arch"]) == ["a"]
    assert pd.read_csv(tmp_path / "errors.csv").to_dict("records") == [
        {"arch": "b", "error": "RuntimeError: disk full"}
    ]
    space.build = build
    frame = space.run(tmp_path)
    assert space.built == ["b"] and list(frame["arch"]) == ["a", "b"]
    assert pd.read_csv(tmp_path / "errors.csv").empty
    assert [json.loads(line)["arch"] for line in (tmp_path / "records.jsonl").open()] == ["a", "b", "b"]


def test_torn_last_line_is_ignored_with_one_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    space = Counted({"a": {"layers": 2}, "b": {"layers": 1}})
    first = space.run(tmp_path)
    path = tmp_path / "records.jsonl"
    text = path.read_text()
    path.write_text(text[: len(text) - 100])  # a crash while "b" was being written
    with caplog.at_level("WARNING"):
        again = space.run(tmp_path)
    assert space.built == ["b"]
    pd.testing.assert_frame_equal(again, first)
    torn = [r.getMessage() for r in caplog.records if "not a complete record" in r.getMessage()]
    assert torn == [f"{path} line 2 is not a complete record (torn write?); ignored"]
    lines = path.read_text().splitlines()  # the torn line was closed, so the new record is a line of its own
    assert len(lines) == 3 and json.loads(lines[2])["arch"] == "b"


def test_keyless_records_of_the_old_format_are_stale(tmp_path: Path) -> None:
    space = Counted({"a": {"layers": 2}})
    space.run(tmp_path)
    path = tmp_path / "records.jsonl"
    record = json.loads(path.read_text())
    record.pop("key")
    record["per_arch"]["params"] = -1.0  # what an older run might have left
    path.write_text(json.dumps(record) + "\n")
    frame = space.run(tmp_path)
    assert space.built == ["a"] and frame["params"].tolist() == [1524]


def _snapshot(folder: Path) -> dict[str, tuple[int, int, int, bytes]]:
    return {f.name: (f.stat().st_ino, f.stat().st_mtime_ns, f.stat().st_size, f.read_bytes()) for f in folder.iterdir()}


def test_complete_cache_is_read_without_writing(tmp_path: Path) -> None:
    space = Counted({"a": {"layers": 2}, "b": {"layers": 1}})
    first = space.run(tmp_path)
    before = _snapshot(tmp_path)
    assert set(before) == {"records.jsonl", "per_arch.parquet", "per_layer.parquet", "errors.csv"}
    again = space.run(tmp_path)
    assert space.built == [] and _snapshot(tmp_path) == before
    pd.testing.assert_frame_equal(again, first)
    only_a = Counted({"a": {"layers": 2}})  # a subset: the tables then describe what was asked for
    assert list(only_a.run(tmp_path)["arch"]) == ["a"] and only_a.built == []
    assert _snapshot(tmp_path)["records.jsonl"] == before["records.jsonl"]
    assert list(pd.read_parquet(tmp_path / "per_arch.parquet")["arch"]) == ["a"]


@pytest.mark.parametrize("where", ["file", "sys"])
def test_unwritable_folder_with_work_to_do_is_one_error_line(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("not a folder")
    out = tmp_path / "file" if where == "file" else Path("/sys/lpzero-sr-test")
    with pytest.raises(LpzeroError, match=rf"^cannot write the extraction cache {out}: \w[\w -]+$"):
        Counted({"a": {"layers": 2}}).run(out)


def test_extract_key_is_canonical_and_covers_every_setting() -> None:
    config, settings = {"n_layer": 2, "n_embd": 32}, {"seq_len": 64, "seed": 0, "stats": ["a.b.c"]}
    key = extract_key(config, settings)
    assert key == extract_key({"n_embd": 32, "n_layer": 2}, dict(reversed(settings.items())))
    canonical = '{"config":{"n_embd":32,"n_layer":2},"settings":{"seed":0,"seq_len":64,"stats":["a.b.c"]},'
    version = f'"version":"bank{bank.BANK_VERSION}+lpzero-sr{lpzero_sr.__version__}"}}'
    assert key == hashlib.sha256((canonical + version).encode()).hexdigest()
    changed = [
        ({"n_layer": 4, "n_embd": 32}, settings),
        (config, {**settings, "seed": 1}),
        (config, {**settings, "stats": []}),
    ]
    assert len({key, *(extract_key(c, s) for c, s in changed)}) == 4


def test_cli_unwritable_cache_is_one_error_line() -> None:
    args = ["extract", "--benchmark", "tiny-gpt2", "--limit", "1", "--out", "/sys/lpzero-sr-test", "--no-progress"]
    result = CliRunner().invoke(main, [*args, "--stats", "none", "--proxies", "params"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot write the extraction cache /sys/lpzero-sr-test: ")
    assert result.output.count("\n") == 1
