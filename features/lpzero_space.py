"""LPZero's program space as a per-item table (Dong et al., "LPZero: Language Model Zero-cost Proxy Search from
Zero", EMNLP Findings 2024; code pprp/LPZero, read from ``lpzero/operators/unary_ops.py``, ``zc_inputs.py`` and
``structures/tree.py``).

An LPZero program (a *genotype*) names two inputs, two unary operators per input and one binary operator. Each
input is a list of tensors, one per *item* (:data:`INPUTS`; which modules fill each list, per model family, is
:func:`lpzero_sr.features.recipes.lpzero_items`). A branch applies its two unary operators to every tensor of its
list and reduces each result to its plain mean; the binary operator combines the two branches item by item (the
lists zipped, so truncated to the shorter); the program's value is the plain mean over items, and an empty list is
invalid (LPZero returns -1 and its search rejects the program).

Here the two halves live where this project's design puts them. The unary operators act on tensors, so they are
features: a *branch value* ``lpz.<input>.<u1>.<u2>`` is one column of a table whose rows are items (per
architecture, item ``i`` of every list; NaN where a list has fewer items). The binary operator and the mean over
items act on that table, so they are the search's operators: every LPZero genotype is the formula ``add``/``sub``/
``mul`` of two columns, aggregated by ``nanmean`` (the mean over the rows where the formula has a value, i.e. where
both branches have an item: LPZero's zip). :meth:`Genotype.formula` builds it.

One forward and one backward pass per architecture (:func:`capture`) fill every list; :class:`Branches` computes
branch values on demand and memoizes them, so a branch nobody asks for costs nothing.

Deviations from LPZero's code, each pinned by a test in ``tests/features/test_lpzero_space.py``:

* LPZero's forward hooks stay registered, so when the *second* input runs a forward pass (act, head, softmax,
  and grad, whose code runs forward and backward) the first input's act/head/softmax list grows by that pass's
  tensors. This is part of the space: the first input then reads ``<input>_x2`` (the list twice; the model runs in
  eval mode here, so both passes give the same tensors, where LPZero's training-mode dropout differs).
* A branch that is not finite on one item is NaN on every item of that architecture (LPZero rejects such a program
  only when the item lies within the zipped length).
* ``disconnect`` has no value (LPZero's ``unary_operation`` has no entry for it: an exception, so -1), nor has
  ``matrix_multiplication`` (``@`` of two Python floats).
* The mean over items (``nanmean``) is exact for equal values; LPZero's ``sum(list) / len(list)`` can drift from a
  constant in the last bit by an amount that depends on the number of items, which its search then ranks.
* LPZero's ``element_wise_log`` and ``element_wise_abslog`` overwrite their input in place; when both branches read
  the same tensors (``(weight, weight)``, ``(grad, grad)``) its second branch sees the overwritten values. Here the
  operators are pure. LPZero's second backward pass of a ``(grad, grad)`` program doubles the gradients both
  branches read; here both read the gradient of one pass.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lpzero_sr.errors import LpzeroError
from lpzero_sr.features.hooks import HookManager, Record
from lpzero_sr.features.loss import logits_of, zero_cost_loss
from lpzero_sr.features.recipes import Recipe, resolve_recipe
from lpzero_sr.ranking import aggregate
from lpzero_sr.registry import Registry

if TYPE_CHECKING:
    from lpzero_sr.formula import Node

VERSION = "1"  # bump when a branch value changes: part of every cache key of branch values
PREFIX = "lpz"
INPUTS = ("act", "head", "softmax", "grad", "weight")  # LPZero's ``available_zc_candidates``, in its order
FORWARD = ("act", "head", "softmax")  # lists filled by forward hooks (they grow on a later forward)
RUNS_FORWARD = frozenset({*FORWARD, "grad"})  # inputs whose code runs a forward pass
TWICE = "_x2"
# LPZero's UNARY_KEYS, in its order (a genotype's integer op ids index this tuple); short names below
UNARY_KEYS = (
    "element_wise_log", "element_wise_abslog", "element_wise_abs", "element_wise_pow", "element_wise_exp",
    "normalize", "element_wise_relu", "element_wise_invert", "frobenius_norm", "element_wise_normalized_sum",
    "l1_norm", "softmax", "sigmoid", "logsoftmax", "element_wise_sqrt", "element_wise_revert", "min_max_normalize",
    "to_mean_scalar", "to_std_scalar", "no_op", "disconnect",
)  # fmt: skip
UNARY = tuple(k.removeprefix("element_wise_").removeprefix("to_").removesuffix("_scalar") for k in UNARY_KEYS)
BINARY_KEYS = ("element_wise_sum", "element_wise_difference", "element_wise_product", "matrix_multiplication")
BINARY_OPS: dict[str, str | None] = {"sum": "add", "difference": "sub", "product": "mul", "matrix_multiplication": None}
BINARY = tuple(BINARY_OPS)


class BranchError(LpzeroError):
    """A branch or genotype that names an unknown input or operator."""


UnaryOp = Callable[[torch.Tensor], torch.Tensor]
OPS: Registry[UnaryOp] = Registry("LPZero unary operator")


def _op(name: str) -> Callable[[UnaryOp], UnaryOp]:
    return OPS.register(name)


# LPZero's numerics, operator by operator (float32 tensors; a 0-d tensor is a valid input of every operator)
@_op("log")
def _log(a: torch.Tensor) -> torch.Tensor:
    return a.masked_fill(a <= 0, 1.0).add_(1e-9).log_()  # A[A <= 0] = 1; log(A + 1e-9)


@_op("abslog")
def _abslog(a: torch.Tensor) -> torch.Tensor:
    return a.masked_fill(a == 0, 1.0).abs_().log_()  # A[A == 0] = 1; log|A|


_op("abs")(torch.abs)
_op("exp")(torch.exp)
_op("relu")(F.relu)
_op("sigmoid")(torch.sigmoid)
_op("mean")(torch.mean)
_op("std")(torch.std)  # Bessel's correction: NaN for one element (a 0-d tensor)


@_op("pow")
def _pow(a: torch.Tensor) -> torch.Tensor:
    return torch.pow(a, 2)


@_op("normalize")
def _normalize(a: torch.Tensor) -> torch.Tensor:
    c = (a - torch.mean(a)).div_(torch.std(a))
    return c.nan_to_num_(nan=0.0, posinf=math.inf, neginf=-math.inf)  # C[C != C] = 0 (NaN only; infinities stay)


@_op("invert")
def _invert(a: torch.Tensor) -> torch.Tensor:
    return 1 / (a + 1e-9)


@_op("frobenius_norm")
def _frobenius(a: torch.Tensor) -> torch.Tensor:
    return torch.norm(a, p="fro")


@_op("normalized_sum")
def _normalized_sum(a: torch.Tensor) -> torch.Tensor:
    return torch.sum(a) / (a.numel() + 1e-9)


@_op("l1_norm")
def _l1_norm(a: torch.Tensor) -> torch.Tensor:
    return torch.sum(torch.abs(a)) / (a.numel() + 1e-9)


@_op("softmax")
def _softmax(a: torch.Tensor) -> torch.Tensor:
    return F.softmax(a, dim=0)  # along dim 0 whatever the tensor (1 for a 0-d tensor)


@_op("logsoftmax")
def _logsoftmax(a: torch.Tensor) -> torch.Tensor:
    return F.log_softmax(a, dim=0)  # 0 for a 0-d tensor


@_op("sqrt")
def _sqrt(a: torch.Tensor) -> torch.Tensor:
    return a.clamp(min=0).sqrt_()


@_op("revert")
def _revert(a: torch.Tensor) -> torch.Tensor:
    return a * -1


@_op("min_max_normalize")
def _min_max(a: torch.Tensor) -> torch.Tensor:
    lo, hi = a.min(), a.max()
    return (a - lo).div_(hi - lo + 1e-9)


@_op("no_op")
def _no_op(a: torch.Tensor) -> torch.Tensor:
    return a


VALUED = tuple(u for u in UNARY if u in OPS)  # every operator but "disconnect"


# ---------------------------------------------------------------------- columns
def column_name(kind: str, u1: str, u2: str) -> str:
    """``lpz.<input>.<u1>.<u2>`` (``<input>`` may carry :data:`TWICE`)."""
    return f"{PREFIX}.{kind}.{u1}.{u2}"


def parse_column(name: str) -> tuple[str, str, str]:
    """``(input, u1, u2)`` of a branch column; :class:`BranchError` for anything else."""
    parts = name.split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        raise BranchError(f"{name!r} is not an LPZero branch column (lpz.<input>.<op>.<op>)")
    _, kind, u1, u2 = parts
    if kind.removesuffix(TWICE) not in INPUTS or (kind.endswith(TWICE) and kind.removesuffix(TWICE) not in FORWARD):
        raise BranchError(
            f"unknown LPZero input {kind!r} in {name!r}; known: {', '.join(INPUTS)} (+{TWICE} for forward ones)"
        )
    for u in (u1, u2):
        if u not in VALUED:
            raise BranchError(f"LPZero operator {u!r} in {name!r} has no value; valued: {', '.join(VALUED)}")
    return kind, u1, u2


def all_columns(twice: bool = True) -> list[str]:
    """Every valued branch: 5 inputs x 20 x 20, and with ``twice`` the forward inputs' ``_x2`` lists."""
    kinds = [*INPUTS, *(k + TWICE for k in FORWARD)] if twice else list(INPUTS)
    return [column_name(k, a, b) for k in kinds for a in VALUED for b in VALUED]


