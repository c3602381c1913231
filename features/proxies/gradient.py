"""Gradient-based proxies computed from the zero-cost loss gradients of the captured layers' matrices.

Weights ``W`` and gradients ``g = dL/dW`` are those of the main pass (see :mod:`lpzero_sr.features.hooks`).
"""

from __future__ import annotations

import torch

from lpzero_sr.features.loss import logits_of, zero_cost_loss
from lpzero_sr.features.proxies.base import ProxyContext, proxy, single_thread, total


@proxy("grad_norm", kinds=("weight", "grad"))
def grad_norm(ctx: ProxyContext) -> float:
    """Sum over matrices of ``||g||_2``. Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021."""
    return total(torch.linalg.vector_norm(g) for _, g in ctx.matrices())


@proxy("snip", kinds=("weight", "grad"))
def snip(ctx: ProxyContext) -> float:
    """``sum |W * g|``. Lee et al., "SNIP: Single-shot Network Pruning based on Connection Sensitivity", ICLR 2019."""
    return float(ctx.saliency()[:, 0].sum())


@proxy("plain", kinds=("weight", "grad"))
def plain(ctx: ProxyContext) -> float:
    """``sum W * g``. Mozer & Smolensky 1989, as benchmarked by Abdelfattah et al., ICLR 2021."""
    return float(ctx.saliency()[:, 1].sum())


@proxy("fisher", kinds=("act", "act_grad"))
def fisher(ctx: ProxyContext) -> float:
    """Sum over layers and FFN channels c of ``0.5 * mean_b (sum_t a[b,t,c] * dL/da[b,t,c])^2``, with ``a`` the FFN
    activation output. Theis et al., "Faster gaze prediction with dense networks and Fisher pruning", 2018; as
    in Turner et al., "BlockSwap", ICLR 2020."""
    values = []
    for slot in range(ctx.record.n_layers):
        for a, da in zip(ctx.record.get("act", slot), ctx.record.get("act_grad", slot), strict=True):
            per_channel = (a * da).flatten(1, -2).sum(1)
            values.append(0.5 * per_channel.square().mean(0).sum())
    return total(values)


@proxy("synaptic_diversity", kinds=("weight", "grad"))
def synaptic_diversity(ctx: ProxyContext) -> float:
    """Sum over attention matrices of ``||W||_* * ||g||_*`` (nuclear norms). Zhou et al., "Training-free
    Transformer Architecture Search", CVPR 2022; as used by Serianni & Kalita, "Training-free Neural Architecture
    Search for RNNs and Transformers", ACL 2023."""
    with single_thread():
        return total(nuclear_norm(w) * nuclear_norm(g) for w, g in ctx.matrices("attn"))


def nuclear_norm(m: torch.Tensor) -> torch.Tensor:
    """Sum of singular values, as the square roots of the eigenvalues of the smaller Gram matrix (float32): several
    times faster than an SVD on CPU; equal to float64 ``svdvals`` within 1e-4 relative (tested)."""
    m = m.reshape(m.shape[0], -1).float()
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    return torch.linalg.eigvalsh(gram).clamp_min(0).sqrt().sum()


@proxy("synaptic_saliency", kinds=("weight", "grad"))
def synaptic_saliency(ctx: ProxyContext) -> float:
    """Sum over feed-forward matrices of ``|W * g|``. Zhou et al., CVPR 2022; Serianni & Kalita, ACL 2023."""
    return float(ctx.saliency("ffn")[:, 0].sum())


@proxy("head_importance", kinds=("weight", "grad"))
def head_importance(ctx: ProxyContext) -> float:
    """Sum over attention matrices (Q/K/V/output projections) of ``|W * g|``: the weight form of Michel et al.,
    "Are Sixteen Heads Really Better than One?", NeurIPS 2019, as implemented by Serianni & Kalita, ACL 2023."""
    return float(ctx.saliency("attn")[:, 0].sum())


@proxy("grasp", kinds=("weight", "grad"), extra_pass="grasp")
def grasp(ctx: ProxyContext) -> float:
    """``-sum W * (H g)`` with ``H`` the Hessian of the loss and ``g`` its gradient (main pass). Wang et al.,
    "Picking Winning Tickets Before Training by Preserving Gradient Flow", ICLR 2020. Extra cost: one forward and
    a double backward (gradient with graph, then Hessian-vector product)."""
    params = [p for spec in ctx.specs for _, p in spec.weights]
    grads = [g for _, g in ctx.matrices()]
    loss = zero_cost_loss(logits_of(ctx.model(ctx.batch)), ctx.batch, ctx.causal)
    first = torch.autograd.grad(loss, params, create_graph=True)
    dot = sum((a * b).sum() for a, b in zip(first, grads, strict=True))
    hessian_grad = torch.autograd.grad(dot, params)
    return total(-(p.detach() * hg).sum() for p, hg in zip(params, hessian_grad, strict=True))
