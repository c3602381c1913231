"""Hook manager: capture per-layer primitive tensors during one forward and one backward pass.

Kinds (capture only those you ask for):

- ``act``       output of the FFN activation module, shape (B, T, F)
- ``act_grad``  gradient of the loss with respect to that output (tensor hook)
- ``head``      Q, K and V projection outputs, three tensors (B, T, d)
- ``softmax``   attention probabilities (B, H, T, S)
- ``weight``    the block's matrices (no copy: detached views of the parameters)
- ``grad``      their gradients, filled during backward by parameter tensor hooks
- ``jacobian``  gradient with respect to the token-embedding output (B, T, d); stored on the record, not per layer
- ``items``     LPZero's tensor lists: the tapped inputs/outputs of :attr:`LayerSpec.items` (``taps``), as
                ``(kind, group, tensor)`` in call order (:mod:`lpzero_sr.features.lpzero_space` assembles them)

Only ``register_forward_hook`` and tensor ``register_hook`` are used; every handle is removed on exit, also when the
body raises. Captured tensors are detached; activation-like tensors keep at most ``max_numel`` elements (leading
samples of the batch), so memory stays bounded whatever the batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from lpzero_sr.errors import LpzeroError
from lpzero_sr.features.recipes import (
    LayerSpec,
    Recipe,
    Tap,
    force_eager_attention,
    input_embedding,
    resolve_recipe,
)

LAYER_KINDS = ("act", "act_grad", "head", "softmax", "weight", "grad")
KINDS = (*LAYER_KINDS, "jacobian", "items")
DEFAULT_MAX_NUMEL = 1 << 24


class CaptureError(LpzeroError):
    """A requested tensor was not captured (unknown kind, missing module, empty gradients)."""


@dataclass
class Record:
    """Captured tensors: ``tensors[kind][layer]`` is a list of tensors (empty when nothing was seen)."""

    specs: list[LayerSpec]
    kinds: frozenset[str]
    tensors: dict[str, list[list[torch.Tensor]]] = field(default_factory=dict)
    jacobian: torch.Tensor | None = None
    items: list[list[tuple[str, str, torch.Tensor]]] = field(default_factory=list)

    @property
    def n_layers(self) -> int:
        return len(self.specs)

    def get(self, kind: str, layer: int) -> list[torch.Tensor]:
        if kind not in self.tensors:
            raise CaptureError(f"kind {kind!r} was not captured; captured: {', '.join(sorted(self.tensors))}")
        return self.tensors[kind][layer]

    def check(self) -> None:
        """Call after backward. Raises :class:`CaptureError` when a captured layer received no weight gradient
        at all, or the embeddings none; a single weight the loss does not reach gets a zero gradient."""
        if "grad" in self.kinds:
            for spec, grads in zip(self.specs, self.tensors["grad"], strict=True):
                if spec.weights and all(g is None for g in grads):
                    raise CaptureError(f"no gradient reached layer {spec.index} (was backward called?)")
                grads[:] = [
                    torch.zeros_like(p) if g is None else g for (_, p), g in zip(spec.weights, grads, strict=True)
                ]
        if "jacobian" in self.kinds and self.jacobian is None:
            raise CaptureError("no gradient reached the input embeddings")


def _bounded(x: torch.Tensor, max_numel: int | None) -> torch.Tensor:
    x = x.detach()
    if max_numel is None or x.numel() <= max_numel or x.dim() == 0:
        return x
    keep = max(1, max_numel // max(1, x[0].numel()))
    return x[:keep]


class HookManager:
    """Context manager capturing ``kinds`` for the layers ``layers`` (indices; all when ``None``).

    >>> with HookManager(model, kinds={"act", "grad"}) as record:
    ...     loss = zero_cost_loss(model(ids), ids, causal=True)
    ...     loss.backward()
    >>> record.check()
    """

    def __init__(
        self,
        model: nn.Module,
        recipe: Recipe | str | None = None,
        kinds: Iterable[str] = LAYER_KINDS,
        layers: Iterable[int] | None = None,
        max_numel: int | None = DEFAULT_MAX_NUMEL,
    ) -> None:
        self.kinds = frozenset(kinds)
        unknown = self.kinds - set(KINDS)
        if unknown:
            raise CaptureError(f"unknown kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
        self.model = model
        self.recipe = resolve_recipe(model, recipe)
        specs = self.recipe.layers(model)
        if layers is not None:
            wanted = sorted(set(layers))
            bad = [i for i in wanted if not 0 <= i < len(specs)]
            if bad:
                raise CaptureError(f"layer indices {bad} out of range for a model with {len(specs)} layers")
            specs = [specs[i] for i in wanted]
        self.max_numel = max_numel
        self.record = Record(specs=specs, kinds=self.kinds)
        self._handles: list[RemovableHandle] = []

    # ------------------------------------------------------------------ context
    def __enter__(self) -> Record:
        force_eager_attention(self.model)
        try:
            self._install()
        except BaseException:
            self.remove()
            raise
        return self.record

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        """Removes every hook this manager installed (idempotent)."""
        while self._handles:
            self._handles.pop().remove()

    # ------------------------------------------------------------------ installation
    def _install(self) -> None:
        record = self.record
        for kind in self.kinds & set(LAYER_KINDS):
            record.tensors[kind] = [[] for _ in record.specs]
        if "items" in self.kinds:
            record.items = [[] for _ in record.specs]
        for slot, spec in enumerate(record.specs):
            if "items" in self.kinds:
                for tap in spec.items.taps:
                    self._handles.append(tap.module.register_forward_hook(self._on_tap(slot, tap)))
            if self.kinds & {"act", "act_grad"}:
                self._hook_modules(spec.act, self._on_act(slot))
            if "head" in self.kinds:
                self._hook_modules(spec.qkv, self._on_head(slot, spec.qkv_fused))
            if "softmax" in self.kinds:
                self._hook_modules(spec.softmax, self._on_softmax(slot, spec.softmax_index))
            if "weight" in self.kinds:
                record.tensors["weight"][slot] = [p.detach() for _, p in spec.weights]
            if "grad" in self.kinds:
                record.tensors["grad"][slot] = [None] * len(spec.weights)  # type: ignore[list-item]
                for position, (_, param) in enumerate(spec.weights):
                    if not param.requires_grad:
                        raise CaptureError(f"layer {spec.index}: weight {_} does not require grad")
                    self._handles.append(param.register_hook(self._on_grad(slot, position)))
        if "jacobian" in self.kinds:
            self._handles.append(input_embedding(self.model).register_forward_hook(self._on_embedding))

    def _hook_modules(self, modules: tuple[nn.Module, ...], hook: Any) -> None:
        self._handles += [module.register_forward_hook(hook) for module in modules]

    def _on_act(self, slot: int) -> Any:
        def hook(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            if "act" in self.kinds:
                self.record.tensors["act"][slot].append(_bounded(output, self.max_numel))
            if "act_grad" in self.kinds and output.requires_grad:
                store = self.record.tensors["act_grad"][slot]
                self._handles.append(output.register_hook(lambda g: store.append(_bounded(g, self.max_numel))))

        return hook

    def _on_head(self, slot: int, fused: bool) -> Any:
        def hook(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            parts = output.chunk(3, dim=-1) if fused else (output,)
            self.record.tensors["head"][slot].extend(_bounded(p, self.max_numel) for p in parts)

        return hook

    def _on_softmax(self, slot: int, index: int | None) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            probs = output if index is None else output[index]
            if probs is None:
                raise CaptureError("attention module returned no probabilities (is attention eager?)")
            self.record.tensors["softmax"][slot].append(_bounded(probs, self.max_numel))

        return hook

    def _on_tap(self, slot: int, tap: Tap) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            value = args[0] if tap.port == "input" else output if tap.index is None else output[tap.index]
            self.record.items[slot].append((tap.kind, tap.group, _bounded(value, self.max_numel)))

        return hook

    def _on_grad(self, slot: int, position: int) -> Any:
        def hook(grad: torch.Tensor) -> None:
            grads = self.record.tensors["grad"][slot]
            previous = grads[position]
            grads[position] = grad.detach() if previous is None else previous + grad.detach()

        return hook

    def _on_embedding(self, module: nn.Module, args: Any, output: torch.Tensor) -> None:
        if output.requires_grad:

            def store(grad: torch.Tensor) -> None:
                self.record.jacobian = grad.detach()

            self._handles.append(output.register_hook(store))
