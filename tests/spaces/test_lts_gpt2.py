"""LTS GPT-2 builder: archai's parameter counts by part, adaptive softmax log-probabilities, causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from lpzero_sr.errors import ConfigError
from lpzero_sr.spaces import load_benchmark
from lpzero_sr.spaces.lts_gpt2 import LtsGpt2Space
from lpzero_sr.spaces.lts_heads import clean_cutoffs

SPACE = LtsGpt2Space()


@pytest.fixture(scope="module")
def bench(shared_data):
    return load_benchmark("lts-gpt2", shared_data)


def _sample(bench) -> list[str]:
    """The smallest architecture of each (div_val, d_embed == d_model) kind: every embedding/softmax variant."""
    size = {a: c["n_layer"] * c["d_model"] for a, c in bench.configs.items()}
    kinds: dict[tuple, str] = {}
    for arch in sorted(size, key=size.get):
        c = bench.configs[arch]
        kinds.setdefault((c["div_val"], c["d_embed"] == c["d_model"]), arch)
    return sorted(kinds.values())


def test_benchmark(bench):
    assert (len(bench), bench.target, bench.direction) == (200, "valid_ppl", "minimize")
    assert bench.targets.loc["config_0_j0", "valid_ppl"] == pytest.approx(45.022968707221274)
    assert bench.archs[:3] == ["config_0_j0", "config_0_j1", "config_0_j2"]
    features = pd.DataFrame({"arch": bench.archs, "x": np.random.default_rng(0).normal(size=len(bench))})
    test_ppl = bench.table(features, target="test_ppl")  # the extra target is a perplexity too: minimised
    assert (test_ppl.target, test_ppl.direction) == ("test_ppl", "minimize")
    np.testing.assert_array_equal(test_ppl.y, -bench.targets.loc[test_ppl.archs, "test_ppl"].to_numpy())


def test_parameter_counts_match_params_summary(bench, shared_data):
    summary = yaml.safe_load((shared_data / "lts_gpt2_wt103" / "params_summary.yaml").read_text())
    sample = _sample(bench)
    assert len(sample) == 6  # div_val 1/2/4 x (d_embed equal to / different from d_model)
    for arch in sample:
        counts = SPACE.build(bench.configs[arch]).param_counts()
        assert counts == {k: int(v) for k, v in summary[arch].items()}, arch


def test_parameter_count_by_hand():
    config = {
        "n_layer": 1,
        "d_model": 8,
        "n_head": [2],
        "d_inner": [12],
        "d_embed": 8,
        "div_val": 2,
        "n_token": 10,
        "cutoffs": [4, 7],
        "tie_projs": [False, True, True],
        "tgt_len": 6,
    }
    counts = SPACE.build(config).param_counts()
    attention = 4 * (8 * 8 + 8)
    ffn = 8 * 12 + 12 + 12 * 8 + 8
    embedding = (4 * 8 + 3 * 4 + 3 * 2) + (8 * 8 + 8 * 4 + 8 * 2) + 6 * 8  # tables, projections, positions
    head = 8 * 8 + 10 + 2 * 8 + 2  # untied head projection, biases, cluster weights and biases
    assert counts == {
        "AdaEmb": embedding,
        "Attn": attention,
        "FFN": ffn,
        "nonembedding": attention + ffn + 3 * 16,
        "total": embedding + attention + ffn + 48 + head,
    }


def test_log_probabilities_backward_and_causality(bench):
    torch.manual_seed(0)
    for arch in _sample(bench)[:3]:
        model = SPACE.build(bench.configs[arch])
        ids = torch.randint(0, 50264, (2, 9))
        ids[0, :3] = torch.tensor([5, 25000, 45000])  # one token from each cluster
        out = model(ids)
        assert out.shape == (2, 9, 50264)
        torch.testing.assert_close(out.exp().sum(-1), torch.ones(2, 9), atol=1e-4, rtol=0)
        torch.nn.functional.cross_entropy(out[:, :-1].reshape(-1, 50264), ids[:, 1:].reshape(-1)).backward()
        assert all(p.grad is not None for p in model.layers.parameters())
        changed = ids.clone()
        changed[:, 5] = 7
        with torch.no_grad():
            torch.testing.assert_close(model(changed)[:, :5], out[:, :5].detach())


def test_clean_cutoffs_follows_archai():
    assert clean_cutoffs([19997, 39997, 199997, 50264], 50264) == [19997, 39997, 50264]
    assert clean_cutoffs([19997, 39997], 50264) == [19997, 39997, 50264]
    assert clean_cutoffs([60000], 50264) == [50264]


def test_sample_and_errors():
    config = SPACE.sample(np.random.default_rng(1))
    assert len(config["n_head"]) == len(config["d_inner"]) == config["n_layer"]
    with pytest.raises(ConfigError, match="d_model 100 is not a multiple of n_head 8"):
        SPACE.build({**config, "d_model": 100, "n_head": [8] * config["n_layer"]})
    with pytest.raises(ValueError, match="sequence length 200 exceeds the 192 position embeddings"):
        SPACE.build({**config, "n_layer": 1, "d_model": 64, "d_embed": 64})(torch.zeros(1, 200, dtype=torch.long))