# ---------------------------------------------------------------------- items
def items_of(record: Record, kinds: Iterable[str] = INPUTS) -> dict[str, list[torch.Tensor]]:
    """LPZero's lists ``kinds`` from a record captured with the ``items`` kind (and ``weight``/``grad`` for those
    lists): tapped tensors in call order, consecutive calls of one fused group concatenated along the last
    dimension; matrices per the block's :class:`~lpzero_sr.features.recipes.LpzeroItems`."""
    lists: dict[str, list[torch.Tensor]] = {k: [] for k in kinds}
    for slot, spec in enumerate(record.specs):
        for kind in set(lists) & set(FORWARD):
            lists[kind] += _merged([(g, t) for k, g, t in record.items[slot] if k == kind])
        for kind in set(lists) & {"weight", "grad"}:
            if kind == "grad" and not spec.items.grads:
                continue
            mats = record.get(kind, slot)
            for positions in spec.items.params:
                parts = [mats[p].T if spec.items.transpose else mats[p] for p in positions]
                lists[kind].append(
                    parts[0] if len(parts) == 1 else torch.cat(parts, dim=1 if spec.items.transpose else 0)
                )
    return lists


def _merged(fired: list[tuple[str, torch.Tensor]]) -> list[torch.Tensor]:
    out: list[torch.Tensor] = []
    group_of_last = ""
    for group, tensor in fired:
        if group and group == group_of_last:
            out[-1] = torch.cat([out[-1], tensor], dim=-1)
        else:
            out.append(tensor)
        group_of_last = group
    return out


