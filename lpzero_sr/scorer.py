"""Scorer: a found proxy as a drop-in ``scorer(model, batch) -> float`` for a NAS loop.

The scorer reads the statistics and classic proxies its formula names (:attr:`Proxy.features`), asks
:func:`lpzero_sr.features.extract.extract_model` for exactly those (so only the hook kinds they need are installed,
and the backward pass runs only when one of them needs gradients), and evaluates the formula with the proxy's torch
module (:meth:`Proxy.to_torch`, its knots and constants moved to the scorer's device once). Values equal those of a
full extraction followed by :meth:`Proxy.evaluate`: a per-architecture formula reads each statistic averaged over
layers; a per-layer formula (``proxy.aggregation`` set) is evaluated on every layer and summed or averaged.

:meth:`Scorer.score_configs` scores many architectures of a space the way a benchmark extraction does (each model
initialised from ``torch.manual_seed(seed)``, one shared token batch per vocabulary size).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from lpzero_sr.errors import LpzeroError
from lpzero_sr.features import bank
from lpzero_sr.features.extract import extract_model, resolve_device
from lpzero_sr.features.hooks import DEFAULT_MAX_NUMEL
from lpzero_sr.features.inputs import make_batch
from lpzero_sr.features.proxies import PROXIES
from lpzero_sr.features.recipes import Recipe
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.proxy import Proxy
from lpzero_sr.spaces.base import Space

log = logging.getLogger(__name__)


class ScorerError(LpzeroError):
    """A proxy the scorer cannot compute (unknown feature, per-layer formula over a per-architecture proxy)."""


class Scorer:
    """``Scorer(proxy)(model, batch) -> float``; ``proxy`` is a :class:`Proxy` or the path of a proxy JSON file."""

    def __init__(
        self,
        proxy: Proxy | str | Path,
        device: str | torch.device = "auto",
        recipe: Recipe | str | None = None,
        max_numel: int | None = DEFAULT_MAX_NUMEL,
    ) -> None:
        self.proxy = proxy if isinstance(proxy, Proxy) else Proxy.load(proxy)
        self.device = resolve_device(device)
        self.recipe = recipe
        self.max_numel = max_numel
        self.stats = [f for f in self.proxy.features if f not in PROXIES]
        self.proxies = [f for f in self.proxy.features if f in PROXIES]
        for name in self.stats:
            try:
                bank.parse_column(name)
            except bank.StatError as exc:
                raise ScorerError(f"proxy feature {name!r} is neither a classic proxy nor a statistic: {exc}") from None
        if self.proxy.aggregation is not None and self.proxies:
            raise ScorerError(
                f"per-layer proxy reads per-architecture value(s) {', '.join(self.proxies)}; cannot score it per layer"
            )
        self._formula = self.proxy.to_torch().to(self.device)

    def features(self, model: nn.Module, batch: torch.Tensor, causal: bool | None = None) -> dict[str, torch.Tensor]:
        """The formula's inputs for ``model`` on ``batch``: 0-d tensors, or one value per layer for per-layer
        proxies (float64, on the scorer's device)."""
        result = extract_model(
            model,
            batch,
            recipe=self.recipe,
            stats=self.stats,
            proxies=self.proxies,
            device=self.device,
            causal=causal,
            max_numel=self.max_numel,
        )
        if result.errors:
            name, message = next(iter(result.errors.items()))
            raise ScorerError(f"proxy {name!r} failed: {message}")
        if self.proxy.aggregation is not None:
            columns = {name: result.per_layer[name].to_numpy(dtype=float, copy=True) for name in self.stats}
        else:
            columns = {name: result.per_arch[name] for name in self.proxy.features}
        return {
            name: torch.as_tensor(value, dtype=torch.float64, device=self.device) for name, value in columns.items()
        }

    def __call__(self, model: nn.Module, batch: torch.Tensor, causal: bool | None = None) -> float:
        """The proxy's score of ``model`` on ``batch`` (token ids, B x T); higher is better."""
        return float(self._formula(self.features(model, batch, causal)))

    def score_configs(
        self,
        space: Space,
        configs: Sequence[dict[str, Any]],
        settings: ExtractSettings | None = None,
        progress: bool = False,
    ) -> list[float]:
        """Scores of ``configs`` built by ``space``, initialised and fed as a benchmark extraction with ``settings``
        would be. An architecture that fails to build or score gets NaN (logged), the others still count."""
        settings = settings or ExtractSettings()
        batches: dict[int, torch.Tensor] = {}
        scores = []
        for config in tqdm(configs, desc="score", unit="arch", disable=not progress):
            vocab = space.vocab_size(config)
            if vocab not in batches:
                batches[vocab] = make_batch(vocab, settings.batch_size, settings.seq_len, seed=settings.seed)
            try:
                torch.manual_seed(settings.seed)
                model = space.build(config)
                scores.append(self(model, batches[vocab], causal=space.causal))
            except (LpzeroError, RuntimeError, ValueError) as exc:
                log.warning("cannot score %s: %s", config, exc)
                scores.append(math.nan)
        return scores
