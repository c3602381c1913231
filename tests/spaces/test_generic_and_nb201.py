"""The user's own space (HF configs + scores CSV); NB-Suite-Zero tables are tested in test_nb_suite_zero.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lpzero_sr.errors import ConfigError, DataError
from lpzero_sr.spaces import load_generic

GPT2 = {"model_type": "gpt2", "vocab_size": 64, "n_positions": 16, "n_head": 2}


def _write(tmp_path, jsonl: bool):
    configs = {f"a{i}": {**GPT2, "n_layer": 1 + i % 2, "n_embd": 8 * (1 + i)} for i in range(5)}
    if jsonl:
        path = tmp_path / "configs.jsonl"
        path.write_text("\n".join(json.dumps({"arch": a, "config": c}) for a, c in configs.items()) + "\n")
    else:
        path = tmp_path / "configs"
        path.mkdir()
        for arch, config in configs.items():
            (path / f"{arch}.json").write_text(json.dumps(config))
    scores = tmp_path / "scores.csv"
    scores.write_text("arch,loss\n" + "".join(f"a{i},{5 - i}.5\n" for i in range(5)))
    return path, scores


@pytest.mark.parametrize("jsonl", [False, True])
def test_generic_space_builds_hf_models(tmp_path, jsonl):
    configs, scores = _write(tmp_path, jsonl)
    bench = load_generic(configs, scores, target="loss", direction="minimize", name="mine")
    assert (len(bench), bench.target, bench.direction, bench.space.causal) == (5, "loss", "minimize", True)
    model = bench.build("a2")
    assert model.config.n_embd == 24 and model.config.n_layer == 1
    assert model(torch.zeros(1, 4, dtype=torch.long)).logits.shape == (1, 4, 64)
    assert bench.space.vocab_size(bench.configs["a0"]) == 64
    assert bench.space.sample(np.random.default_rng(0)) in bench.configs.values()
    frame = bench.targets.rename_axis("arch").reset_index().assign(size=[3.0, 1, 4, 1, 5])[["arch", "size"]]
    table = bench.table(frame)
    np.testing.assert_allclose(table.y, [-5.5, -4.5, -3.5, -2.5, -1.5])


def test_generic_errors(tmp_path):
    configs, scores = _write(tmp_path, jsonl=True)
    with pytest.raises(DataError, match="has no 'score' column; columns: arch, loss"):
        load_generic(configs, scores)
    (tmp_path / "bad4.jsonl").write_text(
        "".join(json.dumps({"arch": f"a{i}", "config": GPT2}) + "\n" for i in range(4))
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps({"arch": f"a{i}", "config": {"model_type": "t5"}}) + "\n" for i in range(5)))
    with pytest.raises(DataError, match="^1 scored architecture\\(s\\) have no config \\(first: 'a4'\\)$"):
        load_generic(bad.with_name("bad4.jsonl"), scores, target="loss")
    with pytest.raises(ConfigError, match="model_type must be one of gpt2, llama, qwen2, bert, got 't5'"):
        load_generic(bad, scores, target="loss")
