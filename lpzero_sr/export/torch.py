"""A proxy as a torch ``nn.Module``, and as standalone torch source (``lpzero-sr export --format torch``).

Both are derived from the operator definitions of :mod:`lpzero_sr.operators`: the module evaluates the tree with
:class:`TorchPrimitives` (:func:`lpzero_sr.formula.evaluate`), the source is ``Op.define`` written with torch source
primitives. So the module computes what the search scored, to the last rounding of torch's functions, and the
source computes what the module computes. A per-layer proxy keeps its reduction over layers; quantile terminals read
their training CDF (:func:`torch_quantile`, the same arithmetic as ``Quantile.numpy``), also of a formula (``q[f1]``
of a bagged proxy).

The module holds the proxy's numbers as buffers: each quantile's knots and levels, and each constant of its
formulas, so ``.to(device)`` moves them once and ``state_dict`` saves them. Statistics are cast to the module's
``dtype`` (fixed when it is built); the result is on the statistics' device.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from lpzero_sr.export.source import SourcePrimitives, generated_name
from lpzero_sr.formula import Node, evaluate
from lpzero_sr.operators import OPS
from lpzero_sr.quantile import Quantile, read_terminals, statistics, used
from lpzero_sr.settings import AGGREGATIONS as SETTINGS_AGGREGATIONS

if TYPE_CHECKING:
    from lpzero_sr.ranking import Aggregation

AGGREGATIONS = (None, *SETTINGS_AGGREGATIONS)


class TorchPrimitives:
    """IEEE primitives on torch tensors of one dtype and device (differentiable)."""

    add = staticmethod(torch.add)
    mul = staticmethod(torch.mul)
    neg = staticmethod(torch.neg)
    abs = staticmethod(torch.abs)
    log = staticmethod(torch.log)
    exp = staticmethod(torch.exp)
    sqrt = staticmethod(torch.sqrt)
    recip = staticmethod(torch.reciprocal)
    copysign = staticmethod(torch.copysign)

    def __init__(self, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> None:
        self.dtype, self.device = dtype, torch.device(device)

    @staticmethod
    def min_const(a: torch.Tensor, c: float) -> torch.Tensor:
        return torch.clamp(a, max=c)

    @staticmethod
    def max_const(a: torch.Tensor, c: float) -> torch.Tensor:
        return torch.clamp(a, min=c)

    def const(self, value: float) -> torch.Tensor:
        return torch.tensor(value, dtype=self.dtype, device=self.device)


def torch_quantile(
    x: torch.Tensor, knots: list[float] | torch.Tensor, levels: list[float] | torch.Tensor
) -> torch.Tensor:
    """q(x): the training CDF of a statistic, linear between knots, clamped outside (lpzero_sr.quantile)."""
    k = torch.as_tensor(knots, dtype=x.dtype, device=x.device)
    v = torch.as_tensor(levels, dtype=x.dtype, device=x.device)
    if k.numel() == 1:
        return torch.where(torch.isnan(x), x, v[0].expand_as(x))
    hi = torch.searchsorted(k, x.contiguous(), right=True).clamp(1, k.numel() - 1)
    x0, x1, y0, y1 = k[hi - 1], k[hi], v[hi - 1], v[hi]
    t = ((x - x0) / (x1 - x0)).clamp(0.0, 1.0)
    return y0 + t * (y1 - y0)


def _constant_key(value: float) -> str:
    return float(value).hex()  # distinguishes -0.0 from 0.0


class _BufferPrimitives(TorchPrimitives):
    """Torch primitives whose constants are the module's buffers (on the statistics' device and dtype)."""

    def __init__(self, module: ProxyModule, dtype: torch.dtype, device: torch.device) -> None:
        super().__init__(dtype, device)
        self.module = module

    def const(self, value: float) -> torch.Tensor:
        buffer = self.module.get_buffer(self.module.constant_buffers[_constant_key(value)])
        return buffer.to(device=self.device, dtype=self.dtype)


class _TorchReader:
    """Terminals of statistic tensors (:func:`lpzero_sr.quantile.read_terminals`), knots from the module's buffers."""

    def __init__(self, module: ProxyModule) -> None:
        self.module = module

    def formula(self, node: Node, leaves: Mapping[str, Any], ref: torch.Tensor) -> torch.Tensor:
        values = evaluate(node, leaves, _BufferPrimitives(self.module, ref.dtype, ref.device))
        return torch.broadcast_to(values, ref.shape)

    def quantile(self, name: str, q: Quantile, x: torch.Tensor) -> torch.Tensor:
        knots, levels = self.module.quantile_buffers[name]
        return torch_quantile(x, self.module.get_buffer(knots), self.module.get_buffer(levels))


