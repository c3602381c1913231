"""The engine interface: ``fit(table, rules, ...) -> Front``, plus the engine registry and the front."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lpzero_sr.errors import LpzeroError
from lpzero_sr.formula import Node
from lpzero_sr.registry import Registry
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.settings import SearchSettings
from lpzero_sr.table import StatTable


class SearchError(LpzeroError):
    """A search that cannot run (missing engine, bad budget, incompatible checkpoint)."""


@dataclass(frozen=True)
class Candidate:
    """One formula of the front: the tree the search scored, its train rank loss and its node count."""

    formula: Node
    loss: float
    complexity: int

    @property
    def text(self) -> str:
        from lpzero_sr.export.text import formula_text  # sympy, imported when a front is printed

        return formula_text(self.formula)


@dataclass
class Front:
    """Non-dominated formulas over (train rank loss, complexity), ordered by complexity.

    ``rejections`` counts candidates rejected per rule name; ``history`` holds ``(evaluations, best loss)``
    after each generation; ``stopped`` says why the search ended; ``seconds`` is the wall time of the engine's ``fit``
    call that found it.
    """

    candidates: list[Candidate]
    rejections: dict[str, int] = field(default_factory=dict)
    history: list[tuple[int, float]] = field(default_factory=list)
    evaluations: int = 0
    generations: int = 0
    stopped: str = ""
    seconds: float = 0.0

    @property
    def best(self) -> Candidate:
        return min(self.candidates, key=lambda c: (c.loss, c.complexity))

    def to_json(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "candidates": [
                {"loss": c.loss, "complexity": c.complexity, "text": c.text, "tree": c.formula.to_json()}
                for c in self.candidates
            ],
            "rejections": self.rejections,
            "evaluations": self.evaluations,
            "generations": self.generations,
            "stopped": self.stopped,
            "seconds": self.seconds,
            **(extra or {}),
        }


Progress = Callable[[int, int, float], None]  # (generation, evaluations, best loss)


class Engine(Protocol):
    """A search backend; registered in :data:`ENGINES`. Every setting of a search (rank loss, aggregation, budget,
    seed, population, threads, evaluator) comes in one :class:`lpzero_sr.settings.SearchSettings`; ``checkpoint``
    (a folder to resume from and save to) and ``progress`` are the run's own."""

    def fit(
        self,
        table: StatTable,
        rules: RuleSet,
        settings: SearchSettings,
        *,
        checkpoint: Path | None = None,
        progress: Progress | None = None,
    ) -> Front: ...


ENGINES: Registry[Callable[[], Engine]] = Registry("engine")


def julia_available() -> bool:
    return shutil.which("julia") is not None


def pysr_available() -> bool:
    """Julia on PATH and the ``pysr`` and ``juliacall`` packages installed (checked without importing them:
    importing pysr may download Julia)."""
    return julia_available() and all(importlib.util.find_spec(m) is not None for m in ("pysr", "juliacall"))
