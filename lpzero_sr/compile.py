"""Formula trees as torch callables and as standalone torch source.

Both are derived from the operator definitions of :mod:`lpzero_sr.operators` (the torch primitives, and the torch
source primitives), so a compiled proxy computes what the search scored, and a per-layer proxy keeps its
aggregation over layers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

import torch

from lpzero_sr.formula import Node, evaluate
from lpzero_sr.operators import OPS, TORCH_SOURCE, TorchPrimitives
from lpzero_sr.quantile import Quantile, read_terminals, statistics, torch_quantile, used

TorchFormula = Callable[[Mapping[str, torch.Tensor]], torch.Tensor]


def to_torch(
    node: Node,
    dtype: torch.dtype = torch.float64,
    aggregation: str | None = None,
    quantiles: Mapping[str, Quantile] | None = None,
) -> TorchFormula:
    """A differentiable callable ``stats -> Tensor`` on the device of the given statistic tensors.

    Statistics are cast to ``dtype``. With ``aggregation`` (``"sum"``/``"mean"``) each statistic holds one value
    per layer and the per-layer values of the formula are reduced to one score. Terminals in ``quantiles`` are
    read through their training CDF (:mod:`lpzero_sr.quantile`) from the raw statistic they name.
    """
    quantiles = dict(quantiles or {})
    terminals = node.variables
    names = statistics(terminals, quantiles)

    def proxy(stats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        missing = [n for n in names if n not in stats]
        if missing:
            raise KeyError(f"missing statistics for proxy: {', '.join(missing)}")
        raw = {n: torch.as_tensor(stats[n], dtype=dtype) for n in names}
        leaves = read_terminals(terminals, quantiles, raw, backend="torch")
        device = next(iter(leaves.values())).device if leaves else torch.device("cpu")
        out = evaluate(node, leaves, TorchPrimitives(dtype, device))
        if leaves:
            out = torch.broadcast_to(out, torch.broadcast_shapes(*(v.shape for v in leaves.values())))
        return _reduce(out, aggregation)

    proxy.required = names  # type: ignore[attr-defined]
    return proxy


def _reduce(values: torch.Tensor, aggregation: str | None) -> torch.Tensor:
    if aggregation is None:
        return values
    if aggregation == "sum":
        return values.sum()
    if aggregation == "mean":
        return values.mean()
    if aggregation == "nanmean":
        return nanmean(values)
    raise ValueError(f"unknown aggregation {aggregation!r}; use 'sum', 'mean' or 'nanmean'")


def nanmean(values: torch.Tensor) -> torch.Tensor:
    """The mean of the non-NaN entries around the first of them (exact for equal values; NaN when there is none),
    as :func:`lpzero_sr.ranking.aggregate` computes ``nanmean``."""
    present = values[~torch.isnan(values)]
    if present.numel() == 0:
        return values.new_tensor(float("nan")).sum()
    return present[0] + (present - present[0]).mean()


def torch_source(
    node: Node, aggregation: str | None = None, name: str = "proxy", quantiles: Mapping[str, Quantile] | None = None
) -> str:
    """Standalone Python source (imports torch only) of a function computing the proxy from statistic tensors."""
    quantiles = dict(quantiles or {})
    terminals = used(node.variables, quantiles)
    sources = [quantiles[t].source for t in terminals if t in quantiles and quantiles[t].source is not None]
    nodes = [n for tree in (node, *sources) for n in tree.walk()]  # type: ignore[union-attr]
    ops = sorted({n.op for n in nodes if n.op is not None and OPS.get(n.op).julia_builtin is None})
    helpers = "".join("\n\n" + OPS.get(op).torch_source() for op in ops)
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
        return op.define(TORCH_SOURCE, *args) if op.julia_builtin else f"{op.julia_name}({', '.join(args)})"

    body = emit(node)
    doc = "per-layer statistics (one value per layer)" if aggregation else "per-architecture statistics"
    reduce = {"sum": ".sum()", "mean": ".mean()", None: ""}.get(aggregation, "")
    return (
        f"import torch\n{helpers}\n\n"
        f"def {name}(stats: dict[str, torch.Tensor]) -> torch.Tensor:\n"
        f'    """The proxy from {doc} (float64 tensors); higher is better."""\n'
        f"    return {'nanmean(' if aggregation == 'nanmean' else '('}{body}){reduce}\n"
    )
