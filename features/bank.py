"""Statistics bank: ``{kind}.{transform}.{reduction}`` columns computed from a captured :class:`Record`.

For each layer the tensors of a kind are flattened into one vector ``x`` (a layer's Q, K and V together; all of a
block's matrices together). A *transform* maps ``x`` to ``y`` (element-wise, or over the whole vector for
``softmax``, ``normalise`` and ``minmax``) and a *reduction* maps ``y`` to a number. Every reduction is a function
of four moments of ``y`` (count, mean, unbiased variance, sum of absolute values; sum of squares follows), so each
(kind, transform) pair is evaluated once whatever the reductions asked for, and transforms with a closed form
(``negate``, ``abs``, ``sqr``, ``sqrt_abs``, ``relu``, ``softmax``, ``normalise``, ``minmax``) reuse a few cached sums
of ``x`` instead of materialising ``y``. Layers of equal size are stacked and processed together; on CUDA all of it
stays on the device and the results cross to the host once.

Adding a statistic is one decorated function::

    @transform("tanh")
    def tanh(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        return torch.tanh(x, out=out)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import torch

from lpzero_sr.errors import LpzeroError
from lpzero_sr.features.hooks import Record
from lpzero_sr.registry import Registry

# Bump when any statistic's value changes: it is part of every extraction cache key (features/cache.py).
BANK_VERSION = "1"
EPS = 1e-8
INV_EPS = 1e-12
KINDS = ("act", "head", "softmax", "weight", "grad")


class StatError(LpzeroError):
    """A statistic name that does not parse or names an unknown kind, transform or reduction."""


@dataclass(frozen=True)
class Moments:
    """Moments of ``y`` over its last dimension; every field but ``n`` has one entry per stacked layer."""

    n: int
    mean: torch.Tensor
    var: torch.Tensor
    l1: torch.Tensor

    @property
    def sumsq(self) -> torch.Tensor:
        return self.var * (self.n - 1) + self.mean.square() * self.n


def _from_sums(n: int, total: torch.Tensor, sumsq: torch.Tensor, l1: torch.Tensor) -> Moments:
    mean = total / n
    var = (sumsq - total * mean).clamp_min(0) / max(n - 1, 1)
    return Moments(n, mean, var, l1)


def _moments_of(y: torch.Tensor, nonneg: bool = False, work: torch.Tensor | None = None) -> Moments:
    """Moments from three reductions; ``work`` (may be ``y`` itself) receives ``|y|`` for the l1 sum."""
    total = y.sum(-1)
    sumsq = torch.linalg.vector_norm(y, 2, dim=-1).square()
    if nonneg:
        l1 = total
    elif work is not None:
        l1 = torch.abs(y, out=work).sum(-1)
    else:
        l1 = torch.linalg.vector_norm(y, 1, dim=-1)
    return _from_sums(y.shape[-1], total, sumsq, l1)


class Base:
    """Cached sums of a stacked input ``x`` (layers, n) that closed-form transforms share.

    ``scratch`` is one preallocated tensor of the shape of ``x`` that every transform writes into (``out=``):
    on CPU, allocating a fresh tensor per transform costs several times the transform itself.
    """

    def __init__(self, x: torch.Tensor, scratch: torch.Tensor | None = None) -> None:
        self.x = x
        self.n = x.shape[-1]
        self.scratch = torch.empty_like(x) if scratch is None else scratch

    @cached_property
    def identity(self) -> Moments:
        return _moments_of(self.x, work=self.scratch)

    @cached_property
    def sum4(self) -> torch.Tensor:
        return torch.linalg.vector_norm(torch.mul(self.x, self.x, out=self.scratch), 2, dim=-1).square()

    @cached_property
    def sum_sqrt_abs(self) -> torch.Tensor:
        return torch.abs(self.x, out=self.scratch).sqrt_().sum(-1)

    @cached_property
    def minmax(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x.amin(-1), self.x.amax(-1)  # two passes, yet faster than aminmax on CPU

    @cached_property
    def abs_dev(self) -> torch.Tensor:
        return torch.sub(self.x, self.identity.mean[:, None], out=self.scratch).abs_().sum(-1)

    @cached_property
    def relu(self) -> Moments:
        return _moments_of(torch.clamp(self.x, min=0, out=self.scratch), nonneg=True)

    @cached_property
    def shifted_exp(self) -> tuple[torch.Tensor, Moments]:
        """``m = max(x)`` and the moments of ``exp(x - m)`` (shared by ``exp`` and ``softmax``)."""
        top = self.minmax[1]
        return top, _moments_of(torch.sub(self.x, top[:, None], out=self.scratch).exp_(), nonneg=True)


Fn = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]


@dataclass(frozen=True)
class Transform:
    """``fn(x, out)`` maps ``x`` (layers, n) to ``y`` of the same shape along the last dim, writing into ``out``
    when it is given; ``moments`` is an optional closed form from :class:`Base` sums; ``nonneg`` says ``y >= 0``."""

    name: str
    fn: Fn
    moments: Callable[[Base], Moments] | None = None
    nonneg: bool = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x, None)

    def moments_of(self, base: Base) -> Moments:
        if self.moments is not None:
            return self.moments(base)
        y = self.fn(base.x, base.scratch)
        return _moments_of(y, self.nonneg, work=y if y.data_ptr() == base.scratch.data_ptr() else None)


TRANSFORMS: Registry[Transform] = Registry("transform")
REDUCTIONS: Registry[Callable[[Moments], torch.Tensor]] = Registry("reduction")
CROSS: Registry[tuple[str, str, Callable[..., torch.Tensor]]] = Registry("cross term")
"""Cross terms: name -> (left kind, right kind, ``op(a, b, out=...)`` element-wise on same-shaped tensors)."""


def transform(name: str, moments: Callable[[Base], Moments] | None = None, nonneg: bool = False) -> Callable[[Fn], Fn]:
    """Registers ``fn(x, out=None)`` as a transform (see :class:`Transform`)."""

    def decorator(fn: Fn) -> Fn:
        TRANSFORMS.register(name)(Transform(name, fn, moments, nonneg))
        return fn

    return decorator


def reduction(name: str) -> Callable[[Callable[[Moments], torch.Tensor]], Callable[[Moments], torch.Tensor]]:
    return REDUCTIONS.register(name)


# ---------------------------------------------------------------------- transforms
def _into(x: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    """``x`` copied into ``out`` (or cloned), ready for in-place operations."""
    return x.clone() if out is None else out.copy_(x)


@transform("identity", moments=lambda b: b.identity)
def identity(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return _into(x, out)


@transform("negate", moments=lambda b: Moments(b.n, -b.identity.mean, b.identity.var, b.identity.l1))
def negate(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.neg(x, out=out)


@transform("abs", moments=lambda b: _from_sums(b.n, b.identity.l1, b.identity.sumsq, b.identity.l1), nonneg=True)
def abs_(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.abs(x, out=out)


@transform("sqr", moments=lambda b: _from_sums(b.n, b.identity.sumsq, b.sum4, b.identity.sumsq), nonneg=True)
def sqr(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.mul(x, x, out=out)


@transform("sqrt_abs", moments=lambda b: _from_sums(b.n, b.sum_sqrt_abs, b.identity.l1, b.sum_sqrt_abs), nonneg=True)
def sqrt_abs(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.abs(x, out=out).sqrt_()


@transform("log_abs")
def log_abs(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``log(|x| + 1e-8)``."""
    return torch.abs(x, out=out).add_(EPS).log_()


