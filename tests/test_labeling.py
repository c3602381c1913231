"""Labelling: corpus split, schedule, losses checked by hand, resume, recorded failures, CLI errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from lpzero_sr.cli import main
from lpzero_sr.errors import DataError, LpzeroError
from lpzero_sr.labeling import (
    TrainSettings,
    evaluate,
    label_space,
    lm_loss,
    load_corpus,
    lr_factor,
    sample_distinct,
    train_and_evaluate,
)
from lpzero_sr.spaces.base import config_id
from lpzero_sr.spaces.labels import read_labels
from lpzero_sr.spaces.tiny_gpt2 import arch_id

VOCAB = 50


class ToyLM(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, width)
        self.head = nn.Linear(width, VOCAB)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(ids))


class ZeroLM(nn.Module):
    """Uniform logits: every loss is exactly log(VOCAB)."""

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.zeros(*ids.shape, VOCAB)


class ToySpace:
    name = "toy"
    dataset = "toy"
    causal = True

    def __init__(self, widths: tuple[int, ...] = (1, 2, 3, 4, 5, 6), broken: int | None = None) -> None:
        self.widths, self.broken = widths, broken

    def load(self, data_dir: Path) -> Any:
        raise NotImplementedError

    def build(self, config: dict[str, Any]) -> nn.Module:
        if config["width"] == self.broken:
            raise ValueError("width not supported")
        return ToyLM(config["width"])

    def vocab_size(self, config: dict[str, Any]) -> int:
        return VOCAB

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {"width": self.widths[int(rng.integers(len(self.widths)))]}


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    words = [f"word{i % 37} token{i % 11} python{i % 5}" for i in range(600)]
    path = tmp_path_factory.mktemp("corpus") / "text.txt"
    path.write_text("\n\n".join(" ".join(words[i : i + 20]) for i in range(0, 600, 20)), encoding="utf-8")
    return path


SMALL = TrainSettings(steps=3, batch_size=4, seq_len=8, warmup=1, tokenizer_vocab=300)


def test_lr_factor_warmup_then_cosine() -> None:
    settings = TrainSettings(steps=10, warmup=2)
    assert [lr_factor(s, settings) for s in (0, 1, 2)] == [0.5, 1.0, 1.0]
    assert lr_factor(6, settings) == pytest.approx(0.5)  # half-way through the 8 decay steps
    assert lr_factor(10, settings) == pytest.approx(0.0)


def test_load_corpus_splits_tail_for_validation(corpus_file: Path) -> None:
    corpus = load_corpus(SMALL, corpus_file)
    total = len(corpus.train) + len(corpus.val)
    assert len(corpus.val) == int(total * 0.1)
    assert corpus.train.dtype == torch.long


def test_load_corpus_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"corpus file not found: {tmp_path / 'none.txt'}"):
        load_corpus(SMALL, tmp_path / "none.txt")
    short = tmp_path / "short.txt"
    short.write_text("a b c d e f", encoding="utf-8")
    with pytest.raises(DataError, match="too few for windows of 8 in both train and validation"):
        load_corpus(SMALL, short)


def test_uniform_logits_give_log_vocab_for_both_objectives() -> None:
    ids = torch.randint(0, VOCAB, (3, 9), generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(0)
    assert lm_loss(ZeroLM(), ids, True, gen).item() == pytest.approx(math.log(VOCAB))
    assert lm_loss(ZeroLM(), ids, False, gen).item() == pytest.approx(math.log(VOCAB))
    val = torch.arange(40)
    loss = evaluate(ZeroLM(), val, SMALL, True, VOCAB, torch.device("cpu"))
    assert loss == pytest.approx(math.log(VOCAB))


def test_causal_loss_matches_hand_computation() -> None:
    model = ToyLM(2)
    ids = torch.tensor([[1, 2, 3]])
    logits = model(ids)[0]
    by_hand = -(torch.log_softmax(logits[0], -1)[2] + torch.log_softmax(logits[1], -1)[3]) / 2
    got = lm_loss(model, ids, True, torch.Generator())
    assert got.item() == pytest.approx(by_hand.item(), rel=1e-6)


def test_sample_distinct_is_seeded_and_extends() -> None:
    space = ToySpace()
    three = sample_distinct(space, 3, seed=4)
    five = sample_distinct(space, 5, seed=4)
    assert five[:3] == three
    assert len({c["width"] for c in five}) == 5
    with pytest.raises(LpzeroError, match="space 'toy' gave only 2 distinct architectures of 3 asked"):
        sample_distinct(ToySpace(widths=(1, 2)), 3, seed=0)


def test_label_space_resumes_and_reproduces(tmp_path: Path, corpus_file: Path) -> None:
    space = ToySpace()
    path = label_space(space, 2, tmp_path / "a", seed=1, settings=SMALL, corpus=corpus_file, progress=False)
    first = path.read_text().splitlines()
    assert len(first) == 2
    label_space(space, 3, tmp_path / "a", seed=1, settings=SMALL, corpus=corpus_file, progress=False)
    lines = path.read_text().splitlines()
    assert lines[:2] == first and len(lines) == 3
    again = label_space(space, 2, tmp_path / "b", seed=1, settings=SMALL, corpus=corpus_file, progress=False)
    a, b = read_labels(path).set_index("arch"), read_labels(again).set_index("arch")
    assert np.array_equal(a.loc[b.index, "val_loss"].to_numpy(), b["val_loss"].to_numpy())
    row = json.loads(first[0])
    assert row["arch"] == config_id(row["config"])
    assert row["n_params"] == 2 * row["config"]["width"] * VOCAB + VOCAB


def test_label_space_rejects_other_settings(tmp_path: Path, corpus_file: Path) -> None:
    space = ToySpace()
    label_space(space, 1, tmp_path, seed=1, settings=SMALL, corpus=corpus_file, progress=False)
    other = TrainSettings(steps=4, batch_size=4, seq_len=8, warmup=1, tokenizer_vocab=300)
    with pytest.raises(LpzeroError, match=r"was labelled with other settings \(steps\); use another --out"):
        label_space(space, 1, tmp_path, seed=1, settings=other, corpus=corpus_file, progress=False)


def test_failing_architecture_is_recorded_not_fatal(tmp_path: Path, corpus_file: Path) -> None:
    space = ToySpace(widths=(1, 2), broken=2)
    path = label_space(space, 2, tmp_path, seed=0, settings=SMALL, corpus=corpus_file, progress=False)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    errors = [r for r in rows if "error" in r]
    assert [r["config"]["width"] for r in errors] == [2]
    assert errors[0]["error"] == "ValueError: width not supported"
    assert list(read_labels(path)["config"]) == [{"width": 1}]


def test_read_labels_errors(tmp_path: Path) -> None:
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"arch": "a", "val_loss": 1.0}\nnot json\n', encoding="utf-8")
    with pytest.raises(DataError, match="labels.jsonl:2: not a JSON line"):
        read_labels(bad)
    with pytest.raises(DataError, match="no labelled architectures in"):
        read_labels(tmp_path / "missing.jsonl")


def test_train_reduces_validation_loss(corpus_file: Path) -> None:
    corpus = load_corpus(SMALL, corpus_file)
    torch.manual_seed(0)
    model = ToyLM(8)
    before = evaluate(model, corpus.val, SMALL, True, VOCAB, torch.device("cpu"))
    settings = TrainSettings(steps=60, batch_size=8, seq_len=8, warmup=5, lr=1e-2, tokenizer_vocab=300)
    after = train_and_evaluate(model, corpus, settings, True, VOCAB, torch.device("cpu"))
    assert after < before - 0.5


def test_cli_unknown_space() -> None:
    result = CliRunner().invoke(main, ["label", "nope", "--n", "2"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: unknown space 'nope'; known: ")


def test_cli_labels_tiny_gpt2(tmp_path: Path, corpus_file: Path) -> None:
    args = ["label", "tiny-gpt2", "--n", "2", "--steps", "2", "--batch-size", "2", "--seq-len", "8"]
    args += ["--corpus", str(corpus_file), "--out", str(tmp_path), "--device", "cpu", "--threads", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"2 labelled architectures in {tmp_path / 'labels.jsonl'} (training seeds 0): val_loss " in result.output
    rows = read_labels(tmp_path / "labels.jsonl")
    assert list(rows["arch"]) == [arch_id(c) for c in rows["config"]]
    assert json.loads((tmp_path / "meta.json").read_text())["steps"] == 2


def test_train_seeds_average_and_match_single_seed_runs(tmp_path: Path, corpus_file: Path) -> None:
    space = ToySpace()
    kwargs = {"seed": 2, "settings": SMALL, "corpus": corpus_file, "progress": False}
    both = read_labels(label_space(space, 2, tmp_path / "both", train_seeds=[1, 0], **kwargs))
    one = read_labels(label_space(space, 2, tmp_path / "one", train_seeds=[1], **kwargs))
    assert list(both.columns) == [
        "arch", "config", "n_params", "val_loss", "val_loss_seed0", "val_loss_seed1", "n_seeds", "train_seconds"
    ]  # fmt: skip
    assert np.array_equal(both["val_loss_seed1"].to_numpy(), one["val_loss_seed1"].to_numpy())
    assert np.array_equal(one["val_loss"].to_numpy(), one["val_loss_seed1"].to_numpy())
    mean = (both["val_loss_seed0"] + both["val_loss_seed1"]).to_numpy() / 2
    assert np.allclose(both["val_loss"].to_numpy(), mean, rtol=0, atol=1e-12)
    assert not np.array_equal(both["val_loss_seed0"].to_numpy(), both["val_loss_seed1"].to_numpy())
    assert list(both["n_seeds"]) == [2, 2]


def test_adding_a_seed_resumes_per_arch_and_seed(tmp_path: Path, corpus_file: Path) -> None:
    space = ToySpace()
    kwargs = {"seed": 2, "settings": SMALL, "corpus": corpus_file, "progress": False}
    path = label_space(space, 2, tmp_path, train_seeds=[0], **kwargs)
    first = path.read_text().splitlines()
    label_space(space, 3, tmp_path, train_seeds=[0, 1], **kwargs)
    lines = path.read_text().splitlines()
    assert lines[:2] == first
    added = [(json.loads(line)["arch"], json.loads(line)["train_seed"]) for line in lines[2:]]
    archs = [json.loads(line)["arch"] for line in first]
    assert sorted(added) == sorted([(archs[0], 1), (archs[1], 1), (added[-1][0], 0), (added[-1][0], 1)])
    assert json.loads((tmp_path / "meta.json").read_text())["train_seeds"] == [0, 1]
    assert list(read_labels(path)["n_seeds"]) == [2, 2, 2]


def test_single_seed_files_read_with_the_meta_seed(tmp_path: Path) -> None:
    meta = {"space": "toy", "seed": 0, "corpus": None, "train_seed": 3}
    (tmp_path / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    lines = [
        {"arch": "a", "config": {}, "n_params": 1, "val_loss": 2.0, "train_seconds": 1.0},
        {"arch": "b", "config": {}, "n_params": 1, "val_loss": 3.0, "train_seconds": 1.0},
        {"arch": "a", "config": {}, "train_seed": 4, "n_params": 1, "val_loss": 2.5, "train_seconds": 2.0},
    ]
    (tmp_path / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    rows = read_labels(tmp_path / "labels.jsonl").set_index("arch")
    assert rows.loc["a", "val_loss"] == 2.25 and rows.loc["b", "val_loss"] == 3.0
    assert rows.loc["a", "val_loss_seed3"] == 2.0 and math.isnan(rows.loc["b", "val_loss_seed4"])
    assert list(rows["n_seeds"]) == [2, 1] and rows.loc["a", "train_seconds"] == 3.0


def test_cli_bad_train_seeds() -> None:
    result = CliRunner().invoke(main, ["label", "tiny-gpt2", "--n", "2", "--train-seeds", "0,x"])
    assert result.exit_code == 1
    assert result.output == "Error: --train-seeds must be comma-separated integers, got '0,x'\n"
