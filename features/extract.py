"""Extraction: one model and batch -> statistics + proxies; many architectures -> resumable tables on disk.

:func:`extract_model` runs one forward and (when any requested value needs gradients) one backward pass under a
:class:`HookManager` that captures only the kinds the requested statistics and proxies need; proxies with an
``extra_pass`` (synflow, logsynflow, grasp, jacov, jacob_cos) then run their own passes.

:func:`extract_space` loops over architecture ids with a progress bar, appends one JSON line per architecture to
``records.jsonl`` (so a rerun skips what is written), turns build failures, NaN losses and errors into error rows,
retries a CUDA out-of-memory error with half the batch, and frees memory between architectures. It materialises
``per_arch.parquet`` (arch + columns), ``per_layer.parquet`` (arch, layer + statistics) and ``errors.csv``.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from lpzero_sr.errors import LpzeroError
from lpzero_sr.features import bank
from lpzero_sr.features.hooks import DEFAULT_MAX_NUMEL, HookManager
from lpzero_sr.features.loss import logits_of, zero_cost_loss
from lpzero_sr.features.proxies import PROXIES, Proxy, ProxyContext
from lpzero_sr.features.recipes import Recipe, resolve_recipe

log = logging.getLogger(__name__)
GRAD_KINDS = frozenset({"grad", "act_grad", "jacobian"})
RECORDS = "records.jsonl"


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


def select_proxies(proxies: str | Iterable[str] | None) -> list[Proxy]:
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


def done_archs(out_dir: str | Path) -> set[str]:
    """Architecture ids already written to ``out_dir/records.jsonl`` (successes and errors)."""
    path = Path(out_dir) / RECORDS
    if not path.exists():
        return set()
    with path.open() as handle:
        return {json.loads(line)["arch"] for line in handle if line.strip()}


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
) -> pd.DataFrame:
    """Extract every architecture not yet in ``out_dir``; returns the materialised per-architecture frame.

    ``build_fn(arch)`` returns a fresh model, ``batch_fn(arch, model)`` its token batch (B, T). On CPU the loop
    runs with ``cpu_threads`` torch threads (``None``: torch's default): one thread by default, because
    reductions then add in a fixed order, so a table is the same whatever the machine's core count or load, and
    small models extract faster than with threads contending for busy cores.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    names, chosen = select_stats(stats), [p.name for p in select_proxies(proxies)]
    done = done_archs(out)
    todo = [str(a) for a in arch_ids if str(a) not in done]
    threads = torch.get_num_threads()
    if dev.type == "cpu" and cpu_threads is not None:
        torch.set_num_threads(cpu_threads)
    try:
        _run(todo, out, build_fn, batch_fn, names, chosen, dev, recipe, progress)
    finally:
        torch.set_num_threads(threads)
    return materialise(out)


def _run(
    todo: list[str],
    out: Path,
    build_fn: Callable[[str], nn.Module],
    batch_fn: Callable[[str, nn.Module], torch.Tensor],
    names: list[str],
    chosen: list[str],
    dev: torch.device,
    recipe: Recipe | str | None,
    progress: bool,
) -> None:
    with (out / RECORDS).open("a") as handle:
        for arch in tqdm(todo, desc="extract", unit="arch", disable=not progress):
            handle.write(json.dumps(_one(arch, build_fn, batch_fn, names, chosen, dev, recipe)) + "\n")
            handle.flush()
            _free_memory()


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
            "arch": arch,
            "per_arch": result.per_arch,
            "per_layer": per_layer,
            "proxy_errors": result.errors,
            "batch_size": batch_size,
            "error": None,
        }
    except Exception as exc:  # one architecture's failure is recorded; the run goes on
        log.warning("architecture %s failed: %s", arch, exc)
        return {"arch": arch, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        del model


def materialise(out_dir: str | Path) -> pd.DataFrame:
    """Writes ``per_arch.parquet``, ``per_layer.parquet`` and ``errors.csv`` from ``records.jsonl``."""
    out = Path(out_dir)
    arch_rows, layer_frames, errors = [], [], []
    path = out / RECORDS
    lines = path.read_text().splitlines() if path.exists() else []
    seen: set[str] = set()
    for line in filter(None, lines):
        record = json.loads(line)
        if record["arch"] in seen:  # two runs that shared the folder wrote it twice: the first record counts
            continue
        seen.add(record["arch"])
        if record.get("error"):
            errors.append({"arch": record["arch"], "error": record["error"]})
            continue
        arch_rows.append({"arch": record["arch"], **record["per_arch"]})
        frame = pd.DataFrame(record["per_layer"])
        frame.insert(0, "arch", record["arch"])
        layer_frames.append(frame)
    per_arch = pd.DataFrame(arch_rows, columns=["arch"] if not arch_rows else None)
    per_arch.to_parquet(out / "per_arch.parquet", index=False)
    per_layer = pd.concat(layer_frames, ignore_index=True) if layer_frames else pd.DataFrame(columns=["arch", "layer"])
    per_layer.to_parquet(out / "per_layer.parquet", index=False)
    pd.DataFrame(errors, columns=["arch", "error"]).to_csv(out / "errors.csv", index=False)
    return per_arch
