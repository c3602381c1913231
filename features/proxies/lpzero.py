"""LPZero's published proxy."""

from __future__ import annotations

import numpy as np

from lpzero_sr.features.proxies.base import ProxyContext, proxy


@proxy("lpzero", kinds=("weight", "grad"))
def lpzero(ctx: ProxyContext) -> float:
    """Mean over layers of ``mean(W^2) + mean(softmax(g)^2)``, with a layer's matrices flattened together and the
    softmax taken over all of the layer's gradient entries (the bank's convention). Dong et al., "LPZero: Language
    Model Zero-cost Proxy Search from Zero", EMNLP Findings 2024."""
    stats = ctx.stat(["weight.sqr.mean", "grad.softmax.fro"])
    sizes = np.array([sum(g.numel() for g in ctx.record.get("grad", s)) for s in range(ctx.record.n_layers)])
    per_layer = stats["weight.sqr.mean"] + stats["grad.softmax.fro"] ** 2 / sizes
    return float(np.mean(per_layer))
