"""Stage 2 of a fit, *search*: one search of the prepared training rows, or a bag of them.

A bag (``FitSettings.bag`` > 1) runs searches with seeds ``seed, seed + 1, ...``, each with the whole budget; several
terminal modes take turns over them (``("quantile", "raw")``: quantile terminals for the first, third, ...
search), and with ``subspace`` < 1 each sees its own random share of the columns
(:func:`lpzero_sr.fit.bagging.subspace`, drawn by its seed). ``progress`` counts generations over the whole bag.
A search cut short by Ctrl-C ends the bag: what exists is kept, and the first front says it was interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from lpzero_sr.fit.bagging import subspace
from lpzero_sr.fit.prepare import Prepared
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.engine import Front, Progress
from lpzero_sr.search.engines import get_engine
from lpzero_sr.settings import FitSettings, SearchSettings


@dataclass(frozen=True)
class SearchRun:
    """One search's front, the seed and terminal mode it ran with, and the columns it saw."""

    front: Front
    seed: int
    terminals: str
    columns: tuple[str, ...]


def shared_time(settings: SearchSettings, searches: int) -> SearchSettings:
    """The settings of one of ``searches`` searches of a fit: its share of the fit's time limit."""
    if settings.time_limit is None or searches == 1:
        return settings
    return replace(settings, time_limit=settings.time_limit / searches)


def run_searches(
    prepared: Prepared,
    settings: FitSettings,
    rules: RuleSet,
    *,
    checkpoint: Path | None = None,
    progress: Progress | None = None,
) -> tuple[str, list[SearchRun]]:
    """The engine's name (``auto`` resolved) and the runs of the bag, in seed order."""
    engine = get_engine(settings.search.engine)
    runs: list[SearchRun] = []
    for k in range(settings.bag):
        done = sum(r.front.generations for r in runs)

        def step(generation: int, n_evals: int, best: float, done: int = done) -> None:
            progress(done + generation, n_evals, best)  # type: ignore[misc]

        mode = settings.terminals[k % len(settings.terminals)]
        columns = subspace(prepared.train.features, settings.subspace, settings.search.seed + k)
        share = shared_time(settings.search, settings.searches(len(prepared.train.archs)))
        search = replace(share, seed=settings.search.seed + k)
        front = engine.fit(
            prepared.search_table(mode, columns), rules, search,
            checkpoint=checkpoint if checkpoint is None or settings.bag == 1 else checkpoint / f"search{k + 1}",
            progress=None if progress is None else step,
        )  # fmt: skip
        runs.append(SearchRun(front, search.seed, mode, columns))
        if front.stopped == "interrupted":
            runs[0].front.stopped = "interrupted"
            break
    return getattr(engine, "name", settings.search.engine), runs
