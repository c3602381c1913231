"""The embedded engine: DEAP's genetic programming, batched, with an NSGA-II front over (rank loss, size).

* Terminals are the table's feature columns (plus the rule set's constants); operators come from the rules.
* Fitness is exact: Spearman/Kendall of the per-architecture aggregated scores. ``evaluator="compiled"`` (the
  default) evaluates each generation's new formulas in one compiled call (:mod:`lpzero_sr.search.evaluators`);
  ``"reference"`` asks :class:`~lpzero_sr.search.fitness.Fitness` formula by formula. Both give the same losses to
  the last bit, so the same seed gives the same front with either.
* The first population holds seeds (every column, its log, its negation, and signed sums of logs of the best
  columns), then ``genHalfAndHalf`` trees. Offspring come from DEAP's one-point crossover and mix of mutations under
  static size/height limits (:mod:`lpzero_sr.search.variation`); parents from binary tournaments on (front,
  crowding distance); survivors from NSGA-II among unique formulas (:mod:`lpzero_sr.search.nsga2`). A formula seen
  before is never evaluated again (:mod:`lpzero_sr.search.outcomes`).
* Deterministic under ``seed`` and independent of ``jobs``: every random number is drawn in the main process from
  one numpy generator, a fixed number per generation; ``jobs`` threads evaluate formulas independently.
* Ctrl-C ends the search at the end of the current generation and returns the front found so far (a second Ctrl-C
  stops at once); with ``checkpoint`` the state is saved then, at the end and every ``checkpoint_every`` seconds,
  and a later run with the same set-up resumes exactly where it stopped.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from lpzero_sr.formula import Node, Token
from lpzero_sr.fsutil import run_lock
from lpzero_sr.ranking import WORST_LOSS, Aggregation, Method
from lpzero_sr.rules.render import deap_limits
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search import checkpoint as ckpt
from lpzero_sr.search import nsga2, variation
from lpzero_sr.search.engine import ENGINES, Candidate, Front, Progress, SearchError
from lpzero_sr.search.evaluators import (
    CompiledEvaluator,
    ReferenceEvaluator,
    UnsupportedRules,
)
from lpzero_sr.search.fitness import Fitness
from lpzero_sr.search.multitask import MultiFitness, Reduce, shared_features
from lpzero_sr.search.outcomes import OutcomeCache, record
from lpzero_sr.search.programs import Alphabet, program_keys
from lpzero_sr.search.seeds import seed_formulas
from lpzero_sr.settings import SearchSettings
from lpzero_sr.table import StatTable

log = logging.getLogger(__name__)
INIT_HEIGHT = (1, 3)  # genHalfAndHalf's height range for the first population


class _Search:
    """State of one run; split from the engine so a checkpoint can restore it."""

    def __init__(
        self, rules: RuleSet, evaluator: CompiledEvaluator | ReferenceEvaluator, alphabet: Alphabet, mu: int, seed: int
    ) -> None:
        self.rules, self.evaluator, self.alphabet, self.mu = rules, evaluator, alphabet, mu
        self.features = evaluator.features
        self.arity = alphabet.arity
        allowed = (*rules.unary, *rules.binary)
        self.prims = np.array([alphabet.ops.index(n) for n in allowed], np.int32)
        self.unary = np.array([alphabet.ops.index(n) for n in rules.unary], np.int32)
        self.binary = np.array([alphabet.ops.index(n) for n in rules.binary], np.int32)
        self.first_term = len(alphabet.ops)
        self.n_terms = alphabet.n_features + len(alphabet.constants)
        self.ratio = self.n_terms / (self.n_terms + len(allowed))  # DEAP's pset.terminalRatio
        limits = deap_limits(rules)
        self.max_size, self.max_height = limits.max_size, limits.max_height
        self.width = max(self.max_size, 2 ** (INIT_HEIGHT[1] + 1) - 1, 8)
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.cache = OutcomeCache()
        self.codes = np.zeros((0, self.width), np.int32)
        self.lens = np.zeros(0, np.int32)
        self.front_rank, self.crowding = np.zeros(0, np.int64), np.zeros(0)
        self.best_loss_by_size = np.full(self.width + 1, np.inf)  # the best formula of each size, for the front
        self.best_codes = np.full((self.width + 1, self.width), -1, np.int32)
        self.rule_names = rules.rule_names()
        self.rejection_counts = np.zeros(len(self.rule_names), np.int64)
        self.history: list[tuple[int, float]] = []
        self.evaluations = 0
        self.generation = 0

    # ------------------------------------------------------------------ evaluation
    def record(self, codes: np.ndarray, lens: np.ndarray, loss: np.ndarray, verdict: np.ndarray) -> None:
        """Counters, rejections, the best formula per size and the history, as if recorded one by one in order."""
        last = self.history[-1][1] if self.history else np.inf
        tallies = (self.best_loss_by_size, self.best_codes, self.rejection_counts)
        at, best = record(codes, lens, loss, verdict, *tallies, last)
        self.history += [(self.evaluations + j + 1, v) for j, v in zip(at.tolist(), best.tolist(), strict=True)]
        self.evaluations += len(loss)

    @property
    def best_by_size(self) -> dict[int, tuple[float, tuple[Token, ...]]]:
        sizes = np.flatnonzero(np.isfinite(self.best_loss_by_size)).tolist()
        return {s: (float(self.best_loss_by_size[s]), self.alphabet.decode(self.best_codes[s, :s])) for s in sizes}

    @property
    def rejections(self) -> dict[str, int]:
        return dict(zip(self.rule_names, self.rejection_counts.tolist(), strict=True))

    def best_loss(self) -> float:
        best = float(self.best_loss_by_size.min())
        return best if np.isfinite(best) else WORST_LOSS

    # ------------------------------------------------------------------ generations
    def initial_population(self) -> None:
        def score(formulas: list[tuple[Token, ...]]) -> list[float]:
            codes, lens = self.alphabet.matrix(formulas, self.width)
            return self.evaluator.evaluate(codes, lens)[0].tolist()

        seeds = seed_formulas(self.evaluator, self.rules, score=score)
        seed_codes, seed_lens = self.alphabet.matrix(seeds, self.width)
        u = self.rng.random((self.mu, variation.DRAWS))
        rand_codes, rand_lens = variation.generate(
            self.mu, self.width, u, self.prims, self.n_terms, self.first_term, self.ratio, self.arity, *INIT_HEIGHT
        )
        self.survive(np.concatenate([seed_codes, rand_codes]), np.concatenate([seed_lens, rand_lens]))

    def step(self) -> None:
        """One generation: tournaments, variation, evaluation of the new formulas, NSGA-II survivors."""
        n = len(self.lens)
        parents = nsga2.tournament(self.front_rank, self.crowding, self.rng.random((n, 2)))
        u = self.rng.random(((n + 1) // 2, variation.DRAWS))
        codes, lens = variation.vary(
            self.codes, self.lens, parents, u, self.prims, self.unary, self.binary, self.n_terms, self.first_term,
            self.arity, self.max_size, self.max_height,
        )  # fmt: skip
        self.survive(np.concatenate([self.codes, codes]), np.concatenate([self.lens, lens]))
        self.generation += 1

    def survive(self, codes: np.ndarray, lens: np.ndarray) -> None:
        """Evaluate the formulas not seen before (each once, in order), then keep NSGA-II's ``mu`` best of the unique
        formulas as the population."""
        keys = program_keys(codes, lens)
        unique, todo = self.cache.classify(keys)
        if len(todo):
            loss, verdict = self.evaluator.evaluate(codes, lens, todo)
            self.cache.insert(keys[todo], loss, verdict)
            self.record(codes[todo], lens[todo], loss, verdict)
        loss, _ = self.cache.lookup(keys[unique])
        chosen = nsga2.select(loss, lens[unique].astype(float), min(self.mu, len(unique)))
        self.codes, self.lens = codes[unique[chosen]], lens[unique[chosen]]
        self.set_population_loss(loss[chosen])

    def set_population_loss(self, loss: np.ndarray) -> None:
        """The population's fronts and crowding distances, for the next tournaments."""
        self.front_rank, self.crowding = nsga2.rank_and_crowding(loss, self.lens.astype(float))

    def front(self, stopped: str) -> Front:
        candidates = []
        best = math.inf
        for size in sorted(self.best_by_size):
            loss, key = self.best_by_size[size]
            if loss < best:
                best = loss
                candidates.append(Candidate(Node.from_tokens(key, self.features), loss, size))
        history = [*self.history, (self.evaluations, self.best_loss())] if self.history else []
        return Front(candidates, self.rejections, history, self.evaluations, self.generation, stopped)

    # ------------------------------------------------------------------ checkpoint (JSON data)
    def state(self) -> dict[str, Any]:
        keys, loss, verdict = self.cache.arrays()
        return {
            "population": [list(self.alphabet.decode(self.codes[i, :n])) for i, n in enumerate(self.lens.tolist())],
            "random": self.rng.bit_generator.state,
            "generation": self.generation,
            "evaluations": self.evaluations,
            "history": [list(h) for h in self.history],
            "best_by_size": [[size, v, list(tokens)] for size, (v, tokens) in sorted(self.best_by_size.items())],
            "rejections": self.rejections,
            "cache": {
                "keys": ckpt.encode_array(keys, "uint64"),
                "loss": ckpt.encode_array(loss, "float64"),
                "verdict": ckpt.encode_array(verdict, "int32"),
            },
        }

    def restore(self, state: dict[str, Any], where: Path) -> None:
        try:
            self.codes, self.lens = self.alphabet.matrix([self._tokens(t) for t in state["population"]], self.width)
            self.rng.bit_generator.state = state["random"]
            self.generation, self.evaluations = int(state["generation"]), int(state["evaluations"])
            self.history = [(int(e), float(v)) for e, v in state["history"]]
            for size, value, tokens in state["best_by_size"]:
                row = self.alphabet.encode(self._tokens(tokens))
                if len(row) != size:
                    raise ValueError("a best formula of another size")
                self.best_loss_by_size[size] = float(value)
                self.best_codes[size, :size] = row
            self.rejection_counts[:] = [int(state["rejections"][name]) for name in self.rule_names]
            cache = state["cache"]
            keys, loss, verdict = (ckpt.decode_array(cache[k], str(where)) for k in ("keys", "loss", "verdict"))
            if keys.ndim != 2 or keys.shape[1] != 2 or not len(keys) == len(loss) == len(verdict):
                raise ValueError("cache arrays of different lengths")
            self.cache.insert(keys, loss, verdict)
            self.set_population_loss(self.cache.lookup(program_keys(self.codes, self.lens))[0])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            reason = type(exc).__name__
            raise SearchError(f"checkpoint {where} is damaged ({reason}); delete it to start afresh") from None

    def _tokens(self, tokens: Any) -> tuple[Token, ...]:
        """A token list from a checkpoint, checked against this search's symbols."""
        if not isinstance(tokens, list) or not 0 < len(tokens) <= self.width:
            raise ValueError("bad formula")
        out = tuple(tokens)
        self.alphabet.encode(out)  # raises ValueError for an unknown symbol
        for tok in out:
            if isinstance(tok, bool) or (isinstance(tok, int) and not 0 <= tok < self.alphabet.n_features):
                raise ValueError("bad feature index")
        if Node.from_tokens(out).size != len(out):
            raise ValueError("not a prefix formula")
        return out


