"""LPZero's two published proxies (Dong et al., "LPZero: Language Model Zero-cost Proxy Search from Zero", EMNLP
Findings 2024), each its genotype evaluated exactly as LPZero's code evaluates it, on LPZero's item lists
(:mod:`lpzero_sr.features.lpzero_space`). Values keep LPZero's sign: on LTS GPT-2 ``lpzero-gpt2`` *rises* with
perplexity (LPZero reports |rho| 0.98 / |tau| 0.886; in this project's higher-is-better convention -0.980 /
-0.886).

* ``lpzero-gpt2`` ``INPUT:(weight, grad) TREE:(pow|l1_norm, softmax|pow) BINARY:(sum)``: per GPT-2 projection
  ``m`` (fused q|k|v, attention output, FFN in, FFN out; Conv1D's (in, out) layout)
  ``mean(W_m**2) + mean(softmax(G_m, dim=0)**2)``, averaged over projections.
* ``lpzero-flexibert`` ``INPUT:(head, act) TREE:(revert|pow, frobenius_norm|logsoftmax) BINARY:(sum)``: the act
  branch is the log-softmax of a 0-d tensor (0), so the value is the mean of ``mean(q**2)`` over the query
  projections' outputs (an LT layer's input projection), read twice (LPZero's hooks stay registered through its
  second forward pass) and cut at the number of FFN activations. LPZero built FlexiBERT models at ELECTRA-small's
  widths (``flexibert-electra``).
"""

from __future__ import annotations

from lpzero_sr.features.lpzero_space import FORWARD, INPUTS, PUBLISHED, Branches, Genotype, items_of
from lpzero_sr.features.proxies.base import ProxyContext, proxy


def _value(ctx: ProxyContext, genotype: Genotype) -> float:
    captured = [k for k in INPUTS if k in FORWARD or k in ctx.record.tensors]
    lists = ctx.cached("lpzero_items", lambda: items_of(ctx.record, captured))
    branches = ctx.cached("lpzero_branches", lambda: Branches(lists))
    return genotype.value(branches)


@proxy("lpzero-gpt2", kinds=("weight", "grad", "items"))
def lpzero_gpt2(ctx: ProxyContext) -> float:
    """LPZero's searched GPT-2 proxy (see the module docstring); rises with perplexity on LTS."""
    return _value(ctx, PUBLISHED["lpzero-gpt2"])


@proxy("lpzero-flexibert", kinds=("items",))
def lpzero_flexibert(ctx: ProxyContext) -> float:
    """LPZero's searched FlexiBERT proxy (see the module docstring)."""
    return _value(ctx, PUBLISHED["lpzero-flexibert"])
