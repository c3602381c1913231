"""PySR backend: ``PySRRegressor`` with a generated full-objective Julia rank loss.

How the rank loss sees architectures: PySR hands the objective a ``Dataset`` with ``X``, ``y`` and
``weights``. We pass one row per table row, ``y`` = the row's oriented architecture target and ``weights`` =
the row's architecture id (1-based). The objective (``rank_loss.jl`` plus a generated entry point) evaluates
the tree per row, aggregates per architecture and returns ``1 - corr``. Mini-batching would split
architectures, so ``batching`` is off; the entry point accepts PySR's ``idx`` argument and ignores it.
``loss_scale="linear"``: the loss is a correlation gap in [0, 2] that can reach 0, where "log" scaling breaks.

One meaning per formula: the operators reach Julia as definitions generated from :mod:`lpzero_sr.operators`,
PySR's own algebraic simplification is off (``should_simplify=False``), and each equation PySR returns is read
back from its text into the project's formula tree (:func:`lpzero_sr.export.julia.parse_equation`, an ``ast``
reader; never evaluated or ``sympify``-ed) and re-scored
with the same :class:`~lpzero_sr.search.fitness.Fitness` the embedded engine uses, so the front's losses are
those of the proxy that will be saved.

Parallel runs use ``multithreading``: the helper functions of ``rank_loss.jl`` live in Julia's ``Main``, which
PySR's multiprocessing workers do not share. juliacall reads its thread count from ``PYTHON_JULIACALL_THREADS``
when Julia starts; the engine sets it to ``jobs`` unless it is already set. pysr is imported only inside
:meth:`PysrEngine.fit`, after checking for Julia and the packages, because importing it may download Julia.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lpzero_sr.export.julia import julia_text, parse_equation
from lpzero_sr.formula import FormulaError, Node, Token
from lpzero_sr.ranking import Aggregation, Method
from lpzero_sr.rules.render import pysr_operator_kwargs
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.engine import (
    ENGINES,
    Candidate,
    Front,
    Progress,
    SearchError,
    julia_available,
    pysr_available,
)
from lpzero_sr.search.fitness import Fitness
from lpzero_sr.search.seeds import seed_formulas
from lpzero_sr.settings import SearchSettings
from lpzero_sr.table import StatTable

log = logging.getLogger(__name__)
THREADS_ENV = "PYTHON_JULIACALL_THREADS"
ENTRY = "lpzero_objective"
RUN_ID = "lpzero"


def julia_source() -> str:
    """The packaged rank-loss Julia code (``lpzero_sr/search/rank_loss.jl``)."""
    return (resources.files("lpzero_sr") / "search" / "rank_loss.jl").read_text()


def loss_function_source(method: Method = "spearman", aggregation: Aggregation = "sum") -> str:
    """Julia source for ``PySRRegressor(loss_function=...)``: the library code and an entry point last."""
    if method not in ("spearman", "kendall") or aggregation not in ("sum", "mean"):
        raise SearchError(f"unsupported loss/aggregation for PySR: {method}/{aggregation}")
    return (
        julia_source()
        + f"\nfunction {ENTRY}(tree, dataset::Dataset{{T,L}}, options, idx=nothing)::L where {{T,L}}\n"
        + "    # idx (mini-batch rows) is ignored: ranking needs every architecture, batching is off\n"
        + f"    return lpzero_rank_loss(tree, dataset, options, :{method}, :{aggregation})\n"
        + "end\n"
    )


def variable_names(table: StatTable) -> list[str]:
    """Julia-safe variable names ``x0..``; statistic names like ``grad.sqr.mean`` are not identifiers."""
    return [f"x{i}" for i in range(len(table.features))]


def fit_arrays(table: StatTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X`` (rows x features), ``y`` (each row's oriented architecture target), ``weights`` (architecture id + 1)."""
    groups = table.groups
    return table.X, table.y[groups], (groups + 1).astype(float)


