"""The tiny LLaMA space: parameter counts by hand, GQA shapes, Qwen2 from the same config, hooks, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lpzero_sr.errors import ConfigError
from lpzero_sr.features.extract import extract_model
from lpzero_sr.spaces.base import SPACES
from lpzero_sr.spaces.llama import VOCAB_SIZE, arch_id, build_model, validate_config

SPACE = SPACES.get("tiny-llama")
GQA = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2}
CONFIG = {**GQA, "intermediate_size": 192}
SHIPPED = 60  # architectures in lpzero_sr/data/tiny_llama (README)


def llama_params(layers: int, e: int, heads: int, kv: int, inner: int, bias: bool = False) -> int:
    """Tied token embedding, per layer 2 RMSNorms, q/k/v/o (k and v sized by the kv heads), SwiGLU (3 matrices),
    final RMSNorm; Qwen2 adds q/k/v biases."""
    d = e // heads
    attn = e * heads * d + 2 * e * kv * d + heads * d * e + ((heads + 2 * kv) * d if bias else 0)
    return VOCAB_SIZE * e + layers * (2 * e + attn + 3 * e * inner) + e


def test_param_counts_and_gqa_shapes() -> None:
    model = build_model(CONFIG)
    assert sum(p.numel() for p in model.parameters()) == llama_params(2, 64, 4, 2, 192) == 229_696
    attn = model.model.layers[1].self_attn
    assert attn.q_proj.weight.shape == (64, 64) and attn.k_proj.weight.shape == (32, 64)
    assert attn.num_key_value_groups == 2
    assert model.config._attn_implementation == "eager" and model.config.rope_parameters["rope_theta"] == 10000.0
    qwen = build_model({**CONFIG, "family": "qwen2"})
    assert type(qwen).__name__ == "Qwen2ForCausalLM"
    assert sum(p.numel() for p in qwen.parameters()) == llama_params(2, 64, 4, 2, 192, bias=True) == 229_952


def test_forward_is_causal_and_attention_is_per_query_head() -> None:
    torch.manual_seed(0)
    model = build_model(CONFIG).eval()
    ids = torch.randint(0, VOCAB_SIZE, (2, 9))
    changed = ids.clone()
    changed[:, 6] = (changed[:, 6] + 1) % VOCAB_SIZE
    with torch.no_grad():
        out = model(ids, output_attentions=True)
        other = model(changed).logits
    assert out.logits.shape == (2, 9, VOCAB_SIZE)
    assert out.attentions[0].shape == (2, 4, 9, 9)
    assert torch.allclose(out.attentions[0].sum(-1), torch.ones(2, 4, 9))
    assert torch.equal(out.logits[:, :6], other[:, :6]) and not torch.allclose(out.logits[:, 6:], other[:, 6:])


def test_hooks_see_every_layer() -> None:
    torch.manual_seed(0)
    model = build_model({**CONFIG, "num_hidden_layers": 3})
    extraction = extract_model(model, torch.randint(0, VOCAB_SIZE, (2, 8)), proxies=(), device="cpu")
    frame = extraction.per_layer
    assert sorted(frame["layer"].unique()) == [0, 1, 2]
    numeric = frame.drop(columns=["layer"]).select_dtypes("number").to_numpy()
    assert numeric.shape[1] > 10 and np.isfinite(numeric).all()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (GQA, "tiny-llama config lacks intermediate_size"),
        ({**CONFIG, "num_key_value_heads": 3}, "num_key_value_heads=3 does not divide num_attention_heads=4"),
        ({**CONFIG, "num_attention_heads": 5}, "tiny-llama num_attention_heads=5 does not divide hidden_size=64"),
        ({**CONFIG, "family": "gpt2"}, r"tiny-llama family='gpt2' is not one of \['llama', 'qwen2'\]"),
        ({**CONFIG, "hidden_size": 0}, "tiny-llama hidden_size=0 is not a positive integer"),
        ({**CONFIG, "rope_theta": -1.0}, "tiny-llama rope_theta=-1.0 is not a positive number"),
        ({**CONFIG, "dropout": 0.1}, "tiny-llama config has unknown fields dropout"),
    ],
)
def test_invalid_configs(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_config(config)


def test_arch_id() -> None:
    assert arch_id(CONFIG) == "L2-E64-H4-KV2-I192"
    assert arch_id({**CONFIG, "family": "qwen2", "rope_theta": 5e5}) == "qwen2-L2-E64-H4-KV2-I192-T500000"


def test_sample_is_seeded_and_inside_the_declared_space() -> None:
    assert SPACE.sample(np.random.default_rng(3)) == SPACE.sample(np.random.default_rng(3))
    rng = np.random.default_rng(0)
    draws = [SPACE.sample(rng) for _ in range(300)]
    for config in draws:
        clean = validate_config(config)
        assert clean["hidden_size"] // clean["num_attention_heads"] >= 8
        assert clean["intermediate_size"] // clean["hidden_size"] in (2, 3, 4)
    assert {c["num_key_value_heads"] for c in draws} == {1, 2, 4, 8}
    assert {c["num_hidden_layers"] for c in draws} == {1, 2, 3, 4}


def test_shipped_benchmark_averages_two_seeds() -> None:
    from lpzero_sr.spaces.labels import read_labels
    from lpzero_sr.spaces.llama import labels_path

    bench = SPACE.load(None)
    labels = read_labels(labels_path()).set_index("arch")
    assert bench.target == "val_loss" and bench.direction == "minimize"
    assert len(bench) == SHIPPED and set(labels["n_seeds"]) == {2}
    mean = (labels["val_loss_seed0"] + labels["val_loss_seed1"]) / 2
    assert np.allclose(bench.targets.loc[labels.index, "val_loss"], mean, rtol=0, atol=1e-12)
    loss = bench.targets["val_loss"].to_numpy()
    assert np.all((loss > 2.0) & (loss < np.log(VOCAB_SIZE))) and loss.max() - loss.min() > 0.3
    for arch in bench.archs[:2]:
        assert arch == arch_id(bench.configs[arch])
        assert sum(p.numel() for p in bench.build(arch).parameters()) == labels.loc[arch, "n_params"]
