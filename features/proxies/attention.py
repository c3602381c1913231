"""Attention-confidence proxies on the attention probabilities ``P`` (B, H, T, S) and the Q/K/V outputs."""

from __future__ import annotations

import numpy as np

from lpzero_sr.features.proxies.base import ProxyContext, proxy, total


@proxy("attn_conf", kinds=("softmax",))
def attn_conf(ctx: ProxyContext) -> float:
    """Mean over layers of ``mean_{b,h,t} max_s P[b,h,t,s]``: how peaked each query's attention is. Voita et al.,
    "Analyzing Multi-Head Self-Attention: Specialized Heads Do the Heavy Lifting", ACL 2019."""
    per_layer = [
        float(np.mean([p.amax(-1).mean().item() for p in ctx.record.get("softmax", s)]))
        for s in range(ctx.record.n_layers)
        if ctx.record.get("softmax", s)
    ]
    return float(np.mean(per_layer)) if per_layer else float("nan")


@proxy("softmax_conf", kinds=("softmax",))
def softmax_conf(ctx: ProxyContext) -> float:
    """Sum over layers of ``mean max_h P[b,h,t,s]`` (maximum over heads, dim 1). Serianni & Kalita, "Training-free
    Neural Architecture Search for RNNs and Transformers", ACL 2023 ("softmax confidence")."""
    return total(p.amax(1).mean() for s in range(ctx.record.n_layers) for p in ctx.record.get("softmax", s))


@proxy("head_conf", kinds=("head",))
def head_conf(ctx: ProxyContext) -> float:
    """Sum over layers and over the Q, K, V outputs ``X`` (B, T, d) of ``mean_{b,d} max_t X[b,t,d]``. Serianni &
    Kalita, ACL 2023 ("head confidence")."""
    return total(x.amax(1).mean() for s in range(ctx.record.n_layers) for x in ctx.record.get("head", s))
