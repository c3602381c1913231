"""Every setting of a fit, its default written once and validated once.

:class:`SearchSettings` is what one search needs (engine, rules, rank loss, budget, seed, processes);
:class:`FitSettings` adds what a fit of one table does around its searches (the held-out split, terminals,
model selection, the optional ensemble); :class:`MultiFitSettings` is the fit of several tables at once (one search
over all of them), which has no terminals and no ensemble. All three are frozen: change one with
:func:`dataclasses.replace`, which validates again. A bad value raises one :class:`SettingsError` naming the field
(``bag: must be at least 1, got 0``); the CLI maps fields to its flags.

This module imports nothing heavy: the CLI reads its defaults and choices to build ``--help`` without numpy,
pandas, scipy or torch.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args

from lpzero_sr.errors import LpzeroError

ENGINE_NAMES = ("auto", "deap", "pysr")  # auto: pysr where Julia and the pysr package exist, else deap
Method = Literal["spearman", "kendall"]  # the rank loss
# per-layer rows to one value per architecture; nanmean: over the rows where the formula has a value (LPZero's zip)
Aggregation = Literal["sum", "mean", "nanmean"]
LOSSES: tuple[str, ...] = get_args(Method)
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)
MULTI_LOSSES = ("mean", "min")  # several tables: mean rank loss, or the worst task's
EVALUATORS = ("compiled", "reference")  # lpzero_sr.search.evaluators: the same losses, the compiled one ~40x faster
TERMINAL_MODES = ("raw", "quantile", "both")  # lpzero_sr.quantile
SELECTION_RULES = ("best", "cv", "parsimony", "score")  # lpzero_sr.fit.selection (a test checks they agree)

# A search's budget when neither generations, evaluations nor a time limit is given. With ``population`` 500, chosen
# on the dev splits (``benchmarks/compact.py --split dev``: NB-Suite-Zero mean held-out rho 0.820, against 0.802 for
# population 200 x 100 generations and 0.819 for 1000 x 300); about 2 s per search with the compiled evaluator.
DEFAULT_GENERATIONS = 200
# ``fit --ensemble``: the rank average of 9 searches (quantile, raw and both terminals in turn) and the additive
# formula with share 0.4, the ensemble chosen on dev seeds before the default became one short formula (NB-Suite-Zero
# bag of 9: 0.838, with the additive formula 0.848; docs/results.md, "The additive formula"). An option, reported
# beside the compact formula, never the default.
ENSEMBLE: dict[str, Any] = {"bag": 9, "terminals": ("quantile", "raw", "both"), "additive": 0.4}


class SettingsError(LpzeroError):
    """A setting out of its range; ``field`` is its dotted name (``search.population``)."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.detail = message
        super().__init__(f"{field_name}: {message}")


def _at_least(name: str, value: float | None, low: float, strict: bool = False) -> None:
    if value is None:
        return
    bad = value <= low if strict else value < low
    if bad or isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        raise SettingsError(name, f"must be {'above' if strict else 'at least'} {low:g}, got {value!r}")


