"""LPZero's own evolutionary search over its genotypes (pprp/LPZero ``lpzero/runner/evo_search_bert.py`` and
``evo_search_gpt2.py``, ``lpzero/structures/tree.py``), written with DEAP's tools, on a per-item table of branch
values (:mod:`lpzero_sr.lpzero_tables`).

As in LPZero's code:

* budget: a population of 80 and 1000 iterations (its ``--popu_size`` and ``--iterations``);
* a random program draws each input uniformly from its 5 inputs, each unary operator with weight 0.1 (0.2 for the
  last key, ``disconnect``) and the binary operator with weights 0.6 / 0.3 / 0.05 / 0.05;
* its rule-based pruning (RPS) as its code applies it: a program is rejected (fitness -1) when LPZero cannot evaluate
  it (``disconnect``, ``matrix_multiplication``, an empty zip), when its value on a training architecture is -1, 0,
  NaN or infinite, when its values on the first 4 training architectures are all equal (its early exit), or when
  its Spearman is NaN (a rho of exactly -1 reads as that -1); the initial population redraws rejected programs (and
  those of rho exactly 0) until it holds 80;
* each iteration ranks the population, draws two parents from the better half, crosses them over with
  probability 0.5 (each input and unary operator from either parent with probability 0.5, the binary operator
  from the first with probability 0.2), mutates the child with probability 0.5 (each gene kept with probability
  0.5, else redrawn with the sampling weights), removes the worst program and adds the child;
* fitness is Spearman's rho on the training architectures; the result is the best program of the last population.

One difference, on purpose: the target is this project's oriented target (higher is better). LPZero's GPT-2 search
maximised Spearman with perplexity itself, which is why its published GPT-2 proxy rises with perplexity.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np
from deap import base, creator, tools

from lpzero_sr.features.lpzero_space import BINARY, INPUTS, UNARY, Genotype
from lpzero_sr.ranking import aggregate, spearman
from lpzero_sr.table import StatTable

POPULATION = 80
ITERATIONS = 1000
UNARY_WEIGHTS = [0.1] * (len(UNARY) - 1) + [0.2]  # LPZero's sample_unary_key_by_prob
BINARY_WEIGHTS = [0.6, 0.3, 0.05, 0.05]  # LPZero's sample_binary_key_by_prob
REJECTED = -1.0
EARLY_EXIT = 4  # LPZero stops scoring a program whose first 4 values are all equal
GENES = ("input", "input", "unary", "unary", "unary", "unary", "binary")

if not hasattr(creator, "LpzeroProgramFitness"):
    creator.create("LpzeroProgramFitness", base.Fitness, weights=(1.0,))
if not hasattr(creator, "LpzeroProgram"):
    creator.create("LpzeroProgram", list, fitness=creator.LpzeroProgramFitness)


def genotype(program: list[str]) -> Genotype:
    a, b, a1, a2, b1, b2, binary = program
    return Genotype((a, b), ((a1, a2), (b1, b2)), binary)


def _draw(gene: str) -> str:
    if gene == "input":
        return random.choice(INPUTS)
    if gene == "unary":
        return random.choices(UNARY, weights=UNARY_WEIGHTS, k=1)[0]
    return random.choices(BINARY, weights=BINARY_WEIGHTS, k=1)[0]


def _random_program() -> list[str]:
    return [_draw(g) for g in GENES]


def _crossover(first: list[str], second: list[str]) -> list[str]:
    child, other = creator.LpzeroProgram(first), creator.LpzeroProgram(second)
    tools.cxUniform(child, other, indpb=0.5)
    child[-1] = first[-1] if random.random() < 0.2 else second[-1]
    return child


def _mutate(program: list[str]) -> tuple[list[str]]:
    child = creator.LpzeroProgram(program)
    for i, gene in enumerate(GENES):
        if random.random() >= 0.5:
            child[i] = _draw(gene)
    return (child,)


class ProgramFitness:
    """LPZero's fitness of a program on the training rows of a per-item table: Spearman's rho of its values with
    the oriented target, or -1 when its RPS rejects it; memoized per program."""

    def __init__(self, table: StatTable) -> None:
        self.table = table
        self.y = table.y
        self.groups = table.groups
        self.cache: dict[tuple[str, ...], float] = {}

    def values(self, program: Genotype) -> np.ndarray:
        """The program's value per architecture (NaN where LPZero returns -1 or fails)."""
        n = len(self.y)
        if not program.valid or any(c not in self.table.frame.columns for c in program.columns()):
            return np.full(n, np.nan)
        a, b = (self.table.column(c) for c in program.columns())
        return aggregate(program.combine(a, b), self.groups, n, "nanmean")

    def __call__(self, program: list[str]) -> float:
        key = tuple(program)
        if key not in self.cache:
            self.cache[key] = self._score(genotype(program))
        return self.cache[key]

    def _score(self, program: Genotype) -> float:
        values = self.values(program)
        if not np.all(np.isfinite(values)) or np.any(values == 0) or np.any(values == -1):
            return REJECTED
        if len(values) > EARLY_EXIT and np.all(values[:EARLY_EXIT] == values[0]):
            return REJECTED
        rho = spearman(values, self.y)
        return REJECTED if math.isnan(rho) else rho


@dataclass
class EvolutionResult:
    """The best program of the last population, its training rho, the best training rho after each iteration
    and how many distinct programs were scored (the rejected ones included)."""

    best: Genotype
    train_rho: float
    history: list[float] = field(default_factory=list)
    evaluations: int = 0


def evolve(
    table: StatTable, seed: int = 0, population: int = POPULATION, iterations: int = ITERATIONS
) -> EvolutionResult:
    """LPZero's evolutionary search on ``table`` (its training rows) with DEAP's tools; see the module docstring."""
    random.seed(seed)
    fitness = ProgramFitness(table)
    toolbox = base.Toolbox()
    toolbox.register("program", tools.initIterate, creator.LpzeroProgram, _random_program)
    toolbox.register("mate", _crossover)
    toolbox.register("mutate", _mutate)
    pop: list[list[str]] = []
    while len(pop) < population:
        program = toolbox.program()
        program.fitness.values = (fitness(program),)
        if program.fitness.values[0] not in (REJECTED, 0.0):  # LPZero's is_anomaly on the score: -1 or 0
            pop.append(program)
    history = []
    for _ in range(iterations):
        ranked = tools.selBest(pop, len(pop))
        history.append(ranked[0].fitness.values[0])
        better = ranked[: population // 2]
        child, second = random.choice(better), random.choice(better)
        if random.random() < 0.5:
            child = toolbox.mate(child, second)
        if random.random() < 0.5:
            (child,) = toolbox.mutate(child)
        pop.remove(ranked[-1])
        if not child.fitness.valid:
            child.fitness.values = (fitness(child),)
        pop.append(child)
    best = tools.selBest(pop, 1)[0]
    return EvolutionResult(genotype(best), best.fitness.values[0], history, len(fitness.cache))
