"""Sub-networks of a checkpoint: exact equality when keeping everything, equality with a parent whose dropped units
are zeroed, analytic parameter counts, per-layer widths, the importance rule and YAML validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lpzero_sr.errors import ConfigError
from lpzero_sr.spaces import load_subnet_space
from lpzero_sr.spaces.llama import VOCAB_SIZE, build_model
from lpzero_sr.spaces.subnet import SubnetSpace

PARENT = {
    "num_hidden_layers": 2,
    "hidden_size": 32,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 64,
}
HEAD_DIM = 8


def write_space(root: Path, family: str = "llama", **spec: object) -> Path:
    torch.manual_seed(0)
    build_model({**PARENT, "family": family}).save_pretrained(root / "parent")
    path = root / "space.yaml"
    text = {"checkpoint": "parent", "heads": [1, 2], "mlp": [0.25, 0.5, 1.0], **spec}
    path.write_text(yaml.safe_dump(text), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> SubnetSpace:
    return load_subnet_space(write_space(tmp_path_factory.mktemp("subnet")))


IDS = torch.randint(0, VOCAB_SIZE, (2, 7), generator=torch.Generator().manual_seed(1))


def logits(model: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(IDS).logits


def test_keeping_everything_is_the_parent(space: SubnetSpace) -> None:
    full = space.build({"heads": [2, 2], "mlp": [64, 64]})
    assert torch.equal(logits(full), logits(space.parent))
    assert full.model.embed_tokens.weight.data_ptr() != space.parent.model.embed_tokens.weight.data_ptr()
    assert full.lm_head.weight is full.model.embed_tokens.weight  # embeddings stay tied


def test_dropped_units_equal_a_zeroed_parent(space: SubnetSpace) -> None:
    config = {"heads": [1, 2], "mlp": [16, 32]}
    child = space.build(config)
    zeroed = build_model({**PARENT, "family": "llama"})
    zeroed.load_state_dict(space.parent.state_dict())
    for layer, kept in zip(zeroed.model.layers, space.keep(config), strict=True):
        dropped_heads = sorted(set(range(4)) - set(kept.heads.tolist()))
        dropped_channels = sorted(set(range(64)) - set(kept.channels.tolist()))
        with torch.no_grad():
            for head in dropped_heads:
                layer.self_attn.o_proj.weight[:, head * HEAD_DIM : (head + 1) * HEAD_DIM] = 0
            layer.mlp.down_proj.weight[:, dropped_channels] = 0
    assert torch.allclose(logits(child), logits(zeroed), atol=1e-5)
    assert not torch.allclose(logits(child), logits(space.parent), atol=1e-3)


def test_per_layer_widths_and_analytic_param_count(space: SubnetSpace) -> None:
    config = {"heads": [1, 2], "mlp": [16, 64]}
    child = space.build(config)
    shapes = [
        (a.q_proj.weight.shape, a.k_proj.weight.shape, a.o_proj.weight.shape, m.gate_proj.weight.shape)
        for a, m in ((layer.self_attn, layer.mlp) for layer in child.model.layers)
    ]
    assert shapes == [((16, 32), (8, 32), (32, 16), (16, 32)), ((32, 32), (16, 32), (32, 32), (64, 32))]
    by_hand = VOCAB_SIZE * 32 + 32 + (2 * 32 + 32 * 16 * 2 + 32 * 8 * 2 + 3 * 32 * 16)
    by_hand += 2 * 32 + 32 * 32 * 2 + 32 * 16 * 2 + 3 * 32 * 64
    assert sum(p.numel() for p in child.parameters()) == space.n_params(config) == by_hand


def test_qwen2_biases_are_sliced(tmp_path: Path) -> None:
    qwen = load_subnet_space(write_space(tmp_path, family="qwen2"))
    config = {"heads": [1, 1], "mlp": [16, 16]}
    child = qwen.build(config)
    assert child.model.layers[0].self_attn.k_proj.bias.shape == (8,)
    assert sum(p.numel() for p in child.parameters()) == qwen.n_params(config)
    full = qwen.build({"heads": [2, 2], "mlp": [64, 64]})
    assert torch.equal(logits(full), logits(qwen.parent))


def test_magnitude_rule_keeps_the_largest_units(tmp_path: Path) -> None:
    space = load_subnet_space(write_space(tmp_path))
    layer = space.parent.model.layers[0]
    with torch.no_grad():
        layer.self_attn.k_proj.weight[HEAD_DIM:] *= 100  # group 1 dominates
        layer.mlp.up_proj.weight[[5, 40]] *= 100
    kept = space.keep({"heads": [1, 1], "mlp": [16, 16]})[0]
    assert kept.groups.tolist() == [1] and kept.heads.tolist() == [2, 3]
    assert {5, 40} <= set(kept.channels.tolist()) and kept.channels.tolist() == sorted(kept.channels.tolist())
    first = load_subnet_space(write_space(tmp_path / "first", rule="first"))
    kept = first.keep({"heads": [1, 1], "mlp": [16, 16]})[1]
    assert kept.groups.tolist() == [0] and kept.channels.tolist() == list(range(16))


def test_fine_tuning_a_child_leaves_the_parent(space: SubnetSpace) -> None:
    before = logits(space.parent)
    child = space.build({"heads": [1, 1], "mlp": [16, 16]})
    loss = child(IDS, labels=IDS).loss
    loss.backward()
    with torch.no_grad():
        for param in child.parameters():
            param -= 0.1 * param.grad
    assert torch.equal(logits(space.parent), before)


def test_sample_and_arch_id(space: SubnetSpace) -> None:
    assert space.head_choices == (1, 2) and space.mlp_choices == (16, 32, 64)
    config = space.sample(np.random.default_rng(0))
    assert config == space.sample(np.random.default_rng(0))
    assert space.validate(config) == config
    assert space.arch_id({"heads": [1, 2], "mlp": [16, 64]}) == "h1.2-m16.64"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"heads": [1], "mlp": [16, 16]}, r"subnet config heads must list 2 per-layer counts, got \[1\]"),
        ({"heads": [1, 3], "mlp": [16, 16]}, r"subnet config heads\[1\]=3 is not one of \[1, 2\]"),
        ({"heads": [1, 1], "mlp": [16, 20]}, r"subnet config mlp\[1\]=20 is not one of \[16, 32, 64\]"),
    ],
)
def test_invalid_configs(space: SubnetSpace, config: dict[str, list[int]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        space.validate(config)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"heads": [3]}, "subnet space heads choice 3 keeps 3 of 2; must keep 1-2"),
        ({"mlp": [1.5]}, r"subnet space mlp fraction 1.5 is not in \(0, 1\]"),
        ({"rule": "random"}, r"subnet space rule 'random' is not one of \['magnitude', 'first'\]"),
        ({"checkpoint": "nowhere"}, "has no config.json"),
        ({"extra": 1}, "has unknown keys extra"),
    ],
)
def test_invalid_spaces(tmp_path: Path, spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_subnet_space(write_space(tmp_path, **spec))


def test_shipped_subnet_benchmark() -> None:
    from lpzero_sr.spaces import SPACES
    from lpzero_sr.spaces.labels import read_labels

    shipped = SPACES.get("tiny-llama-subnets")
    bench = shipped.load(None)
    assert len(bench) == 40 and bench.direction == "minimize"
    assert (shipped.head_choices, shipped.mlp_choices) == ((1, 2, 3, 4), (64, 128, 192, 256))
    labels = read_labels(shipped.labels).set_index("arch")
    finetuned = read_labels(shipped.labels.parent / "finetuned" / "labels.jsonl").set_index("arch")
    assert list(finetuned.index) == bench.archs
    assert (finetuned["val_loss"] < labels["val_loss"]).mean() > 0.9  # a short fine-tune recovers some loss
    arch = bench.archs[0]
    assert shipped.n_params(bench.configs[arch]) == labels.loc[arch, "n_params"]
    assert np.all((bench.targets["val_loss"] > 4.0) & (bench.targets["val_loss"] < np.log(VOCAB_SIZE)))


def test_label_cli_evaluates_inherited_weights_of_a_yaml_space(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lpzero_sr.cli import main
    from lpzero_sr.labeling import TrainSettings, evaluate, load_corpus
    from lpzero_sr.spaces.labels import read_labels

    corpus = tmp_path / "text.txt"
    corpus.write_text("\n\n".join(f"def f{i}(x): return x * {i} + {i % 7}" for i in range(400)), encoding="utf-8")
    path = write_space(tmp_path)
    args = ["label", str(path), "--n", "2", "--steps", "0", "--seq-len", "16", "--corpus", str(corpus)]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "labels"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    rows = read_labels(tmp_path / "labels" / "labels.jsonl")
    space = load_subnet_space(path)
    settings = TrainSettings(seq_len=16)
    val = load_corpus(settings, corpus).val
    by_hand = evaluate(space.build(rows["config"][0]), val, settings, True, VOCAB_SIZE, torch.device("cpu"))
    assert rows["val_loss"][0] == pytest.approx(by_hand, rel=1e-6)


def test_a_checkpoint_tokenizer_encodes_the_corpus(tmp_path: Path) -> None:
    from lpzero_sr.features.inputs import train_tokenizer

    path = write_space(tmp_path)
    assert load_subnet_space(path).encode is None  # no tokenizer files: the local BPE tokenizer is used
    tokenizer = train_tokenizer(300)
    tokenizer.save(str(tmp_path / "parent" / "tokenizer.json"))
    text = "def foo(x): return x"
    assert load_subnet_space(path).encode(text) == tokenizer.encode(text).ids


@pytest.mark.slow
def test_a_users_yaml_space_goes_from_label_to_fit_and_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from lpzero_sr.cli import main
    from lpzero_sr.table_sources import resolve_table

    monkeypatch.setenv("LPZERO_SR_CACHE", str(tmp_path / "cache"))
    corpus = tmp_path / "text.txt"
    corpus.write_text("\n\n".join(f"def f{i}(x): return x * {i} + {i % 7}" for i in range(400)), encoding="utf-8")
    path = write_space(tmp_path)
    runner, cpu = CliRunner(), ["--device", "cpu"]
    label = ["label", str(path), "--n", "10", "--steps", "0", "--seq-len", "16", "--corpus", str(corpus)]
    assert runner.invoke(main, [*label, "--out", str(tmp_path / "labels"), *cpu]).exit_code == 0
    fit = ["fit", str(path), "--generations", "2", "--train-size", "5", "--out", str(tmp_path / "run"), *cpu]
    result = runner.invoke(main, fit)
    assert result.exit_code == 1 and "has no labels file; label it with lpzero-sr label" in result.output
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**spec, "labels": "labels/labels.jsonl"}), encoding="utf-8")

    result = runner.invoke(main, fit)
    assert result.exit_code == 0, result.output
    assert "5 training / 5 held-out architectures" in result.output and "target val_loss (minimize)" in result.output
    result = runner.invoke(main, ["score", str(tmp_path / "run"), "--benchmark", str(path), *cpu])
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") >= 10  # one ranked row per labelled sub-network

    # a retrained parent of the same name is extracted anew, not read from the cache of the old one
    before = resolve_table(str(path), device="cpu").frame
    torch.manual_seed(1)
    build_model({**PARENT, "family": "llama"}).save_pretrained(tmp_path / "parent")
    after = resolve_table(str(path), device="cpu").frame
    assert list(after["arch"]) == list(before["arch"])
    assert not np.allclose(after["weight.sqr.fro"], before["weight.sqr.fro"])