def _one_of(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SettingsError(name, f"must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class SearchSettings:
    """One search: what a search engine (:mod:`lpzero_sr.search`) needs besides the table.

    The budget stops the search at whichever of ``generations``, ``evaluations`` and ``time_limit`` (seconds)
    comes first; with none of them set, :data:`DEFAULT_GENERATIONS` generations. Generations and evaluations count
    per search; a time limit is the whole budget of a fit: a fit of several searches (a bag, the folds of the ``cv``
    rule) gives each its share (:meth:`FitSettings.searches`). ``aggregation`` is how a
    per-layer table's row values become one score per architecture (ignored for per-architecture tables).
    ``jobs`` is the number of evaluation threads (``None``: every core); results never depend on it, nor on the
    ``evaluator`` (``compiled``, or the pure-Python ``reference`` it is checked against). ``checkpoint_every``:
    seconds between the saves of a search given a checkpoint folder (0: every generation). ``rules`` names a
    packaged rule set (``default``, ``minmax``, ``no_pruning``) or a ``.toml`` file."""

    engine: str = "auto"
    rules: str = "default"
    loss: str = "spearman"
    aggregation: str = "mean"
    population: int = 500
    generations: int | None = None
    evaluations: int | None = None
    time_limit: float | None = None
    seed: int = 0
    jobs: int | None = None
    evaluator: str = "compiled"
    checkpoint_every: float = 10.0

    def __post_init__(self) -> None:
        _one_of("engine", self.engine, ENGINE_NAMES)
        _one_of("evaluator", self.evaluator, EVALUATORS)
        _at_least("checkpoint_every", self.checkpoint_every, 0)
        _one_of("loss", self.loss, LOSSES)
        _one_of("aggregation", self.aggregation, AGGREGATIONS)
        if not isinstance(self.rules, str) or not self.rules:
            raise SettingsError("rules", f"must name a rule set or a .toml file, got {self.rules!r}")
        _at_least("population", self.population, 2)
        _at_least("generations", self.generations, 1)
        _at_least("evaluations", self.evaluations, 1)
        _at_least("time_limit", self.time_limit, 0, strict=True)
        _at_least("jobs", self.jobs, 1)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise SettingsError("seed", f"must be an integer, got {self.seed!r}")

    @property
    def cores(self) -> int:
        """``jobs``, or every core of this machine."""
        return self.jobs or os.cpu_count() or 1

    @property
    def budgeted_generations(self) -> int | None:
        """``generations``, or :data:`DEFAULT_GENERATIONS` when no limit at all is set."""
        if self.generations is None and self.evaluations is None and self.time_limit is None:
            return DEFAULT_GENERATIONS
        return self.generations


@dataclass(frozen=True)
class FitSettings:
    """A fit of one table: the held-out split, what the search reads, how one formula is chosen, and the
    optional ensemble around it.

    * ``train_size``: architectures the search sees when ``fit`` holds the others out: a count (>= 5), a fraction
      in (0, 1), or ``None`` for all of them (no held-out report). The split is drawn by ``search.seed``.
      :class:`lpzero_sr.ProxySearch` trains on every row it is given, as scikit-learn estimators do.
    * ``terminals``: what the search reads of each column (:mod:`lpzero_sr.quantile`): ``raw`` values, ``quantile``
      ``q(x)`` (the column's centred rank among the training architectures, its CDF stored in the proxy), or
      ``both``; several modes take turns over the searches of a bag. Default chosen on the dev splits of
      NB-Suite-Zero's 11 tasks (``benchmarks/compact.py --split dev``, one compact formula each: both 0.802,
      quantile 0.796, raw 0.790).
    * ``selection``: the rule that chooses one formula from the Pareto front, on training rows only
      (:mod:`lpzero_sr.fit.selection`; dev splits, NB201 x 3 x seeds 1-3: best 0.8965, parsimony 0.8923,
      score 0.8659; NB-Suite-Zero 11 tasks: best 0.802 with regret 0.009, ``cv`` (k-fold, 1-SE) 0.774 with
      regret 0.033). ``cv_folds``: the folds of the training rows that the ``cv`` rule validates sizes on.
    * ``bag``: searches (seeds ``seed``, ``seed + 1``, ...; each with the whole budget) whose chosen formulas are
      rank-averaged (:mod:`lpzero_sr.fit.bagging`); 1 is one search. ``subspace``: the share of the columns each
      search of a bag sees (1: all; dev, bag of 9: 0.833 against 0.838 for all columns).
    * ``additive``: the share of the rank average's weight given to the additive formula
      (:mod:`lpzero_sr.fit.additive`; 0: none). A bag and the additive formula are the ensemble (:data:`ENSEMBLE`,
      ``fit --ensemble``): an option for tables with one row per architecture, never the default.
    * ``peers``: also fit the learned peers on the training rows and report them on the held-out rows.
    """

    search: SearchSettings = field(default_factory=SearchSettings)
    train_size: int | float | None = 0.8
    terminals: tuple[str, ...] = ("both",)
    selection: str = "best"
    cv_folds: int = 5
    bag: int = 1
    subspace: float = 1.0
    additive: float = 0.0
    peers: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.search, SearchSettings):
            raise SettingsError("search", f"must be SearchSettings, got {type(self.search).__name__}")
        _check_train_size(self.train_size)
        terminals = (self.terminals,) if isinstance(self.terminals, str) else tuple(self.terminals)
        object.__setattr__(self, "terminals", terminals)
        for mode in terminals:
            _one_of("terminals", mode, TERMINAL_MODES)
        _one_of("selection", self.selection, SELECTION_RULES)
        _at_least("cv_folds", self.cv_folds, 2)
        _at_least("bag", self.bag, 1)
        if not terminals or len(terminals) > self.bag:
            raise SettingsError(
                "terminals", f"{len(terminals)} modes take turns over the searches of a bag: set bag to at least that"
            )
        if not (isinstance(self.subspace, int | float) and 0 < self.subspace <= 1):
            raise SettingsError("subspace", f"must be in (0, 1], got {self.subspace!r}")
        if not (isinstance(self.additive, int | float) and 0 <= self.additive < 1):
            raise SettingsError("additive", f"must be in [0, 1), got {self.additive!r}")

    @property
    def is_ensemble(self) -> bool:
        """Several formulas are rank-averaged (a bag, or one search and the additive formula)."""
        return self.bag > 1 or self.additive > 0

    def searches(self, n_archs: int) -> int:
        """How many searches a fit of ``n_archs`` training architectures runs: the bag's, and with the ``cv`` rule one
        per validation fold (at most one fold per 5 architectures). ``search.time_limit`` is shared among them."""
        return self.bag + (self.folds(n_archs) if self.selection == "cv" else 0)

    def folds(self, n_archs: int) -> int:
        """The validation folds of ``n_archs`` training architectures: ``cv_folds``, at most one per 5 of them."""
        return max(2, min(self.cv_folds, n_archs // 5))


@dataclass(frozen=True)
class MultiFitSettings:
    """One search over several tables sharing column names (Phan & Luong's one proxy for many tasks): each table
    is split by ``train_size`` and ``search.seed``; ``multi_loss`` reduces the per-table rank losses (``mean``, or
    ``min``: the worst task's correlation). Raw terminals, one search, no ensemble."""

    search: SearchSettings = field(default_factory=SearchSettings)
    train_size: int | float | None = 0.8
    selection: str = "best"
    multi_loss: str = "mean"
    peers: bool = False

    def __post_init__(self) -> None:
        _check_train_size(self.train_size)
        _one_of("selection", self.selection, SELECTION_RULES)
        _one_of("multi_loss", self.multi_loss, MULTI_LOSSES)
        if self.selection == "cv":
            raise SettingsError("selection", "cv validates sizes on one table's rows; several TABLES take another rule")
        if self.search.engine not in ("auto", "deap"):
            engine = self.search.engine
            raise SettingsError(
                "search.engine", f"a fit of several tables runs on the deap engine (or auto), got {engine!r}"
            )


def _check_train_size(value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError("train_size", f"must be a count, a fraction or None, got {value!r}")
    if isinstance(value, float) and not 0 < value < 1:
        raise SettingsError("train_size", f"a fraction must lie in (0, 1), got {value!r}")
    if isinstance(value, int) and value < 1:
        raise SettingsError("train_size", f"a count must be at least 1, got {value!r}")


# ------------------------------------------------------------------ dictionaries and TOML files
Settings = SearchSettings | FitSettings | MultiFitSettings


def to_dict(settings: Settings) -> dict[str, Any]:
    """Plain JSON-ready data: every field, the nested search settings as a table."""
    out: dict[str, Any] = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, SearchSettings):
            value = to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def from_dict(cls: type[Settings], data: Mapping[str, Any], where: str = "") -> Settings:
    """``cls`` from plain data (a ``search`` table nested); an unknown key is one :class:`SettingsError`."""
    if not isinstance(data, Mapping):
        raise SettingsError(where or "settings", f"must be a table, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SettingsError(f"{where}{unknown[0]}", f"unknown setting; known: {', '.join(known)}")
    values = dict(data)
    if "search" in values:
        values["search"] = from_dict(SearchSettings, values["search"], "search.")
    if "terminals" in values and isinstance(values["terminals"], list):
        values["terminals"] = tuple(values["terminals"])
    try:
        return cls(**values)
    except SettingsError as exc:
        if where and "." not in exc.field:
            raise SettingsError(f"{where}{exc.field}", exc.detail) from None
        raise


def read_toml(path: str | Path) -> dict[str, Any]:
    """The tables of a settings file (``--config fit.toml``): top-level fit fields and a ``[search]`` table."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError("config", f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError("config", f"{path} is not TOML: {exc}") from None


def with_changes(settings: Settings, changes: Mapping[str, Any]) -> Settings:
    """``settings`` with dotted-name ``changes`` (``{"bag": 3, "search.population": 50}``), validated."""
    top: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for name, value in changes.items():
        head, _, rest = name.partition(".")
        if rest:
            if head != "search":
                raise SettingsError(name, "unknown setting")
            nested[rest] = value
        else:
            top[name] = value
    known = {f.name for f in fields(settings)}
    for name in top:
        if name not in known:
            raise SettingsError(name, f"unknown setting; known: {', '.join(sorted(known))}")
    if nested:
        search = getattr(settings, "search", settings if isinstance(settings, SearchSettings) else None)
        if search is None:
            raise SettingsError(next(iter(nested)), "unknown setting")
        search_known = {f.name for f in fields(SearchSettings)}
        for name in nested:
            if name not in search_known:
                raise SettingsError(f"search.{name}", f"unknown setting; known: {', '.join(sorted(search_known))}")
        try:
            top["search"] = replace(search, **nested)
        except SettingsError as exc:
            raise SettingsError(f"search.{exc.field}", exc.detail) from None
    return replace(settings, **top)


def field_defaults(cls: type[Settings]) -> dict[str, Any]:
    """Each field's default (what ``--help`` shows)."""
    out = {}
    for f in fields(cls):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
    return out
