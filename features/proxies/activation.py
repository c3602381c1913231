"""Proxies on the binary or spectral structure of the FFN activations ``a`` (B, T, F)."""

from __future__ import annotations

import torch

from lpzero_sr.errors import LpzeroError
from lpzero_sr.features.proxies.base import ProxyContext, proxy, single_thread, total
from lpzero_sr.features.proxies.weights import params

MAX_TOKENS = 256
PCA_VARIANCE = 0.99


def _tokens(a: torch.Tensor) -> torch.Tensor:
    """The activation as (tokens, F) rows, at most :data:`MAX_TOKENS` of them."""
    return a.reshape(-1, a.shape[-1])[:MAX_TOKENS].float()


def _hamming_kernel(codes: torch.Tensor) -> torch.Tensor:
    """``K = C C^T + (1 - C)(1 - C)^T = 2 C C^T - r_i - r_j + F`` (``r`` row sums, ``F`` units): the number of
    units on which two binary rows agree; one float32 matmul, exact for integer counts below 2^24."""
    rows = codes.sum(1)
    return (2 * codes @ codes.T - rows[:, None] - rows[None, :] + codes.shape[1]).double()


class SingularKernelError(LpzeroError):
    """nwot's kernel has determinant 0: its log-determinant is -inf, which is recorded as an error, not a number."""


@proxy("nwot", kinds=("act",))
def nwot(ctx: ProxyContext) -> float:
    """``log det K`` with ``K`` the Hamming-agreement kernel of the binary codes ``a > 0`` of all FFN units of all
    layers, one row per token (at most 256 tokens), from ``slogdet``. Mellor et al., "Neural Architecture Search
    without Training", ICML 2021.

    A kernel whose determinant is 0 (two tokens with the same codes in every layer, e.g. llama with 2 layers,
    hidden 48 and 1 head) has ``log det K = -inf``: that is raised as :class:`SingularKernelError`, so the
    extraction records it as the proxy's error and its value as NaN (a column a table leaves out), never as the
    number ``-inf``."""
    acts = [a for s in range(ctx.record.n_layers) for a in ctx.record.get("act", s)]
    if not acts:
        return float("nan")
    with single_thread():
        kernel = sum(_hamming_kernel((_tokens(a) > 0).float()) for a in acts)
        logdet = float(torch.linalg.slogdet(kernel)[1])
    if logdet == float("-inf"):
        raise SingularKernelError(
            f"the {kernel.shape[0]}-token Hamming kernel is singular (log det = -inf): some tokens share their "
            "activation codes in every layer"
        )
    return logdet


@proxy("act_distance", kinds=("act",))
def act_distance(ctx: ProxyContext) -> float:
    """Sum over layers of the entries of the Hamming-agreement kernel of ``a > 0`` over the tokens of the first
    sequence. Serianni & Kalita, "Training-free Neural Architecture Search for RNNs and Transformers", ACL 2023
    (after Mellor et al., ICML 2021)."""
    acts = [a for s in range(ctx.record.n_layers) for a in ctx.record.get("act", s)]
    with single_thread():
        return total(_hamming_kernel((a[0].reshape(a.shape[1], -1) > 0).float()).sum() for a in acts)


def _pca_dim(rows: torch.Tensor, variance: float) -> int:
    """Number of principal components of ``rows`` explaining ``variance`` of the total variance."""
    centred = rows - rows.mean(0)
    gram = centred @ centred.T if centred.shape[0] <= centred.shape[1] else centred.T @ centred
    eig = torch.linalg.eigvalsh(gram.double()).flip(0).clamp_min(0)
    ratio = torch.cumsum(eig, 0) / eig.sum()
    return int(torch.searchsorted(ratio, torch.tensor(variance, dtype=ratio.dtype)).item()) + 1


@proxy("wpca", kinds=("act",))
def wpca(ctx: ProxyContext) -> float:
    """``#params * sum over layers of PCA_dim(a, 0.99)``: the number of principal components explaining 99% of the
    variance of the FFN activations (tokens as samples, at most 256), weighted by the parameter count. Ying et al.,
    "W-PCA Based Gradient-Free Proxy for Efficient Search of Lightweight Language Models", ICLR 2025."""
    with single_thread():
        dims = sum(
            _pca_dim(_tokens(a), PCA_VARIANCE) for s in range(ctx.record.n_layers) for a in ctx.record.get("act", s)
        )
    return params(ctx) * dims
