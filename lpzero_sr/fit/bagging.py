"""Bagged formulas: several searches' formulas combined by rank averaging into one readable formula.

Searches that differ only in their random seed find different formulas of similar training loss; each ranks the
held-out architectures with its own errors. The sum of their training quantiles, ``q(f1) + q(f2) + ...``, is a
rank average of the formulas (each term is the formula's centred mid-rank among the training architectures,
:mod:`lpzero_sr.quantile`): it keeps what they agree on and averages away what each found by chance. The result is
still one formula, stored as a JSON tree with the formulas and their training CDFs, and scored by numpy, torch and
the exported torch source alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import Quantile
from lpzero_sr.table import StatTable


def subspace(features: Sequence[str], share: float, seed: int) -> tuple[str, ...]:
    """The columns one search of a bag sees (the random subspace method): ``ceil(share * n)`` of the ``n``
    ``features`` (at least 2 where there are), drawn without replacement by ``seed``, in their given order;
    all of them when ``share`` is 1."""
    if share >= 1:
        return tuple(features)
    size = min(len(features), max(2, math.ceil(share * len(features))))
    keep = set(np.random.default_rng(seed).choice(len(features), size=size, replace=False).tolist())
    return tuple(f for i, f in enumerate(features) if i in keep)


def part_name(index: int) -> str:
    """The terminal of formula ``index`` (from 1) of a rank average: ``q[f1]``."""
    return f"q[f{index}]"


def rank_average(
    formulas: Sequence[Node],
    train: StatTable,
    quantiles: Mapping[str, Quantile],
    weights: Sequence[float] | None = None,
) -> tuple[Node, dict[str, Quantile]]:
    """The formula ``q[f1] + q[f2] + ...`` and its quantiles: each of ``formulas`` (over the terminals of
    ``quantiles`` and the raw statistics of ``train``) read through the CDF of its values on the training rows.
    With ``weights`` (one per formula, positive), a term of weight ``w`` != 1 is ``w*q[fk]``."""
    weights = [1.0] * len(formulas) if weights is None else list(weights)
    if len(weights) != len(formulas) or any(not w > 0 for w in weights):
        raise ValueError("a rank average needs one positive weight per formula")
    out = dict(quantiles)
    root: Node | None = None
    for i, (formula, weight) in enumerate(zip(formulas, weights, strict=True), start=1):
        name = part_name(i)
        out[name] = Quantile.fit("", Proxy(formula, quantiles=dict(quantiles)).evaluate(train), source=formula)
        leaf = Node(var=name) if weight == 1 else Node(op="mul", args=(Node(const=float(weight)), Node(var=name)))
        root = leaf if root is None else Node(op="add", args=(root, leaf))
    if root is None:
        raise ValueError("a rank average needs at least one formula")
    return root, out