def capture(
    model: nn.Module,
    batch: torch.Tensor,
    kinds: Iterable[str] = INPUTS,
    recipe: Recipe | str | None = None,
    causal: bool | None = None,
) -> dict[str, list[torch.Tensor]]:
    """LPZero's lists ``kinds`` of ``model`` on ``batch`` from one forward pass (and one backward pass when ``grad``
    is asked for) under :class:`~lpzero_sr.features.hooks.HookManager`, in eval mode; the zero-cost loss is the
    project's (next-token or token-reconstruction cross-entropy)."""
    kinds = [k for k in INPUTS if k in set(kinds)]
    resolved = resolve_recipe(model, recipe)
    causal = resolved.causal(model) if causal is None else causal
    hooked = (
        {"items"} | ({"weight"} if "weight" in kinds else set()) | ({"weight", "grad"} if "grad" in kinds else set())
    )
    model.eval()
    model.zero_grad(set_to_none=True)
    try:
        with HookManager(model, resolved, hooked) as record:
            loss = zero_cost_loss(logits_of(model(batch)), batch.to(next(model.parameters()).device), causal)
            if "grad" in kinds:
                loss.backward()
        if "grad" in kinds:
            record.check()
        return items_of(record, kinds)
    finally:
        model.zero_grad(set_to_none=True)


