"""Architecture search with a proxy as its objective: regularized (aging) evolution or random search.

Aging evolution (Real et al., 2019): a population of ``population`` scored architectures; each cycle draws
``sample`` of them, mutates the best, scores the child, appends it and drops the *oldest* member. The loop is a
few dozen lines over a deque; DEAP has no aging-evolution algorithm (its ``eaSimple``/``eaMuPlusLambda`` select
by fitness, not age) and would need the same hand-written loop around its toolbox, so the loop is written out
here. Random search draws architectures i.i.d. from the space. With ``batch`` > 1 each cycle proposes that many
children (each from its own tournament on the same population, or that many random draws) and scores them
together, so a parallel :class:`Scoring` (Ray) scores them at once; ``batch`` 1 is the sequential algorithm.

The search is driven by three pluggable parts:

* a :class:`Domain`: what can be searched. :class:`SpaceDomain` samples and mutates a whole space;
  :class:`LabelledDomain` stays inside a benchmark's labelled architectures (every pick has a true score): a
  mutation is mapped to the nearest labelled config that differs from the parent.
* a :class:`Scoring`: ONE callable from configs to scores (higher is better), e.g. :class:`ProxyScoring` around
  :meth:`lpzero_sr.scorer.Scorer.score_configs`, so it can be swapped for a distributed one. :class:`Memo`
  caches it per architecture id (the scorer is deterministic per architecture and settings).
* a :class:`Journal` (optional): every evaluated child is appended to ``OUT/candidates.jsonl`` as soon as it is
  scored (the first population too, one cycle's ``batch`` at a time). A rerun replays the search from its seed,
  taking the journal's scores instead of scoring again, so a killed run loses at most the cycle being scored and
  continues exactly where an uninterrupted run would be. Ctrl-C ends :func:`search` with the children scored so
  far (``SearchResult.interrupted``).

The budget is ``candidates`` evaluated children (the query budget of NAS-Bench studies): a child already scored
is not scored again (memoized) but counts, and joins the population as in the original algorithm; random search
draws without replacement. Proposals over ``max_params`` are rejected before scoring and counted, as are configs
the space cannot build.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch
from tqdm import tqdm

from lpzero_sr.errors import LpzeroError, NasError
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.fsutil import atomic_write_text
from lpzero_sr.mutation import MAX_ATTEMPTS_PER_CANDIDATE, Config, field_distance, leaves, mutation_for
from lpzero_sr.parallel import Runner, map_archs
from lpzero_sr.scorer import Scorer
from lpzero_sr.spaces.base import Space, arch_namer

Strategy = Literal["evolution", "random"]
log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------- config helpers
def canonical(config: Config) -> str:
    """The config as sorted, compact JSON: equal configs give equal strings."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------- domains
def count_params(space: Space, config: Config) -> int:
    """Parameters of the model ``space`` builds for ``config``: the space's own ``n_params(config)`` where it counts
    them from the config, else the model built on the meta device (no memory, no init)."""
    own = getattr(space, "n_params", None)
    if callable(own):
        return int(own(config))
    with torch.device("meta"):
        model = space.build(config)
    return sum(p.numel() for p in model.parameters())


class Domain(Protocol):
    """What a search moves through: sampling, mutation, ids, and the cost the budget limits."""

    def sample(self, rng: np.random.Generator) -> Config: ...

    def mutate(self, config: Config, rng: np.random.Generator) -> Config: ...

    def arch_id(self, config: Config) -> str: ...

    def params(self, config: Config) -> int | None:
        """Parameter count, or None when the space cannot build the config."""
        ...


class SpaceDomain:
    """The whole space: ``space.sample`` and :func:`mutation_for` the space; ids are the benchmark's where the
    config is labelled (``labelled``: arch id -> config), else the space's
    (:func:`~lpzero_sr.spaces.base.arch_namer`)."""

    def __init__(self, space: Space, labelled: dict[str, Config] | None = None) -> None:
        self.space = space
        self._mutation = mutation_for(space)
        self._name = arch_namer(space)
        self._ids: dict[str, str] = {}
        for arch, config in (labelled or {}).items():  # a config labelled twice keeps its first id
            self._ids.setdefault(canonical(config), arch)
        self._params: dict[str, int | None] = {}

    def sample(self, rng: np.random.Generator) -> Config:
        return self.space.sample(rng)

    def mutate(self, config: Config, rng: np.random.Generator) -> Config:
        return self._mutation(self.space, config, rng, lambda c: self.params(c) is not None)

    def arch_id(self, config: Config) -> str:
        key = canonical(config)
        return self._ids[key] if key in self._ids else self._name(config)

    def params(self, config: Config) -> int | None:
        arch = self.arch_id(config)
        if arch not in self._params:
            try:
                self._params[arch] = count_params(self.space, config)
            except (LpzeroError, ValueError, KeyError, RuntimeError):
                self._params[arch] = None
        return self._params[arch]


