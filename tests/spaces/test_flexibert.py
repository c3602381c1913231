"""FlexiBERT builder: every operation and parameter, the authors' parameter counts, shapes, one backward pass."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import fft

from lpzero_sr.errors import ConfigError
from lpzero_sr.spaces import load_benchmark
from lpzero_sr.spaces.flexibert import SEARCH_SPACE, VOCAB_SIZE, FlexiBertModel, FlexiBertSpace
from lpzero_sr.spaces.flexibert_ops import FlexiLayer, LinearTransform, dct_matrix

SPACE = FlexiBertSpace()


def _features(entry: dict) -> set[tuple]:
    cfg = entry["hparams"]["model_hparam_overrides"]
    out = {("hidden", cfg["hidden_size"]), ("layers", len(cfg["nas_config"]["encoder_layers"]))}
    for layer in cfg["nas_config"]["encoder_layers"]:
        out |= {("op", layer["operation_type"], layer["operation_parameter"]), ("heads", layer["num_operation_heads"])}
        out |= {("ffn", layer["feed_forward_dimension"]), ("stack", layer["num_feed_forward"])}
    return out


@pytest.fixture(scope="module")
def cover(shared_data) -> list[dict]:
    """A few benchmark entries that together use every operation, parameter and size of the space."""
    entries = json.loads((shared_data / "flexibert" / "BERT_benchmark.json").read_text())
    wanted = set().union(*(_features(e) for e in entries))
    chosen, seen = [], set()
    while seen != wanted:
        best = max(entries, key=lambda e: len(_features(e) - seen))
        chosen.append(best)
        seen |= _features(best)
    return chosen


def test_cover_spans_the_declared_space(cover, shared_data):
    declared = json.loads((shared_data / "flexibert" / "search_space.json").read_text())
    ops = {f for e in cover for f in _features(e) if f[0] == "op"}
    assert ops == {("op", t, p) for t in ("SA", "LT", "DSC") for p in declared["encoder_layer"][t]}
    assert {k: v for k, v in SEARCH_SPACE.items() if k in declared["encoder_layer"]} == {
        k: declared["encoder_layer"][k] for k in SEARCH_SPACE if k in declared["encoder_layer"]
    }
    assert SEARCH_SPACE["hidden_size"] == declared["hidden_size"]


def test_parameter_counts_equal_the_authors_models(cover, shared_data):
    """The authors' encoder ignored hidden_size and feed_forward_dimension (ELECTRA-small defaults 256 / 1024);
    built with those, our encoder (without the LM head) has exactly their published parameter count."""
    published = pd.read_csv(shared_data / "flexibert" / "BERT_results_activation.csv").set_index("ID")
    for entry in cover:
        layers = copy.deepcopy(entry["hparams"]["model_hparam_overrides"]["nas_config"]["encoder_layers"])
        for layer in layers:
            layer["feed_forward_dimension"] = 1024
        model = FlexiBertModel(256, layers)
        n = sum(p.numel() for name, p in model.named_parameters() if not name.startswith("lm_"))
        assert n == published.loc[entry["id"], "Number of Parameters"]


def test_electra_widths_space_builds_the_authors_and_lpzeros_models(cover, shared_data):
    """``flexibert-electra`` builds every architecture at ELECTRA-small's widths (hidden 256, FFN 1024, the 128-wide
    embeddings projected to 256), as LPZero and the proxy authors did: their parameter counts, same ground truth."""
    published = pd.read_csv(shared_data / "flexibert" / "BERT_results_activation.csv").set_index("ID")
    bench = load_benchmark("flexibert-electra", shared_data)
    assert (bench.name, len(bench), bench.target) == ("flexibert-electra", 500, "glue")
    for entry in cover:
        model = bench.build(str(entry["id"]))
        assert model.embed_proj is not None and model.embed_proj.out_features == 256
        assert {layer.ffn.fc_in.out_features for layer in model.layers} == {1024}
        n = sum(p.numel() for name, p in model.named_parameters() if not name.startswith("lm_"))
        assert n == published.loc[entry["id"], "Number of Parameters"]
    with pytest.raises(ValueError, match="widths must be"):
        FlexiBertSpace(widths="tiny")


def test_forward_backward_shapes_and_gradients(cover):
    torch.manual_seed(0)
    ids = torch.randint(0, VOCAB_SIZE, (2, 12))
    for entry in cover:
        model = SPACE.build(entry)
        logits = model(ids)
        assert logits.shape == (2, 12, VOCAB_SIZE)
        torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB_SIZE), ids.reshape(-1)).backward()
        assert [n for n, p in model.named_parameters() if p.grad is None] == []


def test_layer_parameter_count_by_hand():
    spec = {"operation_type": "SA", "operation_parameter": "SDP", "num_operation_heads": 2}
    layer = FlexiLayer(128, {**spec, "feed_forward_dimension": 512, "num_feed_forward": 1})
    attention = 4 * (128 * 128 + 128) + 2 * 128  # q, k, v, output dense + LayerNorm
    ffn = (128 * 512 + 512) + (512 * 128 + 128) + 2 * 128
    assert sum(p.numel() for p in layer.parameters()) == attention + ffn == 198272
    wma = FlexiLayer(128, {**spec, "operation_parameter": "WMA", "feed_forward_dimension": 512, "num_feed_forward": 3})
    assert sum(p.numel() for p in wma.parameters()) == 198272 + 128 * 128 + 2 * (512 * 512 + 512)


def test_linear_transforms_match_scipy():
    x = torch.randn(1, 5, 8, dtype=torch.float64)
    basis = dct_matrix(5, x.device, x.dtype)
    np.testing.assert_allclose((basis @ x[0]).numpy(), fft.dct(x[0].numpy(), type=2, axis=0), atol=1e-10)
    for transform, reference in (("DFT", lambda a: np.fft.fft2(a).real), ("DCT", lambda a: fft.dctn(a, type=2))):
        lt = LinearTransform(8, 2, transform).double()
        with torch.no_grad():
            lt.v_proj.weight.copy_(torch.eye(8))
            lt.v_proj.bias.zero_()
            heads = x.view(1, 5, 2, 4).transpose(1, 2)[0].numpy()
            expected = np.stack([reference(h) for h in heads])  # (2, 5, 4)
            np.testing.assert_allclose(lt(x).view(5, 2, 4).transpose(0, 1).numpy(), expected, atol=1e-9)


def test_probes_see_attention_and_kernel_softmaxes():
    layers = [
        {
            "operation_type": op,
            "operation_parameter": p,
            "num_operation_heads": 4,
            "feed_forward_dimension": 512,
            "num_feed_forward": 3,
        }
        for op, p in (("SA", "SDP"), ("LT", "DCT"), ("DSC", 9))
    ]
    model = FlexiBertModel(128, layers)
    seen: dict[str, list[tuple[int, ...]]] = {}
    handles = [
        m.register_forward_hook(lambda mod, a, out, n=name: seen.setdefault(n, []).append(tuple(out.shape)))
        for name, m in model.named_modules()
        if name.endswith(("attn_probs", "kernel_probs", "ffn_act"))
    ]
    model(torch.randint(0, VOCAB_SIZE, (2, 7)))
    for h in handles:
        h.remove()
    assert seen["layers.0.mixer.attn_probs"] == [(2, 4, 7, 7)]
    assert seen["layers.1.mixer.attn_probs"] == [(2, 4, 7, 32)]  # softmax of the mixed heads, observed only
    assert seen["layers.2.mixer.attn_probs"] == [(2, 2, 7, 7)]  # DSC: half the heads attend
    assert seen["layers.2.mixer.kernel_probs"] == [(2, 7, 2, 9)]
    assert [seen[f"layers.{i}.ffn.ffn_act"] for i in range(3)] == [[(2, 7, 512)]] * 3  # once per layer


def test_sample_builds_and_stays_in_the_space():
    rng = np.random.default_rng(0)
    for _ in range(3):
        config = SPACE.sample(rng)
        assert config["hidden_size"] in (128, 256)
        assert len(config["nas_config"]["encoder_layers"]) in (2, 4)
        assert SPACE.build(config)(torch.randint(0, VOCAB_SIZE, (1, 4))).shape == (1, 4, VOCAB_SIZE)


def test_benchmark_targets(shared_data):
    bench = load_benchmark("flexibert", shared_data)
    assert (len(bench), bench.target, bench.direction) == (500, "glue", "maximize")
    assert bench.targets.loc["0", "glue"] == pytest.approx(74.73375)
    assert list(bench.targets.columns) == ["glue", "cola", "mnli", "mrpc", "qnli", "qqp", "rte", "sst", "sts"]


def test_bad_config_is_one_error_line():
    bad = {"hidden_size": 128, "nas_config": {"encoder_layers": [{"operation_type": "XX"}]}}
    with pytest.raises(ConfigError, match="invalid FlexiBERT config: 'operation_parameter'"):
        SPACE.build(bad)
    with pytest.raises(ConfigError, match="needs hidden_size and nas_config.encoder_layers"):
        SPACE.build({"nas_config": {}})