# ---------------------------------------------------------------------- branch values
class Branches:
    """Per-item branch values of one architecture's lists, computed when first asked for and memoized.

    ``values(kind, u1, u2)`` is the float array of ``mean(u2(u1(x)))`` over the items ``x`` of list ``kind``
    (``kind`` may carry :data:`TWICE`: the list twice). A branch that is not finite on some item is NaN on every
    item. Asking for several branches at once (:meth:`compute`) applies each first operator once per item."""

    def __init__(self, lists: Mapping[str, Sequence[torch.Tensor]]) -> None:
        self.lists = {k: list(v) for k, v in lists.items()}
        self._memo: dict[tuple[str, str, str], np.ndarray] = {}
        self._alias: dict[str, str] = {}  # a list equal to an earlier one (GPT-2's act and head) shares its values
        for i, kind in enumerate(self.lists):
            for other in list(self.lists)[:i]:
                if other not in self._alias and _same(self.lists[kind], self.lists[other]):
                    self._alias[kind] = other
                    break

    def length(self, kind: str) -> int:
        base = kind.removesuffix(TWICE)
        if base not in self.lists:
            raise BranchError(f"list {base!r} was not captured; captured: {', '.join(self.lists)}")
        return len(self.lists[base]) * (2 if kind.endswith(TWICE) else 1)

    def values(self, kind: str, u1: str, u2: str) -> np.ndarray:
        base = kind.removesuffix(TWICE)
        if (base, u1, u2) not in self._memo:
            self.compute([(base, u1, u2)])
        value = self._memo[(base, u1, u2)]
        return np.concatenate([value, value]) if kind.endswith(TWICE) else value

    def column(self, name: str) -> np.ndarray:
        return self.values(*parse_column(name))

    def compute(self, branches: Iterable[tuple[str, str, str]]) -> None:
        """Memoizes ``branches`` (``(input, u1, u2)``; a :data:`TWICE` input counts as its list)."""
        todo: dict[tuple[str, str], list[str]] = {}
        asked = []
        for kind, u1, u2 in branches:
            parse_column(column_name(kind, u1, u2))
            base = kind.removesuffix(TWICE)
            asked.append((base, u1, u2))
            key = (self._alias.get(base, base), u1, u2)
            if key not in self._memo and u2 not in todo.setdefault(key[:2], []):
                todo[key[:2]].append(u2)
        for (kind, u1), seconds in todo.items():
            tensors = self.lists.get(kind)
            if tensors is None:
                raise BranchError(f"list {kind!r} was not captured; captured: {', '.join(self.lists)}")
            table = np.empty((len(seconds), len(tensors)))
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")  # std of one element (a 0-d tensor) warns; NaN is the answer
                for i, x in enumerate(tensors):
                    first = OPS.get(u1)(x)
                    for j, u2 in enumerate(seconds):
                        table[j, i] = torch.mean(OPS.get(u2)(first)).item()
            for j, u2 in enumerate(seconds):
                row = table[j]
                self._memo[(kind, u1, u2)] = row if np.isfinite(row).all() else np.full_like(row, np.nan)
        for base, u1, u2 in asked:
            self._memo[(base, u1, u2)] = self._memo[(self._alias.get(base, base), u1, u2)]


def _same(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and torch.equal(x, y) for x, y in zip(a, b, strict=True))


