"""RunDir: the one reader and writer of a run directory.

A fit run directory holds ``proxy.json`` (the chosen proxy), ``front.json`` (the Pareto front with each member's
train/held-out metrics, the chosen index, the selection rule, the held-out report, the parts of an ensemble, the
quantiles the members read), ``history.json`` (convergence, rejections per rule, why the search stopped),
``predictions.csv`` (arch, split, score, target; the target oriented so that higher is better) and
``settings.json`` (the settings that produced it). A held-out protocol run holds ``summary.json`` and one such
folder per seed (``seed_<k>/``), optionally ``ablation.json``. Every file is written atomically
(:mod:`lpzero_sr.fsutil`).

Reading is typed (:class:`FrontRecord`, :class:`HistoryRecord`) and lenient where older runs lack a part (per-member
held-out values, the chosen index, peers, settings): the part reads as empty, so a report leaves its section out
with a note. A file that is there but is not what it should be is one :class:`RunDirError` line.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lpzero_sr.errors import LpzeroError
from lpzero_sr.formula import FormulaError, Node
from lpzero_sr.fsutil import atomic_write_text
from lpzero_sr.proxy import Proxy, ProxyError
from lpzero_sr.quantile import Quantile, QuantileError

if TYPE_CHECKING:
    import pandas as pd

PROXY, FRONT, HISTORY, PREDICTIONS, SETTINGS, SUMMARY, ABLATION = (
    "proxy.json", "front.json", "history.json", "predictions.csv", "settings.json", "summary.json", "ablation.json",
)  # fmt: skip
PREDICTION_COLUMNS = ("arch", "split", "score", "target")
SEED_PREFIX = "seed_"


class RunDirError(LpzeroError):
    """A run directory without the files a command needs, or with a file that is not what it should be."""


@dataclass(frozen=True)
class RunRecord:
    """What a fit writes: the proxy, the contents of ``front.json`` and ``settings.json``, and where the fit has them,
    ``history.json`` and the predictions (:meth:`lpzero_sr.fit.pipeline.FitResult.record` builds it)."""

    proxy: Proxy
    front: dict[str, Any]
    settings: dict[str, Any]
    history: dict[str, Any] | None = None
    predictions: pd.DataFrame | None = None


@dataclass(frozen=True)
class MemberRecord:
    """One Pareto member: train loss, node count, text, tree and (where stored) train/held-out metrics."""

    loss: float
    complexity: int
    text: str
    formula: Node
    train: dict[str, float] = field(default_factory=dict)
    heldout: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FrontRecord:
    """``front.json``: the members and what the fit said about them (empty parts where an older run lacks them)."""

    candidates: list[MemberRecord] = field(default_factory=list)
    chosen: int | None = None
    compact: int | None = None
    selection: str = ""
    report: dict[str, Any] = field(default_factory=dict)
    parts: list[dict[str, Any]] = field(default_factory=list)
    quantiles: dict[str, Quantile] = field(default_factory=dict)
    evaluations: int | None = None
    generations: int | None = None
    stopped: str = ""
    tasks: list[str] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryRecord:
    """``history.json``: ``(evaluations, best loss)`` after each improvement, rejections per rule, stop reason."""

    history: list[tuple[int, float]] = field(default_factory=list)
    rejections: dict[str, int] = field(default_factory=dict)
    stopped: str = ""


class RunDir:
    """A run directory at ``path``; files are read on first use (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # ------------------------------------------------------------------ writing
    def write(self, record: RunRecord) -> list[Path]:
        """The files of ``record`` (those it holds); returns their paths, the proxy first."""
        paths = [self._write(PROXY, _dumps(record.proxy.to_json())), self._write(FRONT, _dumps(record.front))]
        if record.history is not None:
            paths.append(self._write(HISTORY, _dumps(record.history)))
        if record.predictions is not None:
            text = io.StringIO()
            record.predictions.to_csv(text, index=False)
            paths.append(self._write(PREDICTIONS, text.getvalue()))
        paths.append(self._write(SETTINGS, _dumps(record.settings)))
        return paths

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """``summary.json`` of a held-out protocol run."""
        return self._write(SUMMARY, json.dumps(summary, indent=1, default=float) + "\n")

    def seed(self, seed: int) -> RunDir:
        """The folder of one seed of a protocol run."""
        return RunDir(self.path / f"{SEED_PREFIX}{seed}")

    def _write(self, name: str, text: str) -> Path:
        return atomic_write_text(self.path / name, text)

    # ------------------------------------------------------------------ reading
    @property
    def kind(self) -> str:
        """``fit`` (a proxy at the top), ``protocol`` (seed folders) or ``none``."""
        if (self.path / PROXY).is_file():
            return "fit"
        return "protocol" if self.seed_dirs() else "none"

    def seed_dirs(self) -> list[RunDir]:
        """A protocol run's seed folders, in seed order."""
        if not self.path.is_dir():
            return []
        found = [p for p in self.path.iterdir() if p.is_dir() and p.name.startswith(SEED_PREFIX)]
        return [RunDir(p) for p in sorted(found, key=_seed_number) if (p / PROXY).is_file()]

    @cached_property
    def proxy(self) -> Proxy:
        """The chosen proxy (``proxy.json``, required)."""
        if not self.path.is_dir():
            raise RunDirError(f"run directory not found: {self.path}")
        return Proxy.load(self.path / PROXY)

    @cached_property
    def front(self) -> FrontRecord:
        data = self._json(FRONT)
        try:
            candidates = [_member(c) for c in data.get("candidates", [])]
            quantiles = {n: Quantile.from_json(n, q) for n, q in (data.get("quantiles") or {}).items()}
        except (FormulaError, QuantileError, KeyError, TypeError, ValueError) as exc:
            raise RunDirError(f"{self.path / FRONT} has a bad member: {exc}") from None
        chosen, compact = data.get("chosen"), data.get("compact")
        return FrontRecord(
            candidates=candidates,
            chosen=chosen if isinstance(chosen, int) and 0 <= chosen < len(candidates) else None,
            compact=compact if isinstance(compact, int) and 0 <= compact < len(candidates) else None,
            selection=str(data.get("selection") or ""),
            report=_dict(data.get("report")),
            parts=[p for p in data.get("parts") or [] if isinstance(p, dict)],
            quantiles=quantiles,
            evaluations=data.get("evaluations"),
            generations=data.get("generations"),
            stopped=str(data.get("stopped") or ""),
            tasks=list(data.get("tasks") or []),
            reports=list(data.get("reports") or []),
        )

    @cached_property
    def history(self) -> HistoryRecord:
        data = self._json(HISTORY)
        try:
            points = [(int(e), float(loss)) for e, loss in data.get("history", [])]
        except (TypeError, ValueError) as exc:
            raise RunDirError(f"{self.path / HISTORY} has a bad history: {exc}") from None
        return HistoryRecord(points, _dict(data.get("rejections")), str(data.get("stopped") or ""))

    @cached_property
    def predictions(self) -> pd.DataFrame | None:
        """``predictions.csv``, or ``None`` when the run has none."""
        import pandas as pd

        path = self.path / PREDICTIONS
        if not path.is_file():
            return None
        try:
            frame = pd.read_csv(path, dtype={"arch": str})  # an id such as 0012 or 1e5 stays that id
        except (ValueError, OSError) as exc:
            raise RunDirError(f"cannot read {path}: {exc}") from None
        missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
        if missing:
            raise RunDirError(f"{path} lacks column(s) {', '.join(missing)}")
        return frame

    @cached_property
    def settings(self) -> dict[str, Any]:
        """The settings the run was made with (empty for runs older than ``settings.json``)."""
        return self._json(SETTINGS)

    @cached_property
    def summary(self) -> dict[str, Any]:
        """A protocol run's ``summary.json`` (empty when absent)."""
        return self._json(SUMMARY)

    @cached_property
    def ablation(self) -> dict[str, Any]:
        """A protocol run's ``ablation.json`` (``benchmarks/headline.py``: convergence with and without the pruning
        rules; empty when absent)."""
        return self._json(ABLATION)

    def member(self, index: int) -> Proxy:
        """Front member ``index`` as a proxy with the run's aggregation, target and direction."""
        import dataclasses

        candidates = self.front.candidates
        if not candidates:
            raise RunDirError(f"cannot read the front of {self.path}: no {FRONT} or an empty front")
        if not 0 <= index < len(candidates):
            raise RunDirError(f"member {index} is not in the front of {self.path} (members 0..{len(candidates) - 1})")
        try:
            return dataclasses.replace(
                self.proxy, formula=candidates[index].formula, quantiles=self.front.quantiles, metrics={},
                selection=f"front member {index}",
            )  # fmt: skip
        except ProxyError as exc:
            raise RunDirError(f"bad front member {index} in {self.path / FRONT}: {exc}") from None

    def _json(self, name: str) -> dict[str, Any]:
        path = self.path / name
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise RunDirError(f"{path} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RunDirError(f"{path} should hold a JSON object, found {type(data).__name__}")
        return data


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _member(data: dict[str, Any]) -> MemberRecord:
    """A member from its JSON; only its tree is required (a front written by hand may hold nothing else)."""
    formula = Node.from_json(data["tree"])
    loss = float(data.get("loss", "nan"))
    return MemberRecord(
        loss=loss if math.isfinite(loss) else float("nan"),
        complexity=int(data.get("complexity", formula.size)),
        text=str(data.get("text", "")),
        formula=formula,
        train=_dict(data.get("train")),
        heldout=_dict(data.get("heldout")),
    )


def _seed_number(path: Path) -> tuple[int, str]:
    tail = path.name[len(SEED_PREFIX) :]
    return (int(tail), "") if tail.isdigit() else (1 << 62, tail)


def load_proxy(path: str | Path, member: int | None = None) -> Proxy:
    """A proxy from a ``proxy.json``, a fit run directory or a run's ``front.json``; ``member`` takes front member
    ``member`` (with the run's aggregation, target and direction) instead of the chosen proxy."""
    path = Path(path)
    if not path.exists():
        raise ProxyError(f"proxy file not found: {path}")
    if path.is_file() and path.name != FRONT:
        if member is not None:
            return RunDir(path.parent).member(member)
        return Proxy.load(path)
    run = RunDir(path if path.is_dir() else path.parent)
    return run.proxy if member is None else run.member(member)
