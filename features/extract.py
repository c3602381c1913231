"""Extraction: one model and batch -> statistics + proxies; many architectures -> resumable tables on disk.

:func:`extract_model` runs one forward and (when any requested value needs gradients) one backward pass under a
:class:`HookManager` that captures only the kinds the requested statistics and proxies need; proxies with an
``extra_pass`` (synflow, logsynflow, grasp, jacov, jacob_cos) then run their own passes.

:func:`extract_space` runs many architectures (in-process or as Ray tasks, :mod:`lpzero_sr.parallel`) with a
progress bar, appends one JSON line per architecture to ``records.jsonl`` keyed by content
(:mod:`lpzero_sr.features.cache`: a rerun reuses only records of the same config and settings), turns build
failures, NaN losses and errors into error rows, retries a CUDA out-of-memory error with half the batch, and frees
memory between architectures. It materialises ``per_arch.parquet`` (arch + columns), ``per_layer.parquet`` (arch,
layer + statistics) and ``errors.csv``.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from lpzero_sr.errors import LpzeroError
from lpzero_sr.features import bank, cache
from lpzero_sr.features.cache import extract_key
from lpzero_sr.features.hooks import DEFAULT_MAX_NUMEL, HookManager
from lpzero_sr.features.loss import logits_of, zero_cost_loss
from lpzero_sr.features.proxies import PROXIES, ClassicProxy, ProxyContext
from lpzero_sr.features.recipes import RECIPE_KINDS, Recipe, resolve_recipe
from lpzero_sr.parallel import Runner, map_archs

log = logging.getLogger(__name__)
GRAD_KINDS = frozenset({"grad", "act_grad", "jacobian"})


class ExtractError(LpzeroError):
    """An architecture whose extraction cannot succeed (NaN loss, bad device, bad selection)."""


@dataclass
class Extraction:
    """Per-layer statistics (column ``layer`` + statistics), per-architecture values (statistics averaged over
    layers, plus proxies), the proxies that failed with their error message, and wall-clock seconds spent in the
    main pass (``"pass"``), the bank (``"stats"``) and each proxy (by name)."""

    per_layer: pd.DataFrame
    per_arch: dict[str, float]
    errors: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; asking for CUDA without one raises :class:`ExtractError`."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ExtractError("device 'cuda' requested but CUDA is not available")
    return resolved


def select_stats(stats: str | Iterable[str] | None) -> list[str]:
    """``"all"`` -> every bank column, ``None``/``"none"`` -> none, else the given names (validated)."""
    if stats is None or stats == "none":
        return []
    names = bank.column_names() if stats == "all" else list(stats)
    for name in names:
        bank.parse_column(name)
    return names


def select_proxies(proxies: str | Iterable[str] | None) -> list[ClassicProxy]:
    """``"all"`` -> every registered proxy, ``"single"`` -> those without an extra pass, ``None``/``"none"`` ->
    none, else the named ones."""
    if proxies is None or proxies == "none":
        return []
    if proxies in ("all", "single"):
        chosen = [p for _, p in PROXIES.items()]
        return [p for p in chosen if proxies == "all" or p.extra_pass is None]
    try:
        return [PROXIES.get(name) for name in proxies]
    except KeyError as exc:
        raise ExtractError(exc.args[0]) from None


def extract_model(
    model: nn.Module,
    batch: torch.Tensor,
    recipe: Recipe | str | None = None,
    stats: str | Iterable[str] | None = "all",
    proxies: str | Iterable[str] | None = "all",
    device: str | torch.device = "auto",
    causal: bool | None = None,
    max_numel: int | None = DEFAULT_MAX_NUMEL,
) -> Extraction:
    """Statistics and proxies of ``model`` on ``batch`` (token ids, B x T); see the module docstring.

    ``stats``: "all", ``None``/"none" or bank column names; ``proxies``: "all", "single" (no extra pass),
    ``None``/"none" or proxy names. The model is moved to ``device`` and put in eval mode (no dropout); HF models
    are switched to eager attention; gradients are cleared before and after. ``causal`` defaults to the recipe's
    answer (HF decoders, or a native model's ``causal`` attribute).
    """
    dev = resolve_device(device)
    model.to(dev).eval()
    batch = batch.to(dev)
    recipe = resolve_recipe(model, recipe)
    causal = recipe.causal(model) if causal is None else causal
    names = select_stats(stats)
    chosen = select_proxies(proxies)
    kinds = bank.required_kinds(names).union(*(p.kinds for p in chosen))
    if recipe.name == "generic" and kinds & RECIPE_KINDS:
        needs = [n for n in names if bank.required_kinds([n]) & RECIPE_KINDS] + [
            p.name for p in chosen if p.kinds & RECIPE_KINDS
        ]
        raise ExtractError(
            f"{type(model).__name__} has no hook recipe, so {', '.join(needs[:6])}{' ...' if len(needs) > 6 else ''} "
            f"cannot be computed (they read {', '.join(sorted(kinds & RECIPE_KINDS))} tensors); weight.* and grad.* "
            "statistics and proxies without them work; register a recipe (lpzero_sr.features.recipes.register_recipe)"
        )
    model.zero_grad(set_to_none=True)
    clock = _Clock(dev)
    try:
        with HookManager(model, recipe, kinds, max_numel=max_numel) as record:
            loss = zero_cost_loss(logits_of(model(batch)), batch, causal)
            if not torch.isfinite(loss):
                raise ExtractError(f"zero-cost loss is {loss.item()}")
            if kinds & GRAD_KINDS:
                loss.backward()
        record.check()
        clock.lap("pass")
        values = bank.compute_stats(record, names)
        per_arch = bank.per_arch(values)
        clock.lap("stats")
        errors: dict[str, str] = {}
        ctx = ProxyContext(model, batch, recipe, record, causal, stats=dict(values))
        for proxy in chosen:
            try:
                per_arch[proxy.name] = proxy(ctx)
            except torch.cuda.OutOfMemoryError:
                raise
            except Exception as exc:  # a failing proxy is recorded, the others still count
                errors[proxy.name] = f"{type(exc).__name__}: {exc}"
                per_arch[proxy.name] = math.nan
            clock.lap(proxy.name)
        layers = [spec.index for spec in record.specs]
        return Extraction(bank.per_layer_frame(values, layers), per_arch, errors, clock.laps)
    finally:
        model.zero_grad(set_to_none=True)


class _Clock:
    """Wall-clock laps; synchronises CUDA before each reading so device work is attributed to its lap."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.laps: dict[str, float] = {}
        self._last = self._now()

    def _now(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    def lap(self, name: str) -> None:
        now = self._now()
        self.laps[name] = now - self._last
        self._last = now


def extract_columns(
    model: nn.Module,
    batch: torch.Tensor,
    names: Iterable[str],
    recipe: Recipe | str | None = None,
    device: str | torch.device = "auto",
    causal: bool | None = None,
) -> Extraction:
    """Only the columns ``names`` (bank statistics and/or proxy names, e.g. ``["grad.sqr.mean", "snip"]``): the
    hooks installed are those these columns need, and no backward pass runs when none of them needs gradients."""
    names = list(dict.fromkeys(names))
    proxies = [n for n in names if n in PROXIES]
    stats = [n for n in names if n not in PROXIES]
    return extract_model(model, batch, recipe, stats=stats, proxies=proxies, device=device, causal=causal)


def _extract_with_retry(model: nn.Module, batch: torch.Tensor, **kwargs: object) -> tuple[Extraction, int]:
    """:func:`extract_model`, retried with the first half of the batch after each CUDA out-of-memory error."""
    while True:
        try:
            return extract_model(model, batch, **kwargs), int(batch.shape[0])  # type: ignore[arg-type]
        except torch.cuda.OutOfMemoryError:
            if batch.shape[0] <= 1:
                raise
            batch = batch[: batch.shape[0] // 2]
            log.warning("CUDA out of memory; retrying with batch size %d", batch.shape[0])
            _free_memory()


def _free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def extraction_settings(
    inputs: Mapping[str, Any] | None,
    stats: str | Iterable[str] | None,
    proxies: str | Iterable[str] | None,
    device: torch.device,
    recipe: Recipe | str | None,
    cpu_threads: int | None,
) -> dict[str, Any]:
    """Every setting an extraction's values depend on: ``inputs`` (what ``build_fn``/``batch_fn`` use: batch
    size, sequence length, seed, space), the resolved statistic and proxy names, the recipe name ("auto" when
    detected per model), the device type, torch's default dtype and the CPU thread count."""
    return {
        **dict(inputs or {}),
        "stats": select_stats(stats),
        "proxies": [p.name for p in select_proxies(proxies)],
        "recipe": "auto" if recipe is None else recipe if isinstance(recipe, str) else recipe.name,
        "device": device.type,
        "dtype": str(torch.get_default_dtype()).removeprefix("torch."),
        "cpu_threads": cpu_threads,
    }


def space_keys(
    arch_ids: Sequence[str],
    configs: Mapping[str, Mapping[str, Any]] | None,
    settings: Mapping[str, Any],
) -> dict[str, str]:
    """The cache key of each architecture (:func:`lpzero_sr.features.cache.extract_key`); without ``configs``
    an architecture is identified by its id alone (then edits to what ``build_fn`` builds go unnoticed)."""
    return {
        str(a): extract_key(configs[str(a)] if configs is not None else {"arch": str(a)}, settings) for a in arch_ids
    }


def task_device(device: str | torch.device, runner: Runner | None) -> torch.device:
    """The device tasks run on: with GPUs per Ray task, "auto" and "cuda" mean CUDA on the workers (the driver
    may have none); otherwise :func:`resolve_device` on this machine."""
    if runner is not None and runner.gpus_per_task > 0 and str(device) in ("auto", "cuda"):
        return torch.device("cuda")
    return resolve_device(device)


def extract_space(
    arch_ids: Sequence[str],
    build_fn: Callable[[str], nn.Module],
    batch_fn: Callable[[str, nn.Module], torch.Tensor],
    out_dir: str | Path,
    stats: str | Iterable[str] | None = "all",
    proxies: str | Iterable[str] | None = "all",
    device: str | torch.device = "auto",
    recipe: Recipe | str | None = None,
    progress: bool = True,
    cpu_threads: int | None = 1,
    *,
    configs: Mapping[str, Mapping[str, Any]] | None = None,
    inputs: Mapping[str, Any] | None = None,
    runner: Runner | None = None,
    families: Mapping[str, str] | None = None,
    note: str = "",
) -> pd.DataFrame:
    """Extract every architecture without a current record in ``out_dir``; returns the per-architecture frame
    of ``arch_ids`` (error rows left out; they are in ``errors.csv``).

    Before the first model is built, one warning says how many architectures are to be extracted and, from the
    seconds of earlier records in ``out_dir`` (else, after the first of them, from that one), about how long each
    and all of them take; ``note`` is added to it (e.g. what a caller's time limit covers). ``families`` (model
    family by architecture, e.g. Hugging Face ``model_type``) adds that text column to the tables.

    ``build_fn(arch)`` returns a fresh model, ``batch_fn(arch, model)`` its token batch (B, T). ``configs`` (by
    architecture id) and ``inputs`` (the settings ``build_fn`` and ``batch_fn`` use) enter each record's key
    together with the settings of this call (:func:`extraction_settings`); only records with the same key and no
    error are reused (see :mod:`lpzero_sr.features.cache`). ``runner`` picks where architectures run
    (:mod:`lpzero_sr.parallel`; default in-process); each record is appended as soon as it arrives. On CPU each
    architecture runs with ``cpu_threads`` torch threads (``None``: torch's default): one by default, because
    reductions then add in a fixed order, so a table is the same whatever the machine's core count, load or
    worker count, and small models extract faster than with threads contending for busy cores.
    """
    out = Path(out_dir)
    dev = task_device(device, runner)
    settings = extraction_settings(inputs, stats, proxies, dev, recipe, cpu_threads)
    keys = space_keys(arch_ids, configs, settings)
    records = cache.read_records(out)
    todo = cache.to_do(records, keys)
    if todo:
        task = _Task(build_fn, batch_fn, settings["stats"], settings["proxies"], dev, recipe, cpu_threads, keys)
        estimate = _Estimate(len(todo), runner, note, _median_seconds(records))
        with cache.open_for_append(out) as handle:
            results = map_archs(task, todo, runner, on_error=task.failed)
            for _, record in tqdm(results, total=len(todo), desc="extract", unit="arch", disable=not progress):
                cache.append(handle, record)
                records.append(record)
                estimate.first(record)
    return cache.materialise(out, keys, records, families)


def _median_seconds(records: Sequence[Mapping[str, Any]]) -> float | None:
    """The median seconds of the error-free records that carry them (None without any)."""
    seconds = sorted(float(r["seconds"]) for r in records if not r.get("error") and r.get("seconds") is not None)
    return seconds[len(seconds) // 2] if seconds else None


class _Estimate:
    """The warning that an extraction is starting: how many models, about how long each and in all (from earlier
    records, else from the median of the first :data:`TIMED` of this run: the very first model also pays one-off
    costs such as imports)."""

    TIMED = 3

    def __init__(self, n: int, runner: Runner | None, note: str, seconds: float | None) -> None:
        self.n, self.note = n, f"; {note}" if note else ""
        self.workers = (runner.workers or os.cpu_count() or 1) if runner is not None and runner.uses_ray else 1
        self.timed: list[float] | None = [] if seconds is None and n > self.TIMED else None
        if seconds is None:
            what = f"timing the first {self.TIMED}" if self.timed is not None else "about to start"
            log.warning("extracting %d model(s) not in the cache%s; %s", n, self.note, what)
        else:
            log.warning("extracting %s%s", self._total(seconds, "from earlier models"), self.note)

    def first(self, record: Mapping[str, Any]) -> None:
        """Count one record; after the first :data:`TIMED` (when there was no earlier timing), the estimate."""
        if self.timed is None or record.get("error") or record.get("seconds") is None:
            return
        self.timed.append(float(record["seconds"]))
        if len(self.timed) == self.TIMED:
            median = sorted(self.timed)[self.TIMED // 2]
            log.warning("extracting %s", self._total(median, f"the median of the first {self.TIMED}"))
            self.timed = None

    def _total(self, seconds: float, basis: str) -> str:
        total = seconds * self.n / self.workers
        span = f"{total / 60:.0f} min" if total >= 90 else f"{total:.0f} s"
        on = f" on {self.workers} workers" if self.workers > 1 else ""
        return f"{self.n} model(s) at about {seconds:.2g} s each ({basis}): about {span} in all{on}"


@dataclass(frozen=True)
class _Task:
    """One architecture's record: a picklable callable, so Ray workers run exactly what the serial loop runs."""

    build_fn: Callable[[str], nn.Module]
    batch_fn: Callable[[str, nn.Module], torch.Tensor]
    stats: list[str]
    proxies: list[str]
    device: torch.device
    recipe: Recipe | str | None
    cpu_threads: int | None
    keys: Mapping[str, str]

    def __call__(self, arch: str) -> dict[str, object]:
        threads = torch.get_num_threads()
        if self.device.type == "cpu" and self.cpu_threads is not None:
            torch.set_num_threads(self.cpu_threads)
        start = time.perf_counter()
        try:
            record = _one(arch, self.build_fn, self.batch_fn, self.stats, self.proxies, self.device, self.recipe)
        finally:
            torch.set_num_threads(threads)
            _free_memory()
        return {"arch": arch, "key": self.keys[arch], "seconds": time.perf_counter() - start, **record}

    def failed(self, arch: str, exc: BaseException) -> dict[str, object]:
        """The error row of an architecture whose task failed outside :func:`_one` (e.g. its worker died)."""
        log.warning("architecture %s failed: %s", arch, exc)
        return {"arch": arch, "key": self.keys[arch], "error": f"{type(exc).__name__}: {exc}"}


def _one(
    arch: str,
    build_fn: Callable[[str], nn.Module],
    batch_fn: Callable[[str, nn.Module], torch.Tensor],
    names: list[str],
    proxies: list[str],
    device: torch.device,
    recipe: Recipe | str | None,
) -> dict[str, object]:
    model = None
    try:
        model = build_fn(arch)
        result, batch_size = _extract_with_retry(
            model, batch_fn(arch, model), recipe=recipe, stats=names, proxies=proxies, device=device
        )
        per_layer = {c: result.per_layer[c].tolist() for c in result.per_layer.columns}
        return {
            "per_arch": result.per_arch,
            "per_layer": per_layer,
            "proxy_errors": result.errors,
            "batch_size": batch_size,
            "error": None,
        }
    except Exception as exc:  # one architecture's failure is recorded; the run goes on
        log.warning("architecture %s failed: %s", arch, exc)
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        del model
