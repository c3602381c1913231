"""Proxies that read weights and shapes only: parameter counts, FLOPs, weight norms."""

from __future__ import annotations

import torch
from torch import nn

from lpzero_sr.features.proxies.base import ProxyContext, proxy, total


@proxy("l2_norm", kinds=("weight",))
def l2_norm(ctx: ProxyContext) -> float:
    """Sum over the captured layers' matrices of ``||W||_2``. Abdelfattah et al., ICLR 2021 (NASLib ``l2_norm``)."""
    return total(
        torch.linalg.vector_norm(w.float())
        for slot in range(ctx.record.n_layers)
        for w in ctx.record.get("weight", slot)
    )


@proxy("params")
def params(ctx: ProxyContext) -> float:
    """Number of parameters (tied weights counted once)."""
    return float(sum(p.numel() for p in ctx.model.parameters()))


def _embedding_params(model: nn.Module) -> int:
    seen = {id(p): p.numel() for m in model.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    return sum(seen.values())


@proxy("params_nonemb")
def params_nonemb(ctx: ProxyContext) -> float:
    """Number of parameters outside ``nn.Embedding`` modules (token, position, type embeddings). Kaplan et al.,
    "Scaling Laws for Neural Language Models", 2020, count non-embedding parameters; LTS (Javaheripi et al.,
    NeurIPS 2022) uses the decoder parameter count as its proxy."""
    return float(sum(p.numel() for p in ctx.model.parameters()) - _embedding_params(ctx.model))


def _is_matmul(module: nn.Module) -> bool:
    return isinstance(module, nn.Linear) or type(module).__name__ == "Conv1D"


@proxy("flops", kinds=("head", "softmax"))
def flops(ctx: ProxyContext) -> float:
    """Forward FLOPs for one sequence of the batch: ``2 T sum(linear weights)`` (every linear, the LM head
    included, sees each of the T tokens) plus ``4 T S d_q`` per layer for ``QK^T`` and ``PV`` (S keys, Q width
    d_q). Embedding lookups, norms and activations are ignored."""
    tokens = ctx.batch.shape[-1]
    linear = sum(m.weight.numel() for m in ctx.model.modules() if _is_matmul(m))
    attention = 0
    for slot in range(ctx.record.n_layers):
        probs, heads = ctx.record.get("softmax", slot), ctx.record.get("head", slot)
        if probs and heads:
            attention += 4 * probs[0].shape[-2] * probs[0].shape[-1] * heads[0].shape[-1]
    return float(2 * tokens * linear + attention)