def pysr_kwargs(
    table: StatTable, rules: RuleSet, settings: SearchSettings, checkpoint: Path | None = None
) -> dict[str, Any]:
    """Everything ``PySRRegressor`` needs; known proxies become ``guesses`` in Julia operator names."""
    loss, aggregation, seed, jobs = settings.loss, settings.aggregation, settings.seed, settings.cores
    fitness = Fitness(table, rules, loss, aggregation, seed)
    generations = settings.budgeted_generations
    kwargs = pysr_operator_kwargs(rules)
    guesses = [Node.from_tokens(t, table.features) for t in seed_formulas(fitness, rules)]
    kwargs.update(
        loss_function=loss_function_source(loss, aggregation),
        loss_scale="linear",
        batching=False,
        precision=64,
        population_size=settings.population,
        niterations=generations if generations is not None else 10**9,
        guesses=[julia_text(g, table.features) for g in guesses],
        random_state=seed,
        deterministic=jobs <= 1,
        parallelism="serial" if jobs <= 1 else "multithreading",
        model_selection="accuracy",  # every front member is re-scored and chosen by lpzero-sr itself
        should_simplify=False,
        progress=False,
        verbosity=0,
    )
    if settings.time_limit is not None:
        kwargs["timeout_in_seconds"] = float(settings.time_limit)
    if settings.evaluations is not None:
        kwargs["max_evals"] = int(settings.evaluations)
    if checkpoint is not None:
        kwargs.update(output_directory=str(checkpoint), run_id=RUN_ID)
    return kwargs


def front_from_equations(equations: Any, fitness: Fitness) -> Front:
    """PySR's ``equations_`` frame (columns ``equation``, ...) -> Front over feature names, every member re-scored
    by ``fitness`` (the embedded engine's exact loss) and kept when no simpler member scores as well."""
    scored: list[Candidate] = []
    for text in equations["equation"]:
        try:
            node = parse_equation(str(text), fitness.features)
        except FormulaError as exc:
            raise SearchError(str(exc)) from None
        tokens: tuple[Token, ...] = node.to_tokens(fitness.features)
        outcome = fitness(tokens)
        if outcome.rejected_by is None:
            scored.append(Candidate(node, outcome.loss, node.size))
    front, best = [], np.inf
    for cand in sorted(scored, key=lambda c: (c.complexity, c.loss)):
        if cand.loss < best:
            best = cand.loss
            front.append(cand)
    return Front(front, stopped="pysr")


@ENGINES.register("pysr")
class PysrEngine:
    """Symbolic regression with PySR (Julia); same rules, loss and seeds as the embedded engine."""

    name = "pysr"

    def fit(
        self,
        table: StatTable,
        rules: RuleSet,
        settings: SearchSettings,
        *,
        checkpoint: Path | None = None,
        progress: Progress | None = None,
    ) -> Front:
        if not isinstance(table, StatTable):
            raise SearchError("the pysr engine searches one table; a multi-table fit needs --engine deap")
        if not julia_available():
            raise SearchError("the pysr engine needs Julia: no `julia` on PATH (install Julia, or use --engine deap)")
        if not pysr_available():
            raise SearchError("the pysr engine needs the pysr extra: pip install 'lpzero-sr[pysr]'")
        set_julia_threads(settings.cores)
        import pysr

        kwargs = pysr_kwargs(table, rules, settings, checkpoint)
        run_dir = Path(checkpoint) / RUN_ID if checkpoint is not None else None
        if run_dir is not None and (run_dir / "checkpoint.pkl").exists():
            model = pysr.PySRRegressor.from_file(run_directory=str(run_dir))
            model.set_params(warm_start=True, **{k: v for k, v in kwargs.items() if k != "run_id"})
        else:
            model = pysr.PySRRegressor(**kwargs)
        X, y, weights = fit_arrays(table)
        start = time.monotonic()
        with contextlib.suppress(KeyboardInterrupt):  # PySR keeps the hall of fame found so far in equations_
            model.fit(X, y, weights=weights, variable_names=variable_names(table))
        fitness = Fitness(table, rules, settings.loss, settings.aggregation, settings.seed)
        front = front_from_equations(model.equations_, fitness)
        front.seconds = time.monotonic() - start
        return front


def set_julia_threads(jobs: int) -> None:
    """Ask juliacall for ``jobs`` threads (PySR's ``multithreading``), unless the user set it or Julia runs."""
    if THREADS_ENV in os.environ:
        return
    if "juliacall" in sys.modules:
        log.warning("Julia is already running; %s cannot change its threads now", THREADS_ENV)
        return
    os.environ[THREADS_ENV] = str(max(1, jobs))