class LabelledDomain(SpaceDomain):
    """Only the labelled architectures ``pool`` (arch id -> config): samples are uniform over the pool and a
    mutation is the labelled config nearest (:func:`field_distance`) to a space mutation of the parent, among
    those that differ from the parent (ties broken at random). A config labelled under two ids is searched as
    one architecture, its first id."""

    def __init__(self, space: Space, pool: dict[str, Config], params: dict[str, int] | None = None) -> None:
        super().__init__(space, pool)
        if len(set(self._ids)) < 2:
            raise NasError(f"a labelled search needs at least 2 distinct architectures, got {len(self._ids)}")
        self.pool = pool
        self._keys = {a: canonical(c) for a, c in pool.items() if self._ids[canonical(c)] == a}
        self._archs = sorted(self._keys)
        self._leaves = {a: leaves(pool[a]) for a in self._archs}
        self._params.update(params or {})

    def sample(self, rng: np.random.Generator) -> Config:
        return self.pool[self._archs[int(rng.integers(len(self._archs)))]]

    def mutate(self, config: Config, rng: np.random.Generator) -> Config:
        proposal = leaves(self._mutation(self.space, config, rng, lambda c: True))
        parent = canonical(config)
        others = [a for a in self._archs if self._keys[a] != parent]
        distance = {a: field_distance(proposal, self._leaves[a]) for a in others}
        best = min(distance.values())
        nearest = [a for a, d in distance.items() if d == best]
        return self.pool[nearest[int(rng.integers(len(nearest)))]]


# ---------------------------------------------------------------------------------------------- scoring
class Scoring(Protocol):
    """Scores of configs, higher is better (NaN: could not score). The one entry point a search calls."""

    def __call__(self, configs: Sequence[Config]) -> list[float]: ...


class ProxyScoring:
    """A proxy through :meth:`Scorer.score_configs`: each model initialised and fed as a benchmark extraction.
    With a Ray ``runner`` (:mod:`lpzero_sr.parallel`) each config of a batch is one Ray task; the scores are the
    same as in-process."""

    def __init__(
        self, scorer: Scorer, space: Space, settings: ExtractSettings | None = None, runner: Runner | None = None
    ) -> None:
        self.scorer, self.space, self.settings = scorer, space, settings or ExtractSettings()
        self.runner = runner or Runner()

    def __call__(self, configs: Sequence[Config]) -> list[float]:
        if not self.runner.uses_ray:
            return self.scorer.score_configs(self.space, list(configs), self.settings)
        batch = list(configs)

        def score_one(index: int) -> float:
            return self.scorer.score_configs(self.space, [batch[index]], self.settings)[0]

        done = dict(map_archs(score_one, list(range(len(batch))), self.runner))
        return [done[i] for i in range(len(batch))]


class ParamsScoring:
    """The #params baseline: the score is the parameter count (bigger is assumed better)."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    def __call__(self, configs: Sequence[Config]) -> list[float]:
        return [float(n) if (n := self.domain.params(c)) is not None else math.nan for c in configs]


class RandomScoring:
    """A seeded uniform score per config, the same on every call: with it the pick is a random candidate."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, configs: Sequence[Config]) -> list[float]:
        digests = (hashlib.sha1(f"{self.seed}:{canonical(c)}".encode()).digest() for c in configs)
        return [int.from_bytes(d[:8], "big") / 2**64 for d in digests]


class Memo:
    """``scoring`` cached per architecture id (``key``); only unseen configs reach it, in one call per batch.
    ``scored`` and ``seconds`` count what it really computed and how long that took."""

    def __init__(self, scoring: Scoring, key: Callable[[Config], str]) -> None:
        self.scoring, self.key = scoring, key
        self.cache: dict[str, float] = {}
        self.scored = 0
        self.seconds = 0.0

    def __call__(self, configs: Sequence[Config]) -> list[float]:
        keys = [self.key(c) for c in configs]
        todo = {k: c for k, c in zip(keys, configs, strict=True) if k not in self.cache}
        if todo:
            start = time.perf_counter()
            self.cache.update(zip(todo, self.scoring(list(todo.values())), strict=True))
            self.seconds += time.perf_counter() - start
            self.scored += len(todo)
        return [self.cache[k] for k in keys]


# ---------------------------------------------------------------------------------------------- journal
@dataclass
class NasCandidate:
    """One evaluated child: ``new`` is False when the architecture was already scored in this run."""

    step: int
    arch: str
    config: Config
    score: float
    params: int
    new: bool = True


