"""Transformer-XL adaptive input embedding and projected adaptive log-softmax, as used by the LTS GPT-2 models.

Clusters split the vocabulary at ``cutoffs``; cluster ``i`` has embedding width ``d_embed // div_val**i`` and a
projection to ``d_proj`` (= ``d_model``). The output side shares the embedding matrices (``tie_weight``) and,
per cluster, optionally the projections (``tie_projs``); the head cluster also scores one logit per tail cluster.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def clean_cutoffs(cutoffs: list[int], n_token: int) -> list[int]:
    """archai's rule: keep increasing cutoffs up to the first one above ``n_token``, and end at ``n_token``."""
    kept: list[int] = []
    for c in cutoffs:
        if kept and c <= kept[-1]:
            raise ValueError(f"cutoffs must increase, got {cutoffs}")
        kept.append(min(int(c), n_token))
        if c >= n_token:
            break
    if not kept or kept[-1] < n_token:
        kept.append(n_token)
    return kept


class AdaptiveEmbedding(nn.Module):
    """Adaptive input: per-cluster embedding tables projected to ``d_proj``, scaled by ``sqrt(d_proj)``."""

    def __init__(self, n_token: int, d_embed: int, d_proj: int, cutoffs: list[int], div_val: int) -> None:
        super().__init__()
        self.n_token, self.d_embed, self.d_proj, self.div_val = n_token, d_embed, d_proj, div_val
        self.cutoffs = cutoffs
        self.bounds = [0, *cutoffs]
        self.emb_layers = nn.ModuleList()
        self.emb_projs = nn.ParameterList()
        if div_val == 1:
            self.emb_layers.append(nn.Embedding(n_token, d_embed))
            if d_proj != d_embed:
                self.emb_projs.append(nn.Parameter(torch.zeros(d_proj, d_embed)))
        else:
            for i in range(len(cutoffs)):
                width = d_embed // div_val**i
                self.emb_layers.append(nn.Embedding(self.bounds[i + 1] - self.bounds[i], width))
                self.emb_projs.append(nn.Parameter(torch.zeros(d_proj, width)))

    def cluster_width(self, i: int) -> int:
        return self.d_embed if self.div_val == 1 else self.d_embed // self.div_val**i

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        if self.div_val == 1:
            emb = self.emb_layers[0](input_ids)
            if len(self.emb_projs):
                emb = F.linear(emb, self.emb_projs[0])
            return emb * self.d_proj**0.5
        flat = input_ids.reshape(-1)
        out = self.emb_projs[0].new_zeros(flat.shape[0], self.d_proj)
        for i, layer in enumerate(self.emb_layers):
            lo, hi = self.bounds[i], self.bounds[i + 1]
            idx = ((flat >= lo) & (flat < hi)).nonzero().squeeze(1)
            if idx.numel():
                out = out.index_copy(0, idx, F.linear(layer(flat[idx] - lo), self.emb_projs[i]))
        return out.view(*input_ids.shape, self.d_proj) * self.d_proj**0.5


class AdaptiveLogSoftmax(nn.Module):
    """Projected adaptive log-softmax over the clusters of ``embedding``; returns full log-probabilities."""

    def __init__(self, embedding: AdaptiveEmbedding, tie_projs: list[bool], tie_weight: bool) -> None:
        super().__init__()
        self.emb = [embedding]  # a list, so the shared module is not registered (and counted) twice
        e = embedding
        n_clusters = len(e.cutoffs) - 1
        self.tie_projs = [bool(t) for t in tie_projs[: len(e.cutoffs)]] + [False] * (len(e.cutoffs) - len(tie_projs))
        self.cluster_weight = nn.Parameter(torch.zeros(n_clusters, e.d_embed)) if n_clusters else None
        self.cluster_bias = nn.Parameter(torch.zeros(n_clusters)) if n_clusters else None
        self.tie_weight = tie_weight
        tables = (
            [(e.n_token, e.d_embed)]
            if e.div_val == 1
            else [(e.bounds[i + 1] - e.bounds[i], e.cluster_width(i)) for i in range(len(e.cutoffs))]
        )
        self.out_weights = (
            nn.ParameterList()
            if tie_weight
            else nn.ParameterList(nn.Parameter(torch.zeros(*shape)) for shape in tables)
        )
        self.out_biases = nn.ParameterList(nn.Parameter(torch.zeros(rows)) for rows, _ in tables)
        self.out_projs = nn.ParameterDict()
        needs_proj = e.div_val != 1 or e.d_proj != e.d_embed
        for i in range(len(e.cutoffs)):
            if needs_proj and not self.tie_projs[i]:
                self.out_projs[str(i)] = nn.Parameter(torch.zeros(e.d_proj, e.cluster_width(i)))

    def own_projs(self) -> list[nn.Parameter]:
        return list(self.out_projs.values())

    def _proj(self, i: int) -> torch.Tensor | None:
        if str(i) in self.out_projs:
            return self.out_projs[str(i)]
        shared = self.emb[0].emb_projs
        if not len(shared):
            return None
        return shared[0] if len(shared) == 1 else shared[i]

    def _table(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.emb[0]
        weights = [layer.weight for layer in e.emb_layers] if self.tie_weight else list(self.out_weights)
        if e.div_val == 1:
            lo, hi = e.bounds[i], e.bounds[i + 1]
            return weights[0][lo:hi], self.out_biases[0][lo:hi]
        return weights[i], self.out_biases[i]

    def _logits(self, hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, i: int) -> torch.Tensor:
        proj = self._proj(i)
        if proj is not None:
            hidden = hidden @ proj
        return F.linear(hidden, weight, bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(N, d_proj) -> (N, n_token)`` log-probabilities."""
        weight, bias = self._table(0)
        if self.cluster_weight is not None:
            weight = torch.cat([weight, self.cluster_weight])
            bias = torch.cat([bias, self.cluster_bias])
        head = F.log_softmax(self._logits(hidden, weight, bias, 0), dim=-1)
        head_size = self.emb[0].cutoffs[0]
        parts = [head[:, :head_size]]
        for i in range(1, len(self.emb[0].cutoffs)):
            weight, bias = self._table(i)
            tail = F.log_softmax(self._logits(hidden, weight, bias, i), dim=-1)
            parts.append(head[:, head_size + i - 1 : head_size + i] + tail)
        return torch.cat(parts, dim=1)