@transform("exp", nonneg=True, moments=lambda b: _exp_moments(b))
def exp(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.exp(x, out=out)


def _exp_moments(b: Base) -> Moments:
    top, e = b.shifted_exp
    scale = torch.exp(top)
    return Moments(b.n, e.mean * scale, e.var * scale.square(), e.l1 * scale)


@transform("relu", moments=lambda b: b.relu, nonneg=True)
def relu(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.clamp(x, min=0, out=out)


@transform("sigmoid", nonneg=True)
def sigmoid(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.sigmoid(x, out=out)


@transform("softmax", nonneg=True, moments=lambda b: _softmax_moments(b))
def softmax(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax over the last dimension (a layer's whole flattened tensor in the bank)."""
    top = x.amax(-1, keepdim=True)
    y = torch.sub(x, top, out=out).exp_()
    return y.div_(y.sum(-1, keepdim=True))


def _softmax_moments(b: Base) -> Moments:
    _, e = b.shifted_exp
    total = e.mean * b.n
    return Moments(b.n, e.mean / total, e.var / total.square(), e.l1 / total)


@transform("normalise", moments=lambda b: _normalise_moments(b))
def normalise(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``(x - mean) / (std + 1e-8)`` over the last dimension (unbiased std)."""
    var, mean = torch.var_mean(x, dim=-1, keepdim=True)
    return torch.sub(x, mean, out=out).div_(var.sqrt() + EPS)


def _normalise_moments(b: Base) -> Moments:
    std = b.identity.var.sqrt() + EPS
    return Moments(b.n, torch.zeros_like(std), b.identity.var / std.square(), b.abs_dev / std)


@transform("minmax", nonneg=True, moments=lambda b: _minmax_moments(b))
def minmax(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``(x - min) / (max - min + 1e-8)`` over the last dimension."""
    low, high = torch.aminmax(x, dim=-1, keepdim=True)
    return torch.sub(x, low, out=out).div_(high - low + EPS)


def _minmax_moments(b: Base) -> Moments:
    low, high = b.minmax
    span = high - low + EPS
    mean = (b.identity.mean - low) / span
    return Moments(b.n, mean, b.identity.var / span.square(), mean * b.n)


@transform("invert")
def invert(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``x / (x^2 + 1e-12)``: ``1/x`` away from zero (relative error below 1e-6 for ``|x| > 1e-3``), 0 at 0,
    never infinite."""
    return torch.mul(x, x, out=out).add_(INV_EPS).reciprocal_().mul_(x)


# ---------------------------------------------------------------------- reductions and cross terms
@reduction("mean")
def mean(m: Moments) -> torch.Tensor:
    return m.mean


@reduction("std")
def std(m: Moments) -> torch.Tensor:
    return m.var.sqrt()


@reduction("l1")
def l1(m: Moments) -> torch.Tensor:
    return m.l1


@reduction("fro")
def fro(m: Moments) -> torch.Tensor:
    return m.sumsq.clamp_min(0).sqrt()


CROSS.register("weight*grad")(("weight", "grad", torch.mul))


# ---------------------------------------------------------------------- names
def parse_column(name: str) -> tuple[str, str, str]:
    """``"grad.sqr.mean"`` -> ``("grad", "sqr", "mean")``; raises :class:`StatError` on anything else."""
    parts = name.split(".")
    if len(parts) != 3:
        raise StatError(f"statistic {name!r} is not of the form kind.transform.reduction")
    kind, tname, rname = parts
    if kind not in KINDS and kind not in CROSS:
        raise StatError(f"statistic {name!r}: unknown kind {kind!r}; known: {', '.join([*KINDS, *CROSS.names()])}")
    if tname not in TRANSFORMS:
        raise StatError(f"statistic {name!r}: unknown transform {tname!r}; known: {', '.join(TRANSFORMS.names())}")
    if rname not in REDUCTIONS:
        raise StatError(f"statistic {name!r}: unknown reduction {rname!r}; known: {', '.join(REDUCTIONS.names())}")
    return kind, tname, rname


def column_names(kinds: Iterable[str] | None = None) -> list[str]:
    """Every registered column for ``kinds`` (default: all kinds and cross terms)."""
    kinds = list(kinds) if kinds is not None else [*KINDS, *CROSS.names()]
    return [f"{k}.{t}.{r}" for k in kinds for t in TRANSFORMS.names() for r in REDUCTIONS.names()]


def required_kinds(names: Iterable[str]) -> set[str]:
    """The captured kinds (see :mod:`hooks`) that the statistics ``names`` need."""
    kinds: set[str] = set()
    for name in names:
        kind = parse_column(name)[0]
        kinds.update(CROSS.get(kind)[:2] if kind in CROSS else (kind,))
    return kinds


# ---------------------------------------------------------------------- computation
class _Workspace:
    """Two flat buffers grown to the largest request and reused for every kind: ``x`` holds the stacked input of
    the kind being processed, ``scratch`` the transformed values. Fresh CPU allocations of this size cost more
    than the transforms themselves (page faults), so one compute_stats call allocates each buffer once."""

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}

    def get(self, key: str, numel: int, device: torch.device) -> torch.Tensor:
        buf = self._buffers.get(key)
        if buf is None or buf.numel() < numel or buf.device != device:
            buf = self._buffers[key] = torch.empty(numel, device=device)
        return buf[:numel]


def _groups(record: Record, kind: str) -> dict[int, list[int]]:
    """Layer slots holding ``kind`` grouped by flattened size."""
    groups: dict[int, list[int]] = {}
    for slot in range(record.n_layers):
        size = sum(t.numel() for t in record.get(kind, slot))
        if size:
            groups.setdefault(size, []).append(slot)
    return groups


def _stacked(record: Record, kind: str, ws: _Workspace) -> list[tuple[list[int], torch.Tensor]]:
    """``[(layer slots, tensor (len(slots), n)), ...]`` for ``kind``, written into the workspace's ``x`` buffer."""
    left, right, op = CROSS.get(kind) if kind in CROSS else (kind, None, None)
    groups = _groups(record, left)
    tensors = [t for slots in groups.values() for s in slots for t in record.get(left, s)]
    if not tensors:
        return []
    flat = ws.get("x", sum(size * len(slots) for size, slots in groups.items()), tensors[0].device)
    if op is None:
        torch.cat([t.reshape(-1).float() for t in tensors], out=flat)
    else:
        others = [t for slots in groups.values() for s in slots for t in record.get(right, s)]
        start = 0
        for a, b in zip(tensors, others, strict=True):
            op(a.reshape(-1).float(), b.reshape(-1).float(), out=flat[start : start + a.numel()])
            start += a.numel()
    stacked, start = [], 0
    for size, slots in groups.items():
        stacked.append((slots, flat[start : start + size * len(slots)].view(len(slots), size)))
        start += size * len(slots)
    return stacked


def compute_stats(record: Record, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Per-layer values of the statistics ``names`` (all when ``None``): ``{name: array of n_layers}``.

    Layers without tensors of a kind get NaN. Each (kind, transform) is evaluated once; the values cross from the
    device to the host in one transfer.
    """
    names = column_names() if names is None else list(dict.fromkeys(names))
    plan: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for name in names:
        kind, tname, rname = parse_column(name)
        plan.setdefault(kind, {}).setdefault(tname, []).append((name, rname))
    ws = _Workspace()
    order: list[tuple[str, list[int]]] = []
    values: list[torch.Tensor] = []
    for kind, transforms in plan.items():
        for slots, x in _stacked(record, kind, ws):
            base = Base(x, ws.get("scratch", x.numel(), x.device).view_as(x))
            for tname, wanted in transforms.items():
                moments = TRANSFORMS.get(tname).moments_of(base)
                for name, rname in wanted:
                    order.append((name, slots))
                    values.append(REDUCTIONS.get(rname)(moments))
    out = {name: np.full(record.n_layers, np.nan) for name in names}
    if values:
        host = torch.cat(values).double().cpu().numpy()
        start = 0
        for name, slots in order:
            out[name][slots] = host[start : start + len(slots)]
            start += len(slots)
    return out


def per_layer_frame(stats: dict[str, np.ndarray], layers: list[int] | None = None) -> pd.DataFrame:
    """A frame with column ``layer`` plus one column per statistic."""
    n = len(next(iter(stats.values()))) if stats else 0
    frame = pd.DataFrame({name: values for name, values in stats.items()})
    frame.insert(0, "layer", layers if layers is not None else list(range(n)))
    return frame


def per_arch(stats: dict[str, np.ndarray]) -> dict[str, float]:
    """Per-architecture values: the mean over layers (NaN layers ignored)."""
    result = {}
    for name, values in stats.items():
        finite = values[~np.isnan(values)]
        result[name] = float(finite.mean()) if finite.size else math.nan
    return result
