"""Jacobian proxies: one extra pass computing ``J = d sum(logits) / d e`` for the token-embedding output ``e``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lpzero_sr.features.loss import logits_of
from lpzero_sr.features.proxies.base import ProxyContext, proxy, single_thread
from lpzero_sr.features.recipes import input_embedding

JACOV_K = 1e-5
COSINE_POWER = 1.0 / 20


def _jacobian_pass(ctx: ProxyContext) -> torch.Tensor:
    """``J`` of shape (B, T, d): samples are independent, so row b is the Jacobian of sample b's summed logits."""
    seen: list[torch.Tensor] = []

    def keep(module: nn.Module, args: Any, output: torch.Tensor) -> None:
        seen.append(output)

    handle = input_embedding(ctx.model).register_forward_hook(keep)
    try:
        out = logits_of(ctx.model(ctx.batch))
    finally:
        handle.remove()
    return torch.autograd.grad(out.sum(), seen[0])[0].detach().double()


@proxy("jacov", extra_pass="jacobian")
def jacov(ctx: ProxyContext) -> float:
    """``-sum_i (log(v_i + k) + 1 / (v_i + k))``, ``v`` the eigenvalues of the correlation matrix of the per-sample
    Jacobians (rows: samples), ``k = 1e-5``. Mellor et al., "Neural Architecture Search without Training", 2020
    (v1, NASLib ``jacov``). Extra cost: one forward, one backward to the embeddings."""
    jac = ctx.cached("jacobian", lambda: _jacobian_pass(ctx))
    corr = torch.corrcoef(jac.reshape(jac.shape[0], -1))
    with single_thread():
        v = torch.linalg.eigvalsh(corr)
    return float(-(torch.log(v + JACOV_K) + 1.0 / (v + JACOV_K)).sum())


@proxy("jacob_cos", extra_pass="jacobian")
def jacob_cos(ctx: ProxyContext) -> float:
    """``1 - sum_{i != j} |cos(J_i, J_j)|^(1/20) / (2 (n^2 - n))`` over the rows ``J_i`` (one per hidden unit,
    over positions) of the batch-summed Jacobian. Serianni & Kalita, "Training-free Neural Architecture Search
    for RNNs and Transformers", ACL 2023 ("jacobian cosine"), there on position-embedding gradients.
    Shares the jacov pass."""
    jac = ctx.cached("jacobian", lambda: _jacobian_pass(ctx)).sum(0).T
    normed = jac / torch.linalg.vector_norm(jac, dim=1, keepdim=True).clamp_min(1e-30)
    cosines = normed @ normed.T
    n = cosines.shape[0]
    off = cosines.abs().pow(COSINE_POWER).sum() - torch.diagonal(cosines).abs().pow(COSINE_POWER).sum()
    return float(1 - off / 2 / (n * n - n))