# ---------------------------------------------------------------------- genotypes
@dataclass(frozen=True)
class Genotype:
    """One LPZero program: ``inputs`` (first, second), ``ops`` (two unary operators per input, short names of
    :data:`UNARY`) and ``binary`` (:data:`BINARY`)."""

    inputs: tuple[str, str]
    ops: tuple[tuple[str, str], tuple[str, str]]
    binary: str

    def __post_init__(self) -> None:
        if any(k not in INPUTS for k in self.inputs):
            raise BranchError(f"unknown LPZero input in {self.inputs}; known: {', '.join(INPUTS)}")
        if any(u not in UNARY for pair in self.ops for u in pair):
            raise BranchError(f"unknown LPZero operator in {self.ops}; known: {', '.join(UNARY)}")
        if self.binary not in BINARY_OPS:
            raise BranchError(f"unknown LPZero binary operator {self.binary!r}; known: {', '.join(BINARY)}")

    @classmethod
    def from_lpzero(cls, input_geno: Sequence[str], op_geno: Sequence[object]) -> Genotype:
        """From LPZero's own form, e.g. ``(['weight', 'grad'], [[3, 10], [11, 3], 0])``."""
        (a1, a2), (b1, b2), binary = op_geno  # type: ignore[misc]
        ops = ((UNARY[a1], UNARY[a2]), (UNARY[b1], UNARY[b2]))
        return cls((input_geno[0], input_geno[1]), ops, BINARY[binary])  # type: ignore[arg-type]

    def __str__(self) -> str:
        """LPZero's own rendering (``INPUT:(weight, grad)TREE:(element_wise_pow|l1_norm|...)BINARY:(...)``)."""
        ops = "|".join(UNARY_KEYS[UNARY.index(u)] for pair in self.ops for u in pair)
        binary = BINARY_KEYS[BINARY.index(self.binary)]
        return f"INPUT:({self.inputs[0]}, {self.inputs[1]})TREE:({ops})BINARY:({binary})"

    @property
    def valid(self) -> bool:
        """False for programs LPZero's code cannot evaluate (``disconnect``, ``matrix_multiplication``)."""
        return BINARY_OPS[self.binary] is not None and "disconnect" not in {u for pair in self.ops for u in pair}

    def columns(self) -> tuple[str, str]:
        """The two branch columns: the first input reads its list twice when the second input runs a forward pass
        (LPZero's hooks stay registered)."""
        first, second = self.inputs
        if first in FORWARD and second in RUNS_FORWARD:
            first += TWICE
        return column_name(first, *self.ops[0]), column_name(second, *self.ops[1])

    def formula(self) -> Node:
        """The per-item formula (aggregate it with ``nanmean``); :class:`BranchError` when not :attr:`valid`."""
        from lpzero_sr.formula import Node

        if not self.valid:
            raise BranchError(f"LPZero cannot evaluate {self} (disconnect or matrix multiplication)")
        a, b = self.columns()
        return Node(op=BINARY_OPS[self.binary], args=(Node(var=a), Node(var=b)))

    def combine(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The binary operator on the two branches' per-item values (this project's operator of that name)."""
        from lpzero_sr.operators import OPS as FORMULA_OPS

        if not self.valid:
            raise BranchError(f"LPZero cannot evaluate {self} (disconnect or matrix multiplication)")
        with np.errstate(all="ignore"):
            return FORMULA_OPS.get(BINARY_OPS[self.binary]).numpy(a, b)  # type: ignore[arg-type]

    def value(self, branches: Branches) -> float:
        """LPZero's value of this program on one architecture: the ``nanmean`` over the zipped items (NaN where
        LPZero returns -1 or fails)."""
        if not self.valid:
            return math.nan
        a, b = (branches.column(c) for c in self.columns())
        n = min(len(a), len(b))
        if n == 0:
            return math.nan
        return float(aggregate(self.combine(a[:n], b[:n]), np.zeros(n, dtype=int), 1, "nanmean")[0])


@dataclass(frozen=True)
class Reported:
    """What LPZero reported for a published proxy, signed in this project's convention (higher is better; a
    perplexity negated), over all architectures of ``benchmark``, with a note on how LPZero states it."""

    benchmark: str
    spearman: float
    kendall: float
    note: str


# LPZero's two published proxies (its ``lpzero`` measure on GPT-2, and its FlexiBERT program)
PUBLISHED = {
    "lpzero-gpt2": Genotype(("weight", "grad"), (("pow", "l1_norm"), ("softmax", "pow")), "sum"),
    "lpzero-flexibert": Genotype(("head", "act"), (("revert", "pow"), ("frobenius_norm", "logsoftmax")), "sum"),
}
REPORTED = {
    "lpzero-gpt2": Reported(
        "lts-gpt2", -0.980, -0.886, "LPZero reports the absolute values 0.98 / 0.886: its score rises with perplexity"
    ),
    "lpzero-flexibert": Reported(
        "flexibert", 0.748, 0.511, "LPZero's own values over all 500, its models at ELECTRA-small widths"
    ),
}
