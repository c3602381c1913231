"""LTS GPT-2 space: 200 decoders trained on WikiText-103 (``lts_gpt2_wt103/config_N/jM/model_config.yaml``).

The configs come from archai's ``neurips-lts`` branch, whose "GPT-2 flex" model is Hugging Face's GPT-2 block
(pre-LayerNorm, learned absolute positions, causal softmax attention with biases, GELU-tanh MLP) with per-layer
``n_head`` and ``d_inner``, Transformer-XL's adaptive input embedding and projected adaptive log-softmax. This is
rebuilt here in plain torch; its parameter count by part equals ``params_summary.yaml`` exactly (attention,
FFN, layer norms, non-embedding, embedding and total; see the tests). What is not reproduced:

* memory / ``mem_len`` / ``attn_type``: unused by that model (no recurrence, no relative positions);
* dropout (zero-cost proxies run the model in a deterministic state);
* the head computes full-vocabulary log-probabilities, so ``forward`` returns ``(B, T, n_token)``
  **log-probabilities** (normalised logits: cross-entropy on them equals the adaptive-softmax NLL).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml
from torch import nn

from lpzero_sr.errors import ConfigError, DataError
from lpzero_sr.features.probe import Probe
from lpzero_sr.spaces.base import SPACES, Benchmark, choice
from lpzero_sr.spaces.data import dataset_dir
from lpzero_sr.spaces.lts_heads import AdaptiveEmbedding, AdaptiveLogSoftmax, clean_cutoffs

# the random search space of the LTS paper (Javaheripi et al. 2022, GPT-2 on WikiText-103)
SEARCH_SPACE: dict[str, list[int]] = {
    "n_layer": [2, 3, 4, 5, 6, 7, 8],
    "d_model": [128, 256, 512, 768, 1024],
    "d_inner_min_factor": [1],
    "n_head": [2, 4, 8],
    "div_val": [1, 2, 4],
    "d_embed_factor": [1, 2],
}
DEFAULTS: dict[str, Any] = {
    "n_token": 50264,
    "cutoffs": [19997, 39997, 199997, 50264],
    "tie_projs": [False, True, True, True],
    "tie_weight": True,
    "tgt_len": 192,
    "weight_init_std": 0.02,
    "proj_init_std": 0.01,
}


class Block(nn.Module):
    """GPT-2 block: ``x + attn(ln_1(x))`` then ``x + mlp(ln_2(x))``."""

    def __init__(self, d_model: int, n_head: int, d_inner: int, max_len: int) -> None:
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"d_model {d_model} is not a multiple of n_head {n_head}")
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(d_model, eps=1e-5)
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.attn_probs = Probe()
        self.ln_2 = nn.LayerNorm(d_model, eps=1e-5)
        self.fc_in = nn.Linear(d_model, d_inner)
        self.ffn_act = nn.GELU(approximate="tanh")
        self.fc_out = nn.Linear(d_inner, d_model)
        self.register_buffer("causal", torch.ones(max_len, max_len).tril().bool(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.ln_1(x)
        q, k, v = (
            z.view(b, t, self.n_head, -1).transpose(1, 2) for z in (self.q_proj(h), self.k_proj(h), self.v_proj(h))
        )
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        scores = scores.masked_fill(~self.causal[:t, :t], torch.finfo(scores.dtype).min)
        probs = self.attn_probs(torch.softmax(scores, dim=-1))
        x = x + self.out_proj((probs @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.fc_out(self.ffn_act(self.fc_in(self.ln_2(x))))


class LtsGpt2Model(nn.Module):
    """GPT-2 flex decoder with adaptive input and output; ``forward`` returns log-probabilities."""

    causal = True

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        c = {**DEFAULTS, **config}
        n_layer, d_model = int(c["n_layer"]), int(c["d_model"])
        n_head, d_inner = _per_layer(c["n_head"], n_layer, "n_head"), _per_layer(c["d_inner"], n_layer, "d_inner")
        d_embed = int(c.get("d_embed") or d_model)
        if d_embed < 0:
            d_embed = d_model
        self.max_len = int(c["tgt_len"])
        cutoffs = clean_cutoffs(list(c["cutoffs"]), int(c["n_token"]))
        self.wte = AdaptiveEmbedding(int(c["n_token"]), d_embed, d_model, cutoffs, int(c["div_val"]))
        self.wpe = nn.Embedding(self.max_len, d_model)
        self.layers = nn.ModuleList(Block(d_model, n_head[i], d_inner[i], self.max_len) for i in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model, eps=1e-5)
        self.crit = AdaptiveLogSoftmax(self.wte, list(c["tie_projs"]), bool(c["tie_weight"]))
        self._init(float(c["weight_init_std"]), float(c["proj_init_std"]), n_layer)

    def _init(self, std: float, proj_std: float, n_layer: int) -> None:
        """archai's GPT-2 init: N(0, std) weights, zero biases, residual outputs scaled by 1/sqrt(2 n_layer)."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, std)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for block in self.layers:
            for module in (block.out_proj, block.fc_out):
                nn.init.normal_(module.weight, 0.0, std / math.sqrt(2 * n_layer))
        for proj in [*self.wte.emb_projs, *self.crit.own_projs()]:
            nn.init.normal_(proj, 0.0, proj_std)
        if self.crit.cluster_weight is not None:
            nn.init.normal_(self.crit.cluster_weight, 0.0, std)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        b, t = input_ids.shape
        if t > self.max_len:
            raise ValueError(f"sequence length {t} exceeds the {self.max_len} position embeddings")
        x = self.wte(input_ids) + self.wpe(torch.arange(t, device=input_ids.device))
        for layer in self.layers:
            x = layer(x)
        return self.crit(self.ln_f(x).reshape(b * t, -1)).view(b, t, -1)

    def param_counts(self) -> dict[str, int]:
        """Parameters by part, in the categories of archai's ``params_summary.yaml``."""

        def count(params: Any) -> int:
            return sum(p.numel() for p in params)

        attn = sum(count(m.parameters()) for b in self.layers for m in (b.q_proj, b.k_proj, b.v_proj, b.out_proj))
        ffn = sum(count(m.parameters()) for b in self.layers for m in (b.fc_in, b.fc_out))
        norms = sum(count(m.parameters()) for m in self.modules() if isinstance(m, nn.LayerNorm))
        embedding = count(self.wte.parameters()) + count(self.wpe.parameters())
        return {
            "AdaEmb": embedding,
            "Attn": attn,
            "FFN": ffn,
            "nonembedding": attn + ffn + norms,
            "total": count(self.parameters()),
        }