ADDED_SETTINGS: dict[str, Any] = {"batch": 1}  # settings newer than some journals, with the value those runs had


class Journal:
    """``OUT/candidates.jsonl`` (one evaluated child per line) and ``OUT/run.json`` (the settings it replays).

    On open, an existing journal from the same settings is read back (a torn last line from a kill is dropped; a
    broken line before the end is one :class:`NasError` naming it); :meth:`record` checks that the replay meets
    the same architectures in the same order and appends only the steps the journal did not have. A folder whose
    run scored nothing (a budget nothing fits, a Ctrl-C before the first score) blocks no retry: its settings are
    replaced. The caller holds the folder (:func:`lpzero_sr.fsutil.run_lock`) so that no second run interleaves.
    """

    def __init__(self, out: Path, settings: dict[str, Any]) -> None:
        self.path = out / "candidates.jsonl"
        out.mkdir(parents=True, exist_ok=True)
        run = out / "run.json"
        settings = json.loads(json.dumps(settings))
        self.previous, lines = self._read()
        stored = _read_settings(run) if run.exists() else settings
        if stored is None or {**ADDED_SETTINGS, **stored} != {**ADDED_SETTINGS, **settings}:
            if self.previous:
                what = "unreadable settings" if stored is None else "other settings"
                raise NasError(
                    f"{out} holds a run with {what} ({run}) and {len(self.previous)} evaluated children; "
                    "pick another --out or delete it"
                )
            log.info("%s held the settings of a run that scored nothing; replacing them", run)
        atomic_write_text(run, json.dumps(settings, indent=2, sort_keys=True) + "\n")
        if self.path.exists():
            atomic_write_text(self.path, "".join(lines[: len(self.previous)]))

    def _read(self) -> tuple[list[NasCandidate], list[str]]:
        """The journal's candidates and lines (a torn last line dropped); a broken complete line is an error."""
        if not self.path.exists():
            return [], []
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        previous = []
        for number, line in enumerate(lines, start=1):
            if not line.endswith("\n"):
                break  # torn write of a killed run
            try:
                previous.append(NasCandidate(**json.loads(line)))
            except (ValueError, TypeError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not an evaluated child"
                raise NasError(
                    f"{self.path} line {number} is broken ({reason}); the {number - 1} line(s) before it are intact: "
                    f"delete line {number} and every line after it to resume from there, or pick another --out"
                ) from None
        return previous, lines

    def scores(self) -> dict[str, float]:
        return {c.arch: c.score for c in self.previous}

    def record(self, candidate: NasCandidate) -> None:
        if candidate.step < len(self.previous):
            if self.previous[candidate.step].arch != candidate.arch:
                raise NasError(
                    f"{self.path} does not replay: step {candidate.step} was {self.previous[candidate.step].arch}, "
                    f"now {candidate.arch}"
                )
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(candidate)) + "\n")


