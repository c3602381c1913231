"""extract_model on every family; extract_space with resume, error rows, NaN and OOM retry; the CLI command."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import SEQ, VOCAB, TinyNative, hf_model, native

from lpzero_sr.cli import main
from lpzero_sr.features import bank
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
    assert len(result.per_arch) == len(bank.column_names()) + len(single) == 312 + 18
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
    assert len(PROXIES) == 23


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
    layers = pd.read_parquet(tmp_path / "per_layer.parquet")
    assert layers.shape == (4, 4) and list(layers.columns) == ["arch", "layer", *stats]
    a = extract_model(_build("a"), batch("a", None), stats=stats, proxies=proxies, device="cpu").per_arch
    assert frame.set_index("arch").loc["a", "snip"] == pytest.approx(a["snip"])
    built.clear()
    again = extract_space(
        ["a", "broken", "nan", "big", "c"], build, batch, tmp_path, stats, proxies, "cpu", progress=False
    )
    assert built == ["c"] and list(again["arch"]) == ["a", "big", "c"]
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
    assert list(frame.columns) == ["weight.sqr.mean", "head.abs.std", "params"]
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