def _per_layer(value: Any, n_layer: int, key: str) -> list[int]:
    values = [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)] * n_layer
    if len(values) < n_layer:
        raise ValueError(f"{key} lists {len(values)} values for {n_layer} layers")
    return values[:n_layer]


class LtsGpt2Space:
    """The registered ``lts-gpt2`` space."""

    name = "lts-gpt2"
    dataset = "lts-gpt2"
    causal = True

    def load(self, data_dir: Path) -> Benchmark:
        root = dataset_dir(data_dir, self.dataset)
        ppl = _read_yaml(root / "ppl_summary.yaml")
        configs, rows = {}, []
        for path in sorted(root.glob("config_*/j*/model_config.yaml")):
            arch = f"{path.parent.parent.name}_{path.parent.name}"
            if arch not in ppl:
                continue
            configs[arch] = _read_yaml(path)
            rows.append(
                {"arch": arch, "valid_ppl": float(ppl[arch]["valid_ppl"]), "test_ppl": float(ppl[arch]["test_ppl"])}
            )
        if not rows:
            raise DataError(f"no model_config.yaml with a valid_ppl under {root}")
        targets = pd.DataFrame(rows).set_index("arch").sort_index(key=_natural_key)
        return Benchmark(self.name, configs, targets, "valid_ppl", "minimize", space=self)

    def build(self, config: dict[str, Any]) -> nn.Module:
        try:
            return LtsGpt2Model(config)
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(f"invalid LTS GPT-2 config: {exc!r}") from exc

    def vocab_size(self, config: dict[str, Any]) -> int:
        return int(config.get("n_token", DEFAULTS["n_token"]))

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        n_layer, d_model = choice(rng, SEARCH_SPACE["n_layer"]), choice(rng, SEARCH_SPACE["d_model"])
        return {
            **DEFAULTS,
            "n_layer": n_layer,
            "d_model": d_model,
            "d_embed": d_model * choice(rng, SEARCH_SPACE["d_embed_factor"]),
            "div_val": choice(rng, SEARCH_SPACE["div_val"]),
            "n_head": [choice(rng, SEARCH_SPACE["n_head"]) for _ in range(n_layer)],
            "d_inner": [int(rng.integers(d_model, 4 * d_model + 1)) for _ in range(n_layer)],
        }


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(f"LTS file not found: {path} (run `lpzero-sr data download lts-gpt2`)")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"cannot parse {path}: {exc}") from exc


def _natural_key(index: pd.Index) -> pd.Index:
    return index.map(lambda a: tuple(int(p.strip("j")) for p in a.split("_")[1:]))


SPACES.register("lts-gpt2")(LtsGpt2Space())
