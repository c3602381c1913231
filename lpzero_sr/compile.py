"""Formula trees as torch callables and as standalone torch source.

Both are derived from the operator definitions of :mod:`lpzero_sr.operators` (the torch primitives, and the torch
source primitives), so a compiled proxy computes what the search scored, and a per-layer proxy keeps its
aggregation over layers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from lpzero_sr.formula import Node, evaluate
from lpzero_sr.operators import OPS, TORCH_SOURCE, TorchPrimitives

TorchFormula = Callable[[Mapping[str, torch.Tensor]], torch.Tensor]


def to_torch(node: Node, dtype: torch.dtype = torch.float64, aggregation: str | None = None) -> TorchFormula:
    """A differentiable callable ``stats -> Tensor`` on the device of the given statistic tensors.

    Statistics are cast to ``dtype``. With ``aggregation`` (``"sum"``/``"mean"``) each statistic holds one value
    per layer and the per-layer values of the formula are reduced to one score.
    """
    names = node.variables

    def proxy(stats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        missing = [n for n in names if n not in stats]
        if missing:
            raise KeyError(f"missing statistics for proxy: {', '.join(missing)}")
        leaves = {n: torch.as_tensor(stats[n], dtype=dtype) for n in names}
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
    raise ValueError(f"unknown aggregation {aggregation!r}; use 'sum' or 'mean'")


def torch_source(node: Node, aggregation: str | None = None, name: str = "proxy") -> str:
    """Standalone Python source (imports torch only) of a function computing the proxy from statistic tensors."""
    used = sorted({n.op for n in node.walk() if n.op is not None and OPS.get(n.op).julia_builtin is None})
    helpers = "".join("\n\n" + OPS.get(op).torch_source() for op in used)

    def emit(n: Node) -> str:
        if n.var is not None:
            return f"stats[{n.var!r}]"
        if n.const is not None:
            return f"torch.tensor({float(n.const)!r}, dtype=torch.float64)"
        op = OPS.get(n.op)  # type: ignore[arg-type]
        args = [emit(a) for a in n.args]
        return op.define(TORCH_SOURCE, *args) if op.julia_builtin else f"{op.julia_name}({', '.join(args)})"

    body = emit(node)
    doc = "per-layer statistics (one value per layer)" if aggregation else "per-architecture statistics"
    reduce = {"sum": ".sum()", "mean": ".mean()", None: ""}[aggregation]
    return (
        f"import torch\n{helpers}\n\n"
        f"def {name}(stats: dict[str, torch.Tensor]) -> torch.Tensor:\n"
        f'    """The proxy from {doc} (float64 tensors); higher is better."""\n'
        f"    return ({body}){reduce}\n"
    )
