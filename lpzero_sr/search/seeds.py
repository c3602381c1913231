"""Known proxies as starting formulas, shared by both engines (DEAP initial population, PySR ``guesses``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from lpzero_sr.formula import Token
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.fitness import Fitness

SEED_TOP = 8  # columns whose signed log-sums are seeded


class HasFeatures(Protocol):
    features: tuple[str, ...]


def seed_formulas(
    fitness: Fitness | HasFeatures,
    rules: RuleSet,
    top: int = SEED_TOP,
    score: Callable[[list[tuple[Token, ...]]], list[float]] | None = None,
) -> list[tuple[Token, ...]]:
    """Each column, its log and their negations, then signed sums of logs of the ``top`` best single columns.

    Columns are ranked by the better loss of ``x`` and ``-x``: ``score`` gives the losses of a list of formulas
    (default: one ``fitness`` call each; with ``score``, ``fitness`` only names the columns). Formulas using
    operators the rules do not allow, or breaking a structural rule, are left out.
    """
    have = set(rules.unary) | set(rules.binary)
    n = len(fitness.features)
    out: list[tuple[Token, ...]] = [(i,) for i in range(n)]
    if "neg" in have:
        out += [("neg", i) for i in range(n)]
    if "log" in have:
        out += [("log", i) for i in range(n)]
        if "neg" in have:
            out += [("neg", "log", i) for i in range(n)]
    if score is None:
        score = lambda formulas: [fitness(f).loss for f in formulas]  # type: ignore[operator]  # noqa: E731
    plain, negated = score([(i,) for i in range(n)]), score([("neg", i) for i in range(n)])
    ranked = sorted(range(n), key=lambda i: (min(plain[i], negated[i]), i))
    best = ranked[:top]
    if {"log", "add", "sub"} <= have:
        for a in best:
            for b in best:
                if a < b:
                    out.append(("add", "log", a, "log", b))
                    if "neg" in have:
                        out.append(("neg", "add", "log", a, "log", b))
                if a != b:
                    out.append(("sub", "log", a, "log", b))
    return [t for t in out if rules.tree_violation(t) is None]
