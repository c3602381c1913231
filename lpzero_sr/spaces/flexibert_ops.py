"""FlexiBERT token-mixing operations and the encoder layer, in plain torch.

Written from the FlexiBERT paper (Tuli et al., JAIR 2023) and the encoder used by "Training-free NAS for RNNs and
Transformers" (Serianni & Kalita, ACL 2023), whose benchmark this space reproduces. Shapes and parameter counts
follow that encoder, so a model built with its (hidden 256, FFN 1024) settings has exactly the parameter count
the authors published per architecture (checked in the tests).

Hook conventions (shared with the features recipes): attention projections are ``q_proj``/``k_proj``/``v_proj``
(``nn.Linear``), attention probabilities pass through the probe ``attn_probs``, the FFN activation is ``ffn_act``.

* ``SA`` (self-attention): ``SDP`` scaled dot-product, or ``WMA`` weighted multiplicative attention
  ``softmax((W q) k^T / sqrt(d_head))`` with an extra bias-free ``wma`` matrix ``W``. Heads: ``num_operation_heads``.
* ``LT`` (linear transform, FNet-like): a linear input projection, named ``v_proj`` because it plays the value's
  role, split into ``num_operation_heads`` heads; each head ``(T, d_head)`` is mixed by a 2-D ``DFT`` (real part)
  or an unnormalised 2-D ``DCT``-II. LT mixes without a softmax; as in the reference implementation (whose
  softmax-confidence proxy hooks it), the probe ``attn_probs`` observes a softmax of the mixed heads over their
  last dimension, which does not feed the output. "Head" statistics of LT layers come from ``v_proj`` alone.
* ``DSC`` (dynamic span-based convolution, ConvBERT mixed attention with head ratio 2): half the heads are
  self-attention heads (their probabilities go through ``attn_probs``), half are convolution heads whose
  per-token kernel of width 5 or 9 is a softmax over the span (probe ``kernel_probs``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from lpzero_sr.features.probe import Probe

CONV_HEAD_RATIO = 2


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``(B, T, h*d) -> (B, h, T, d)``."""
    b, t, _ = x.shape
    return x.view(b, t, heads, -1).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(B, h, T, d) -> (B, T, h*d)``."""
    b, h, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, h * d)


def dct_matrix(n: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Unnormalised DCT-II basis: ``C[k, m] = 2 cos(pi (2m + 1) k / (2n))`` (scipy's ``dct(type=2)``)."""
    k = torch.arange(n, device=device, dtype=dtype)[:, None]
    m = torch.arange(n, device=device, dtype=dtype)[None, :]
    return 2 * torch.cos(math.pi * (2 * m + 1) * k / (2 * n))


class SelfAttention(nn.Module):
    """Multi-head self-attention (``SDP``, or ``WMA`` when ``weighted``); returns the merged context."""

    def __init__(self, hidden: int, heads: int, weighted: bool) -> None:
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(hidden, hidden)
        self.k_proj = nn.Linear(hidden, hidden)
        self.v_proj = nn.Linear(hidden, hidden)
        self.wma = nn.Linear(hidden, hidden, bias=False) if weighted else None
        self.attn_probs = Probe()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.q_proj(x)
        if self.wma is not None:
            q = self.wma(q)
        q, k, v = (split_heads(t, self.heads) for t in (q, self.k_proj(x), self.v_proj(x)))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        probs = self.attn_probs(torch.softmax(scores, dim=-1))
        return merge_heads(probs @ v)


class LinearTransform(nn.Module):
    """FNet-style token mixing of each head by a 2-D DFT (real part) or 2-D DCT-II; no softmax."""

    def __init__(self, hidden: int, heads: int, transform: str) -> None:
        super().__init__()
        if transform not in ("DFT", "DCT"):
            raise ValueError(f"LT transform must be DFT or DCT, got {transform!r}")
        self.heads = heads
        self.transform = transform
        self.v_proj = nn.Linear(hidden, hidden)
        self.attn_probs = Probe()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = split_heads(self.v_proj(x), self.heads)  # (B, h, T, d)
        if self.transform == "DFT":
            wide = v if v.dtype in (torch.float32, torch.float64) else v.float()  # no 16-bit FFT of any length
            mixed = torch.fft.fft2(wide).real.to(v.dtype)
        else:
            t, d = v.shape[-2:]
            mixed = dct_matrix(t, v.device, v.dtype) @ v @ dct_matrix(d, v.device, v.dtype).T
        self.attn_probs(torch.softmax(mixed, dim=-1))  # observed only (see the module docstring)
        return merge_heads(mixed)


