"""The tiny GPT-2 space: configs, parameter counts by hand, causality, and the shipped labelled benchmark (the mean
validation loss over training seeds 0 and 1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lpzero_sr.errors import ConfigError
from lpzero_sr.spaces.base import SPACES
from lpzero_sr.spaces.labels import read_labels
from lpzero_sr.spaces.tiny_gpt2 import N_POSITIONS, VOCAB_SIZE, arch_id, build_model, labels_path, validate_config

SPACE = SPACES.get("tiny-gpt2")


def gpt2_params(n_layer: int, e: int, inner: int) -> int:
    """Token + position embeddings, per block (2 LayerNorms, qkv, out proj, 2 FFN linears), final LayerNorm;
    the LM head is tied to the token embedding."""
    block = 2 * 2 * e + (e * 3 * e + 3 * e) + (e * e + e) + (e * inner + inner) + (inner * e + e)
    return VOCAB_SIZE * e + N_POSITIONS * e + n_layer * block + 2 * e


def test_arch_id_and_param_count() -> None:
    config = {"n_layer": 2, "n_embd": 32, "n_head": 4, "n_inner": 64}
    assert arch_id(config) == "L2-E32-H4-I64"
    model = build_model(config)
    assert sum(p.numel() for p in model.parameters()) == gpt2_params(2, 32, 64) == 86_784 == SPACE.n_params(config)
    assert model.config._attn_implementation == "eager"


def test_parameter_count_from_the_config_equals_the_built_models_of_the_shipped_labels() -> None:
    labels = read_labels(labels_path())  # n_params of each label was counted on the model it trained
    assert [SPACE.n_params(c) for c in labels["config"]] == labels["n_params"].tolist()


def test_forward_is_causal_with_vocab_logits() -> None:
    torch.manual_seed(0)
    model = build_model({"n_layer": 1, "n_embd": 48, "n_head": 2, "n_inner": 96}).eval()
    ids = torch.randint(0, VOCAB_SIZE, (2, 10))
    changed = ids.clone()
    changed[:, 7] = (changed[:, 7] + 1) % VOCAB_SIZE
    with torch.no_grad():
        a, b = model(ids).logits, model(changed).logits
    assert a.shape == (2, 10, VOCAB_SIZE)
    assert torch.equal(a[:, :7], b[:, :7])
    assert not torch.allclose(a[:, 7:], b[:, 7:])


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"n_layer": 2, "n_embd": 40, "n_head": 4, "n_inner": 80}, r"tiny-gpt2 n_embd=40 is not one of \[32, 48"),
        ({"n_layer": 2, "n_embd": 32, "n_head": 4, "n_inner": 48}, "tiny-gpt2 n_inner=48 is not 1-4 x n_embd=32"),
        ({"n_layer": 2, "n_embd": 32}, "tiny-gpt2 config lacks n_head, n_inner"),
    ],
)
def test_invalid_configs(config: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_config(config)


def test_sample_is_seeded_and_valid() -> None:
    draws = [SPACE.sample(np.random.default_rng(3)) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = np.random.default_rng(0)
    for _ in range(50):
        config = SPACE.sample(rng)
        assert validate_config(config) == config


def test_shipped_benchmark() -> None:
    bench = SPACE.load(None)
    assert bench.target == "val_loss" and bench.direction == "minimize"
    assert len(bench) == 160
    assert set(read_labels(labels_path())["n_seeds"]) == {2}
    loss = bench.targets["val_loss"].to_numpy()
    assert np.all((loss > 2.0) & (loss < np.log(VOCAB_SIZE)))
    assert loss.max() - loss.min() > 0.5
    labels = read_labels(labels_path()).set_index("arch")
    mean = (labels["val_loss_seed0"] + labels["val_loss_seed1"]) / 2
    assert np.allclose(bench.targets.loc[labels.index, "val_loss"], mean, rtol=0, atol=1e-12)
    for arch in bench.archs[:3]:
        config = bench.configs[arch]
        assert arch == arch_id(config)
        model = bench.build(arch)
        assert sum(p.numel() for p in model.parameters()) == labels.loc[arch, "n_params"]
        assert model.config.n_layer == config["n_layer"]