def _read_settings(path: Path) -> dict[str, Any] | None:
    """The settings of ``run.json``; None when it is unreadable (then only an empty journal lets a run go on)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stored if isinstance(stored, dict) else None


# ---------------------------------------------------------------------------------------------- search
@dataclass
class NasSettings:
    candidates: int = 50  # evaluated children, repeats included
    population: int = 20
    sample: int = 5
    max_params: int | None = None
    seed: int = 0
    strategy: Strategy = "evolution"
    batch: int = 1  # children proposed, then scored together, per cycle (a parallel scoring keeps them busy)


@dataclass
class SearchResult:
    history: list[NasCandidate]  # every evaluated child, in order
    rejected_budget: int = 0  # proposals over max_params, never scored
    rejected_invalid: int = 0  # proposals the space cannot build
    interrupted: bool = False  # Ctrl-C ended the search; ``history`` is what was scored (and journaled) before it
    scored: list[NasCandidate] = field(init=False)  # distinct architectures, first evaluation each

    def __post_init__(self) -> None:
        self.scored = [c for c in self.history if c.new]

    def top(self, k: int) -> list[NasCandidate]:
        """The ``k`` best distinct architectures (NaN scores last, ties in order of discovery)."""
        key = lambda c: -c.score if math.isfinite(c.score) else math.inf  # noqa: E731
        return sorted(self.scored, key=key)[:k]


def search(
    domain: Domain,
    scoring: Scoring,
    settings: NasSettings,
    journal: Journal | None = None,
    progress: bool = False,
) -> SearchResult:
    """Run aging evolution or random search (``settings.strategy``) until ``settings.candidates`` children
    are evaluated; deterministic given ``settings.seed`` and a deterministic ``scoring``."""
    if settings.candidates < 1 or settings.population < 1 or not 1 <= settings.sample <= settings.population:
        raise NasError("need candidates >= 1, population >= 1 and 1 <= sample <= population")
    if settings.batch < 1:
        raise NasError(f"need batch >= 1, got {settings.batch}")
    memo = scoring if isinstance(scoring, Memo) else Memo(scoring, domain.arch_id)
    if journal is not None:
        memo.cache.update({a: s for a, s in journal.scores().items() if a not in memo.cache})
    run = _Run(domain, memo, settings, journal, tqdm(total=settings.candidates, desc="nas", disable=not progress))
    rng = np.random.default_rng(settings.seed)
    try:
        with run.bar:
            _loop(domain, settings, run, rng)
    except KeyboardInterrupt:
        return SearchResult(run.history, run.rejected_budget, run.rejected_invalid, interrupted=True)
    return SearchResult(run.history, run.rejected_budget, run.rejected_invalid)


def _loop(domain: Domain, settings: NasSettings, run: _Run, rng: np.random.Generator) -> None:
    """The cycles of :func:`search` (proposals draw from ``rng`` in the same order whatever is scored when)."""
    if settings.strategy == "random":
        while not run.done():
            batch: list[tuple[Config, int]] = []
            for _ in range(run.next_batch()):  # without replacement, within the batch too
                pending = {domain.arch_id(config) for config, _ in batch}
                batch.append(run.propose(partial(domain.sample, rng), seen_ok=False, pending=pending))
            run.evaluate(batch)
        return
    population: deque[NasCandidate] = deque()
    first = min(settings.population, settings.candidates)
    for start in range(0, first, settings.batch):  # scored (and journaled) one cycle's batch at a time
        size = min(settings.batch, first - start)
        population.extend(run.evaluate([run.propose(partial(domain.sample, rng)) for _ in range(size)]))
    while not run.done():
        children = []
        for _ in range(run.next_batch()):  # each child from its own tournament on the same population
            contenders = [population[i] for i in rng.choice(len(population), settings.sample, replace=False)]
            parent = max(contenders, key=lambda c: c.score if math.isfinite(c.score) else -math.inf)
            children.append(run.propose(partial(domain.mutate, parent.config, rng)))
        population.extend(run.evaluate(children))
        while len(population) > settings.population:
            population.popleft()


class _Run:
    """Book-keeping of one search: budget checks, scoring through the memo, the journal, the progress bar."""

    def __init__(self, domain: Domain, memo: Memo, settings: NasSettings, journal: Journal | None, bar: tqdm) -> None:
        self.domain, self.memo, self.settings, self.journal, self.bar = domain, memo, settings, journal, bar
        self.history: list[NasCandidate] = []
        self.seen: set[str] = set()
        self.rejected_budget = self.rejected_invalid = self.attempts = 0

    def done(self) -> bool:
        return len(self.history) >= self.settings.candidates

    def next_batch(self) -> int:
        """Children of the next cycle: ``batch``, or what is left of the budget."""
        return min(self.settings.batch, self.settings.candidates - len(self.history))

    def propose(
        self, make: Callable[[], Config], seen_ok: bool = True, pending: Collection[str] = ()
    ) -> tuple[Config, int]:
        """The first proposal of ``make`` that the space builds within the budget (and, unless ``seen_ok``, is
        neither scored nor ``pending``); raises :class:`NasError` after too many rejections."""
        while self.attempts < MAX_ATTEMPTS_PER_CANDIDATE * self.settings.candidates:
            self.attempts += 1
            config = make()
            params = self.domain.params(config)
            if params is None:
                self.rejected_invalid += 1
            elif self.settings.max_params is not None and params > self.settings.max_params:
                self.rejected_budget += 1
            elif seen_ok or (arch := self.domain.arch_id(config)) not in self.seen and arch not in pending:
                return config, params
        raise NasError(
            f"gave up after {self.attempts} proposals ({self.rejected_budget} over the parameter budget, "
            f"{self.rejected_invalid} invalid) with {len(self.history)} of {self.settings.candidates} candidates; "
            "raise --max-params or lower --candidates"
        )

    def evaluate(self, proposals: list[tuple[Config, int]]) -> list[NasCandidate]:
        scores = self.memo([config for config, _ in proposals])
        out = []
        for (config, params), score in zip(proposals, scores, strict=True):
            arch = self.domain.arch_id(config)
            new = arch not in self.seen
            candidate = NasCandidate(len(self.history), arch, config, float(score), params, new)
            if self.journal is not None:
                self.journal.record(candidate)
            self.history.append(candidate)
            self.seen.add(arch)
            self.bar.update()
            out.append(candidate)
        return out