class DynamicSpanConv(nn.Module):
    """ConvBERT mixed attention: ``heads // 2`` self-attention heads + as many dynamic convolution heads."""

    def __init__(self, hidden: int, heads: int, kernel: int) -> None:
        super().__init__()
        self.kernel = kernel
        self.heads = max(1, heads // CONV_HEAD_RATIO)
        head_dim = hidden // heads
        inner = self.heads * head_dim
        self.q_proj = nn.Linear(hidden, inner)
        self.k_proj = nn.Linear(hidden, inner)
        self.v_proj = nn.Linear(hidden, inner)
        # span-based dynamic kernel: separable convolution of the input gates the query
        self.key_conv_depthwise = nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2, groups=hidden, bias=False)
        self.key_conv_pointwise = nn.Conv1d(hidden, inner, 1, bias=False)
        self.key_conv_bias = nn.Parameter(torch.zeros(inner))
        self.conv_kernel = nn.Linear(inner, self.heads * kernel)
        self.conv_out = nn.Linear(hidden, inner)
        self.attn_probs = Probe()
        self.kernel_probs = Probe()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.q_proj(x)
        key_conv = self.key_conv_pointwise(self.key_conv_depthwise(x.transpose(1, 2))).transpose(1, 2)
        key_conv = key_conv + self.key_conv_bias
        kernel_logits = self.conv_kernel(key_conv * q).view(b, t, self.heads, self.kernel)
        kernel = self.kernel_probs(torch.softmax(kernel_logits, dim=-1))  # (B, T, h, K)
        values = split_heads(self.conv_out(x), self.heads)  # (B, h, T, d)
        pad = self.kernel // 2
        spans = F.pad(values, (0, 0, pad, pad)).unfold(2, self.kernel, 1)  # (B, h, T, d, K)
        conv = torch.einsum("bhtdk,bthk->bthd", spans, kernel)  # (B, T, h, d)

        qh, kh, vh = (split_heads(z, self.heads) for z in (q, self.k_proj(x), self.v_proj(x)))
        probs = self.attn_probs(torch.softmax(qh @ kh.transpose(-1, -2) / math.sqrt(qh.shape[-1]), dim=-1))
        attn = (probs @ vh).transpose(1, 2)  # (B, T, h, d)
        return torch.cat([attn, conv], dim=2).reshape(b, t, -1)


class FeedForward(nn.Module):
    """``num_feed_forward`` stacked dense layers of width ``dim`` and a projection back to ``hidden``.

    Only the last activation (the input of ``fc_out``, the usual "FFN intermediate output") is the module
    ``ffn_act``, so its hook fires once per layer; the earlier ones in the stack are functional GELUs.
    """

    def __init__(self, hidden: int, dim: int, stacks: int) -> None:
        super().__init__()
        self.fc_in = nn.Linear(hidden, dim)
        self.stack = nn.ModuleList(nn.Linear(dim, dim) for _ in range(stacks - 1))
        self.ffn_act = nn.GELU()
        self.fc_out = nn.Linear(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc_in(x)
        for dense in self.stack:
            h = dense(F.gelu(h))
        return self.fc_out(self.ffn_act(h))


class FlexiLayer(nn.Module):
    """One heterogeneous encoder layer: token mixing, then the FFN stack, post-LayerNorm residuals.

    ``SA`` and ``DSC`` outputs go through a dense projection with a residual and LayerNorm (BERT's
    self-output); ``LT`` output feeds the FFN directly, as in the reference encoder.
    """

    def __init__(self, hidden: int, spec: dict, eps: float = 1e-12) -> None:
        super().__init__()
        op, param, heads = spec["operation_type"], spec["operation_parameter"], int(spec["num_operation_heads"])
        if hidden % heads:
            raise ValueError(f"hidden size {hidden} is not a multiple of {heads} heads")
        if op == "SA":
            if param not in ("SDP", "WMA"):
                raise ValueError(f"SA parameter must be SDP or WMA, got {param!r}")
            self.mixer: nn.Module = SelfAttention(hidden, heads, weighted=param == "WMA")
        elif op == "LT":
            self.mixer = LinearTransform(hidden, heads, str(param))
        elif op == "DSC":
            if int(param) not in (5, 9):
                raise ValueError(f"DSC kernel must be 5 or 9, got {param!r}")
            self.mixer = DynamicSpanConv(hidden, heads, int(param))
        else:
            raise ValueError(f"unknown operation type {op!r}; expected SA, LT or DSC")
        self.has_output = op != "LT"
        if self.has_output:
            self.out_proj = nn.Linear(hidden, hidden)
            self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.ffn = FeedForward(hidden, int(spec["feed_forward_dimension"]), int(spec["num_feed_forward"]))
        self.ffn_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = self.mixer(x)
        if self.has_output:
            mixed = self.attn_norm(self.out_proj(mixed) + x)
        return self.ffn_norm(self.ffn(mixed) + mixed)
