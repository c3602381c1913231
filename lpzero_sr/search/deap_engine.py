"""The embedded engine: DEAP genetic programming with an NSGA-II front over (rank loss, size).

* Terminals are the table's feature columns (plus the rule set's constants); operators come from the rules.
* Fitness is exact: Spearman/Kendall of the per-architecture aggregated scores (:class:`Fitness`).
* The first population holds seeds (every column, its log, its negation, and signed sums of logs of the best
  columns), then random trees. Offspring come from one-point crossover and a mix of mutations under
  ``gp.staticLimit`` size/height bounds; survivors are chosen by ``tools.selNSGA2`` among unique formulas.
* Deterministic under ``seed`` and independent of ``jobs``: randomness lives in the main process only and the
  process pool maps evaluations in order. Ctrl-C returns the front found so far.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import operator
import random
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from deap import base, creator, gp, tools

from lpzero_sr.formula import Node, Token
from lpzero_sr.operators import OPS
from lpzero_sr.ranking import WORST_LOSS, Aggregation, Method
from lpzero_sr.rules.render import deap_limits
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search import checkpoint as ckpt
from lpzero_sr.search.engine import ENGINES, Budget, Candidate, Front, Progress
from lpzero_sr.search.fitness import Fitness, Outcome
from lpzero_sr.search.multitask import MultiFitness, Reduce
from lpzero_sr.search.seeds import seed_formulas
from lpzero_sr.table import StatTable

log = logging.getLogger(__name__)
CXPB, MUTPB = 0.6, 0.5

if not hasattr(creator, "LpzFitness"):
    creator.create("LpzFitness", base.Fitness, weights=(-1.0, -1.0))
if not hasattr(creator, "LpzIndividual"):
    creator.create("LpzIndividual", gp.PrimitiveTree, fitness=creator.LpzFitness)

_WORKER_FITNESS: Fitness | MultiFitness | None = None


def _init_worker(fitness: Fitness | MultiFitness) -> None:
    global _WORKER_FITNESS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the main process
    _WORKER_FITNESS = fitness


def _evaluate_in_worker(tokens: tuple[Token, ...]) -> Outcome:
    assert _WORKER_FITNESS is not None
    return _WORKER_FITNESS(tokens)


class _Search:
    """State of one run; split from the engine so a checkpoint can restore it."""

    def __init__(self, rules: RuleSet, fitness: Fitness | MultiFitness, mu: int, jobs: int) -> None:
        self.rules, self.fitness, self.mu, self.jobs = rules, fitness, mu, jobs
        self.features = fitness.features
        self.pset = gp.PrimitiveSet("proxy", len(self.features))
        for name in (*rules.unary, *rules.binary):
            op = OPS.get(name)
            self.pset.addPrimitive(op.numpy, op.arity, name=name)
        for i, value in enumerate(rules.constants):
            self.pset.addTerminal(float(value), name=f"const{i}")
        limits = deap_limits(rules)
        tb = base.Toolbox()
        tb.register("expr", gp.genHalfAndHalf, pset=self.pset, min_=1, max_=3)
        tb.register("individual", lambda: creator.LpzIndividual(tb.expr()))
        tb.register("mate", gp.cxOnePoint)
        tb.register("expr_mut", gp.genFull, pset=self.pset, min_=0, max_=2)
        tb.register("mutate", self._mutate)
        for name in ("mate", "mutate"):
            tb.decorate(name, gp.staticLimit(key=len, max_value=limits.max_size))
            tb.decorate(name, gp.staticLimit(key=operator.attrgetter("height"), max_value=limits.max_height))
        self.tb = tb
        self.cache: dict[tuple[Token, ...], Outcome] = {}
        self.population: list[gp.PrimitiveTree] = []
        self.best_by_size: dict[int, tuple[float, tuple[Token, ...]]] = {}
        self.rejections: dict[str, int] = {name: 0 for name in rules.rule_names()}
        self.history: list[tuple[int, float]] = []
        self.evaluations = 0
        self.generation = 0
        self.pool: multiprocessing.pool.Pool | None = None

    # ------------------------------------------------------------------ tokens <-> DEAP trees
    def tokens(self, ind: Sequence[gp.Primitive | gp.Terminal]) -> tuple[Token, ...]:
        out: list[Token] = []
        for node in ind:
            if isinstance(node, gp.Primitive):
                out.append(node.name)
            elif isinstance(node.value, str) and node.value.startswith("ARG"):
                out.append(int(node.value[3:]))
            else:  # a named constant terminal: DEAP keeps its value in the set's context
                out.append(float(self.pset.context[node.value]))
        return tuple(out)

    def individual(self, tokens: Sequence[Token]) -> gp.PrimitiveTree:
        nodes = []
        for tok in tokens:
            if isinstance(tok, str):
                nodes.append(self.pset.mapping[tok])
            elif isinstance(tok, int):
                nodes.append(self.pset.mapping[f"ARG{tok}"])
            else:
                index = self.rules.constants.index(float(tok))
                nodes.append(self.pset.mapping[f"const{index}"])
        return creator.LpzIndividual(nodes)

    # ------------------------------------------------------------------ variation
    def _mutate(self, ind: gp.PrimitiveTree) -> tuple[gp.PrimitiveTree]:
        r = random.random()
        if r < 0.4:
            return gp.mutUniform(ind, expr=self.tb.expr_mut, pset=self.pset)
        if r < 0.7:
            return gp.mutNodeReplacement(ind, pset=self.pset)
        if r < 0.85 and len(ind) > 1:
            return gp.mutShrink(ind)
        return gp.mutInsert(ind, pset=self.pset)

    def vary(self, parents: list[gp.PrimitiveTree]) -> list[gp.PrimitiveTree]:
        offspring = [self.tb.clone(p) for p in parents]
        for i in range(1, len(offspring), 2):
            if random.random() < CXPB:
                offspring[i - 1], offspring[i] = self.tb.mate(offspring[i - 1], offspring[i])
        for i, child in enumerate(offspring):
            if random.random() < MUTPB:
                (offspring[i],) = self.tb.mutate(child)
        return offspring

    def select_parents(self, n: int) -> list[gp.PrimitiveTree]:
        """Binary tournaments on (Pareto rank, crowding distance) of the current population."""
        rank = {}
        for r, front in enumerate(tools.sortNondominated(self.population, len(self.population))):
            for ind in front:
                rank[id(ind)] = r
        tools.emo.assignCrowdingDist(self.population)
        out = []
        for _ in range(n):
            a, b = random.choice(self.population), random.choice(self.population)
            key_a = (rank[id(a)], -a.fitness.crowding_dist)
            key_b = (rank[id(b)], -b.fitness.crowding_dist)
            out.append(a if key_a <= key_b else b)
        return out

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, individuals: list[gp.PrimitiveTree]) -> None:
        keys = [self.tokens(ind) for ind in individuals]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache))
        for key, outcome in zip(todo, self.compute(todo), strict=True):
            self.record(key, outcome)
        self.assign(individuals, keys)

    def assign(self, individuals: list[gp.PrimitiveTree], keys: list[tuple[Token, ...]]) -> None:
        for ind, key in zip(individuals, keys, strict=True):
            ind.fitness.values = (self.cache[key].loss, float(len(key)))

    def compute(self, todo: list[tuple[Token, ...]]) -> list[Outcome]:
        """Outcomes in the order of ``todo`` (a chunked, order-preserving pool map when ``jobs > 1``)."""
        if self.pool is not None and todo:
            chunk = max(1, math.ceil(len(todo) / (self.jobs * 4)))
            return self.pool.map(_evaluate_in_worker, todo, chunksize=chunk)
        return [self.fitness(k) for k in todo]

    def record(self, key: tuple[Token, ...], outcome: Outcome) -> None:
        self.cache[key] = outcome
        self.evaluations += 1
        if outcome.rejected_by is not None:
            self.rejections[outcome.rejected_by] = self.rejections.get(outcome.rejected_by, 0) + 1
            return
        size = len(key)
        if size not in self.best_by_size or outcome.loss < self.best_by_size[size][0]:
            self.best_by_size[size] = (outcome.loss, key)
        best = self.best_loss()
        if not self.history or best < self.history[-1][1]:
            self.history.append((self.evaluations, best))

    def best_loss(self) -> float:
        return min((loss for loss, _ in self.best_by_size.values()), default=WORST_LOSS)

    def survivors(self, candidates: list[gp.PrimitiveTree]) -> list[gp.PrimitiveTree]:
        unique = list({self.tokens(ind): ind for ind in candidates}.values())
        return tools.selNSGA2(unique, min(self.mu, len(unique)))

    # ------------------------------------------------------------------ set-up
    def initial_population(self) -> list[gp.PrimitiveTree]:
        pop = [self.individual(t) for t in seed_formulas(self.fitness, self.rules)]
        pop += [self.tb.individual() for _ in range(self.mu)]
        self.evaluate(pop)
        return self.survivors(pop)

    def front(self, stopped: str) -> Front:
        candidates = []
        best = math.inf
        for size in sorted(self.best_by_size):
            loss, key = self.best_by_size[size]
            if loss < best:
                best = loss
                candidates.append(Candidate(Node.from_tokens(key, self.features), loss, size))
        history = [*self.history, (self.evaluations, self.best_loss())] if self.history else []
        return Front(candidates, dict(self.rejections), history, self.evaluations, self.generation, stopped)

    # ------------------------------------------------------------------ checkpoint
    def state(self) -> dict:
        return {
            "population": [self.tokens(ind) for ind in self.population],
            "random": random.getstate(),
            "generation": self.generation,
            "history": self.history,
            "best_by_size": self.best_by_size,
            "rejections": self.rejections,
            "evaluations": self.evaluations,
            "cache": self.cache,
        }

    def restore(self, state: dict) -> None:
        self.population = [self.individual(t) for t in state["population"]]
        random.setstate(state["random"])
        self.generation = state["generation"]
        self.history = list(state["history"])
        self.best_by_size = dict(state["best_by_size"])
        self.rejections = dict(state["rejections"])
        self.evaluations = state["evaluations"]
        self.cache = dict(state["cache"])  # every formula seen so far: a resumed run counts exactly as an unbroken one
        self.assign(self.population, [self.tokens(ind) for ind in self.population])


@ENGINES.register("deap")
class DeapEngine:
    """Embedded genetic-programming engine (see module docstring)."""

    name = "deap"

    def fit(
        self,
        table: StatTable | Sequence[StatTable],
        rules: RuleSet,
        *,
        loss: Method = "spearman",
        aggregation: Aggregation = "sum",
        budget: Budget,
        seed: int = 0,
        population: int = 200,
        checkpoint: Path | None = None,
        jobs: int = 1,
        progress: Progress | None = None,
        multi_loss: Reduce = "mean",
    ) -> Front:
        """Search one table, or a list of tables sharing column names (:class:`MultiFitness`, reduced by
        ``multi_loss``: the mean or the worst rank loss over the tables)."""
        if isinstance(table, StatTable):
            fitness: Fitness | MultiFitness = Fitness(table, rules, loss, aggregation, seed)
            archs: list = list(table.archs)
        else:
            fitness = MultiFitness(table, rules, loss, aggregation, seed, multi_loss)
            archs = [list(t.archs) for t in table]
        search = _Search(rules, fitness, population, max(1, jobs))
        key = {
            "features": list(fitness.features),
            "archs": archs,
            "rules": rules.fingerprint(),
            "loss": loss,
            "aggregation": aggregation,
            "seed": seed,
            "population": population,
        }
        if isinstance(fitness, MultiFitness):
            key["multi_loss"] = multi_loss
        start = time.monotonic()
        stopped = "budget"
        if jobs > 1:
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
            search.pool = ctx.Pool(jobs, initializer=_init_worker, initargs=(fitness,))
        try:
            state = ckpt.load(checkpoint, "deap", key) if checkpoint else None
            if state is not None:
                search.restore(state)
                log.info("resumed from generation %d", search.generation)
            else:
                random.seed(seed)
                search.population = search.initial_population()
            while not self._exhausted(budget, search, start):
                parents = search.select_parents(len(search.population))
                offspring = search.vary(parents)
                search.evaluate(offspring)
                search.population = search.survivors(search.population + offspring)
                search.generation += 1
                if checkpoint:
                    ckpt.save(checkpoint, "deap", key, search.state())
                if progress:
                    progress(search.generation, search.evaluations, search.best_loss())
        except KeyboardInterrupt:
            stopped = "interrupted"
            log.warning("interrupted: returning the front found so far")
        finally:
            if search.pool is not None:
                search.pool.terminate()
                search.pool.join()
        if stopped == "budget":
            stopped = self._reason(budget, search, start)
        return search.front(stopped)

    @staticmethod
    def _reason(budget: Budget, search: _Search, start: float) -> str:
        if budget.generations is not None and search.generation >= budget.generations:
            return "generations"
        if budget.evaluations is not None and search.evaluations >= budget.evaluations:
            return "evaluations"
        return "time limit"

    @staticmethod
    def _exhausted(budget: Budget, search: _Search, start: float) -> bool:
        return (
            (budget.generations is not None and search.generation >= budget.generations)
            or (budget.evaluations is not None and search.evaluations >= budget.evaluations)
            or (budget.time_limit is not None and time.monotonic() - start >= budget.time_limit)
        )
