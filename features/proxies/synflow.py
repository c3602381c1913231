"""Synaptic flow proxies: one extra pass on the sign-linearised network (all parameters made non-negative)."""

from __future__ import annotations

import torch

from lpzero_sr.features.loss import logits_of
from lpzero_sr.features.proxies.base import ProxyContext, proxy, total


def _synflow_pass(ctx: ProxyContext) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(|W|, dR/dW)`` for the captured layers' matrices, with ``R = sum(logits)`` of the network whose parameters
    are all replaced by their absolute values (restored afterwards, also on error)."""
    model = ctx.model
    params = list(model.parameters())
    signs = [torch.sign(p.detach()) for p in params]
    weights = [p for spec in ctx.specs for _, p in spec.weights]
    try:
        with torch.no_grad():
            for p in params:
                p.abs_()
        out = logits_of(model(ctx.batch))
        grads = torch.autograd.grad(out.sum(), weights)
        return [(w.detach().clone(), g) for w, g in zip(weights, grads, strict=True)]
    finally:
        with torch.no_grad():
            for p, s in zip(params, signs, strict=True):
                p.mul_(torch.where(s == 0, torch.ones_like(s), s))


@proxy("synflow", extra_pass="synflow")
def synflow(ctx: ProxyContext) -> float:
    """``sum |W * dR/dW|`` with ``R`` the summed logits of the sign-linearised network on the batch. Tanaka et al.,
    "Pruning neural networks without any data by iteratively conserving synaptic flow", NeurIPS 2020 (NASLib form:
    one pass, no pruning iterations). Extra cost: one forward and one backward."""
    return total((w * g).abs().sum() for w, g in ctx.cached("synflow", lambda: _synflow_pass(ctx)))


@proxy("logsynflow", extra_pass="synflow")
def logsynflow(ctx: ProxyContext) -> float:
    """``sum |W| * log(|dR/dW| + 1)`` on the synflow pass (shared with ``synflow``). Cavagnero et al., "Entropic
    Score metric: Decoupling Topology and Size in Training-free NAS" / "LogSynFlow", 2023."""
    return total((w * torch.log1p(g.abs())).sum() for w, g in ctx.cached("synflow", lambda: _synflow_pass(ctx)))