class ProxyModule(nn.Module):
    """``module(stats) -> Tensor``: a proxy's formula over a mapping of statistic tensors, differentiable.

    With ``aggregation`` (``"sum"``/``"mean"``/``"nanmean"``) each statistic holds one value per layer (or item)
    and the per-layer values of the formula are reduced to one score. Terminals in ``quantiles`` are read through
    their training CDF from the raw statistic (or formula) they name. :attr:`required` lists the statistics a call
    needs.
    """

    def __init__(
        self,
        formula: Node,
        aggregation: Aggregation | None = None,
        quantiles: Mapping[str, Quantile] | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {aggregation!r}; use one of {', '.join(SETTINGS_AGGREGATIONS)}")
        quantiles = dict(quantiles or {})
        self.formula, self.aggregation, self.dtype = formula, aggregation, dtype
        self.terminals = formula.variables
        self.quantiles = {t: quantiles[t] for t in used(self.terminals, quantiles) if t in quantiles}
        self.required = statistics(self.terminals, quantiles)
        self.quantile_buffers: dict[str, tuple[str, str]] = {}
        for i, (name, q) in enumerate(sorted(self.quantiles.items())):
            self.quantile_buffers[name] = (f"knots_{i}", f"levels_{i}")
            self.register_buffer(f"knots_{i}", torch.tensor(q.knots, dtype=dtype))
            self.register_buffer(f"levels_{i}", torch.tensor(q.levels, dtype=dtype))
        trees = [formula, *(q.source for q in self.quantiles.values() if q.source is not None)]
        values = {_constant_key(n.const): n.const for tree in trees for n in tree.walk() if n.const is not None}
        self.constant_buffers: dict[str, str] = {}
        for i, (key, value) in enumerate(sorted(values.items())):
            self.constant_buffers[key] = f"const_{i}"
            self.register_buffer(f"const_{i}", torch.tensor(value, dtype=dtype))

    def forward(self, stats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        missing = [n for n in self.required if n not in stats]
        if missing:
            raise KeyError(f"missing statistics for proxy: {', '.join(missing)}")
        raw = {n: torch.as_tensor(stats[n], dtype=self.dtype) for n in self.required}
        leaves = read_terminals(self.terminals, self.quantiles, raw, _TorchReader(self))
        device = next(iter(leaves.values())).device if leaves else torch.device("cpu")
        out = evaluate(self.formula, leaves, _BufferPrimitives(self, self.dtype, device))
        if leaves:
            out = torch.broadcast_to(out, torch.broadcast_shapes(*(v.shape for v in leaves.values())))
        if self.aggregation == "sum":
            return out.sum()
        if self.aggregation == "mean":
            return out.mean()
        if self.aggregation == "nanmean":
            return nanmean(out)
        return out

    def extra_repr(self) -> str:
        return f"statistics={list(self.required)}, aggregation={self.aggregation}, dtype={self.dtype}"


def nanmean(values: torch.Tensor) -> torch.Tensor:
    """The mean of the non-NaN entries around the first of them (exact for equal values; NaN when there is none),
    as :func:`lpzero_sr.ranking.aggregate` computes ``nanmean``."""
    present = values[~torch.isnan(values)]
    if present.numel() == 0:
        return values.new_tensor(float("nan")).sum()
    return present[0] + (present - present[0]).mean()


# ------------------------------------------------------------------ standalone source
TORCH_SOURCE = SourcePrimitives(
    {
        "add": "({} + {})",
        "mul": "({} * {})",
        "neg": "(-{})",
        "abs": "torch.abs({})",
        "log": "torch.log({})",
        "exp": "torch.exp({})",
        "sqrt": "torch.sqrt({})",
        "recip": "torch.reciprocal({})",
        "copysign": "torch.copysign({}, {})",
        "min_const": "torch.clamp({}, max={})",
        "max_const": "torch.clamp({}, min={})",
    },  # fmt: skip
    lambda c: repr(float(c)),
)


def operator_source(op: str) -> str:
    """The torch source of operator ``op``'s generated function: ``def lpz_log(x): ...``."""
    definition = OPS.get(op)
    params = ("x", "y")[: definition.arity]
    body = definition.define(TORCH_SOURCE, *params)
    return f"def {generated_name(op)}({', '.join(params)}):\n    return {body}\n"


def torch_source(
    node: Node, aggregation: str | None = None, name: str = "proxy", quantiles: Mapping[str, Quantile] | None = None
) -> str:
    """Standalone Python source (imports torch only) of a function computing the proxy from statistic tensors."""
    quantiles = dict(quantiles or {})
    terminals = used(node.variables, quantiles)
    sources = [quantiles[t].source for t in terminals if t in quantiles and quantiles[t].source is not None]
    nodes = [n for tree in (node, *sources) for n in tree.walk()]  # type: ignore[union-attr]
    ops = sorted({n.op for n in nodes if n.op is not None and OPS.get(n.op).infix is None})
    helpers = "".join("\n\n" + operator_source(op) for op in ops)
    if any(t in quantiles for t in terminals):
        helpers += "\n\n" + inspect.getsource(torch_quantile)
    if aggregation == "nanmean":
        helpers += "\n\n" + inspect.getsource(nanmean)

    def emit(n: Node) -> str:
        if n.var is not None and n.var in quantiles:
            q = quantiles[n.var]
            x = f"stats[{q.column!r}]" if q.source is None else emit(q.source)
            return f"torch_quantile({x}, {list(q.knots)!r}, {list(q.levels)!r})"
        if n.var is not None:
            return f"stats[{n.var!r}]"
        if n.const is not None:
            return f"torch.tensor({float(n.const)!r}, dtype=torch.float64)"
        op = OPS.get(n.op)  # type: ignore[arg-type]
        args = [emit(a) for a in n.args]
        return op.define(TORCH_SOURCE, *args) if op.infix else f"{generated_name(op.name)}({', '.join(args)})"

    body = emit(node)
    doc = "per-layer statistics (one value per layer)" if aggregation else "per-architecture statistics"
    head, tail = {"sum": ("(", ").sum()"), "mean": ("(", ").mean()"), "nanmean": ("nanmean(", ")"), None: ("(", ")")}[
        aggregation
    ]
    return (
        f"import torch\n{helpers}\n\n"
        f"def {name}(stats: dict[str, torch.Tensor]) -> torch.Tensor:\n"
        f'    """The proxy from {doc} (float64 tensors); higher is better."""\n'
        f"    return {head}{body}{tail}\n"
    )