class _SigintAtGenerationEnd:
    """While held (main thread only), a first Ctrl-C is noted and acted on at the end of the generation, so the
    state stays that of a whole generation; a second one interrupts at once."""

    def __init__(self) -> None:
        self.pending = False
        self.previous: Any = None

    def __enter__(self) -> _SigintAtGenerationEnd:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._note)
        return self

    def _note(self, signum: int, frame: Any) -> None:
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


@ENGINES.register("deap")
class DeapEngine:
    """Embedded genetic-programming engine (see module docstring)."""

    name = "deap"

    def fit(
        self,
        table: StatTable | Sequence[StatTable],
        rules: RuleSet,
        settings: SearchSettings,
        *,
        checkpoint: Path | None = None,
        progress: Progress | None = None,
        multi_loss: Reduce = "mean",
    ) -> Front:
        """Search one table, or a list of tables sharing column names (:class:`MultiFitness`, reduced by
        ``multi_loss``: the mean or the worst rank loss over the tables). ``settings.evaluator``: ``compiled`` or
        ``reference`` (same results; see the module docstring)."""
        loss, aggregation, seed, population = settings.loss, settings.aggregation, settings.seed, settings.population
        if isinstance(table, StatTable):
            tables, archs, features = [table], list(table.archs), table.features
        else:
            features = tuple(shared_features(table))
            tables, archs = [t.with_features(features) for t in table], [list(t.archs) for t in table]
        ops = (*rules.unary, *rules.binary)
        alphabet = Alphabet((*ops, *(() if "neg" in ops else ("neg",))), len(features), rules.constants)
        how = (loss, aggregation, seed, multi_loss)
        judge = self._evaluator(settings.evaluator, table, tables, rules, alphabet, how, settings.cores)
        search = _Search(rules, judge, alphabet, population, seed)
        key: dict[str, Any] = {
            "features": list(features),
            "archs": archs,
            "rules": rules.fingerprint(),
            "loss": loss,
            "aggregation": aggregation,
            "seed": seed,
            "population": population,
        }
        if not isinstance(table, StatTable):
            key["multi_loss"] = multi_loss
        start = time.monotonic()
        stopped = "budget"
        with ExitStack() as stack:
            if checkpoint is not None:
                stack.enter_context(run_lock(checkpoint, "search"))
            sigint = stack.enter_context(_SigintAtGenerationEnd())
            stack.callback(search.evaluator.close)
            saved = time.monotonic()
            whole = False  # the state is that of a whole generation
            try:
                state = ckpt.load(checkpoint, "deap", key) if checkpoint else None
                if state is not None:
                    search.restore(state, ckpt.path(checkpoint, "deap"))  # type: ignore[arg-type]
                    log.info("resumed from generation %d", search.generation)
                else:
                    search.initial_population()
                whole = True
                while not self._exhausted(settings, search, start) and not sigint.pending:
                    whole = False
                    search.step()
                    whole = True
                    if checkpoint and time.monotonic() - saved >= settings.checkpoint_every:
                        ckpt.save(checkpoint, "deap", key, search.state())
                        saved = time.monotonic()
                    if progress:
                        progress(search.generation, search.evaluations, search.best_loss())
                if sigint.pending:
                    raise KeyboardInterrupt
            except KeyboardInterrupt:
                stopped = "interrupted"
                log.warning("interrupted: returning the front found so far")
            if checkpoint and whole:
                ckpt.save(checkpoint, "deap", key, search.state())
        if stopped == "budget":
            stopped = self._reason(settings, search, start)
        front = search.front(stopped)
        front.seconds = time.monotonic() - start
        return front

    @staticmethod
    def _evaluator(
        name: str,
        table: StatTable | Sequence[StatTable],
        tables: list[StatTable],
        rules: RuleSet,
        alphabet: Alphabet,
        how: tuple[Method, Aggregation, int, Reduce],
        jobs: int,
    ) -> CompiledEvaluator | ReferenceEvaluator:
        loss, aggregation, seed, reduce = how
        if name == "compiled":  # ``tables``: the searched columns of each table
            try:
                return CompiledEvaluator(tables, rules, alphabet, loss, aggregation, seed, reduce, jobs=jobs)
            except UnsupportedRules as exc:
                log.warning("%s: using the reference evaluator", exc)
        if isinstance(table, StatTable):
            return ReferenceEvaluator(Fitness(table, rules, loss, aggregation, seed), alphabet)
        return ReferenceEvaluator(MultiFitness(table, rules, loss, aggregation, seed, reduce), alphabet)

    @staticmethod
    def _reason(settings: SearchSettings, search: _Search, start: float) -> str:
        generations = settings.budgeted_generations
        if generations is not None and search.generation >= generations:
            return "generations"
        if settings.evaluations is not None and search.evaluations >= settings.evaluations:
            return "evaluations"
        return "time limit"

    @staticmethod
    def _exhausted(settings: SearchSettings, search: _Search, start: float) -> bool:
        generations, evaluations, limit = settings.budgeted_generations, settings.evaluations, settings.time_limit
        return (
            (generations is not None and search.generation >= generations)
            or (evaluations is not None and search.evaluations >= evaluations)
            or (limit is not None and time.monotonic() - start >= limit)
        )
