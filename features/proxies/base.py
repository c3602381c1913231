"""The proxy registry, the :class:`ClassicProxy` record and the context every proxy function receives."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from lpzero_sr.features.bank import compute_stats
from lpzero_sr.features.hooks import Record
from lpzero_sr.features.recipes import LayerSpec, Recipe
from lpzero_sr.registry import Registry


@dataclass
class ProxyContext:
    """What a proxy sees: the model (gradients of the zero-cost loss in ``.grad``), the batch, the recipe, and the
    :class:`Record` of the main forward/backward pass. ``cached`` shares an extra pass between proxies."""

    model: nn.Module
    batch: torch.Tensor
    recipe: Recipe
    record: Record
    causal: bool
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def specs(self) -> list[LayerSpec]:
        return self.record.specs

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def stat(self, names: list[str]) -> dict[str, np.ndarray]:
        """Per-layer bank statistics ``names``, reusing those the extraction already computed."""
        missing = [n for n in names if n not in self.stats]
        if missing:
            self.stats.update(compute_stats(self.record, missing))
        return {n: self.stats[n] for n in names}

    def saliency(self, role: str | None = None) -> torch.Tensor:
        """Per-matrix ``[sum |W*g|, sum W*g]`` (rows: matrices with ``role``, or all), computed once per context."""
        table = self.cached("saliency", lambda: _saliency(self.matrices()))
        roles = [r for spec in self.specs for r in spec.roles]
        keep = [i for i, r in enumerate(roles) if role in (None, r)]
        return table[keep]

    def matrices(self, role: str | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(weight, gradient) pairs of the captured layers' matrices, optionally only those with ``role``."""
        pairs = []
        for slot, spec in enumerate(self.specs):
            weights, grads = self.record.get("weight", slot), self.record.get("grad", slot)
            pairs += [(w, g) for w, g, r in zip(weights, grads, spec.roles, strict=True) if role in (None, r)]
        return pairs


@dataclass(frozen=True)
class ClassicProxy:
    """A registered proxy: ``fn(ctx) -> float`` (higher is better), the captured ``kinds`` it reads from the main
    pass, and ``extra_pass``: the name of the additional pass it runs (``None`` for single-pass proxies)."""

    name: str
    fn: Callable[[ProxyContext], float]
    kinds: frozenset[str]
    extra_pass: str | None = None

    def __call__(self, ctx: ProxyContext) -> float:
        return float(self.fn(ctx))


PROXIES: Registry[ClassicProxy] = Registry("proxy")


def proxy(
    name: str, kinds: Iterable[str] = (), extra_pass: str | None = None
) -> Callable[[Callable[[ProxyContext], float]], Callable[[ProxyContext], float]]:
    """Registers ``fn`` as proxy ``name`` (see :class:`ClassicProxy`)."""

    def decorator(fn: Callable[[ProxyContext], float]) -> Callable[[ProxyContext], float]:
        PROXIES.register(name)(ClassicProxy(name, fn, frozenset(kinds), extra_pass))
        return fn

    return decorator


def _saliency(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    rows = []
    for w, g in pairs:
        product = w * g
        rows.append(torch.stack([torch.linalg.vector_norm(product, 1), product.sum()]))
    return torch.stack(rows) if rows else torch.zeros(0, 2)


@contextmanager
def single_thread() -> Iterator[None]:
    """Runs small dense linear algebra (eigvalsh, slogdet) on one thread: on a loaded CPU, multi-threaded LAPACK
    on a 256 x 256 matrix was measured 400 times slower (5 s instead of 11 ms)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def total(values: Iterable[torch.Tensor]) -> float:
    """Sum of scalar tensors with one device-to-host transfer."""
    values = list(values)
    return float(torch.stack(values).sum()) if values else 0.0
