"""Model selection rules on a hand-made front (the synthetic case log(a)*c of the user's report)."""

from __future__ import annotations

import math

import pytest

from lpzero_sr.fit.selection import best, parsimony, score, select
from lpzero_sr.formula import Node
from lpzero_sr.search.engine import Candidate, Front, SearchError

NAMES = ("a", "b", "c")
FRONT = Front(
    [
        Candidate(Node.from_tokens((0,), NAMES), 0.015, 1),  # a: train rho 0.985
        Candidate(Node.from_tokens(("mul", "log", 0, 2), NAMES), 0.005, 4),  # log|a|*c: rho 0.995, the truth
        Candidate(Node.from_tokens(("mul", "mul", "log", 0, 2, "sqrt", 1), NAMES), 0.0049, 7),  # noise fit
    ]
)


def test_rules_by_hand() -> None:
    assert best(FRONT).complexity == 7
    # parsimony 0.005/node: 0.015 + 0.005 = 0.020 < 0.005 + 0.020 = 0.025 < 0.0049 + 0.035
    assert parsimony(FRONT).complexity == 1
    # score: a is 3.3x the lowest loss (excluded); log-loss drop per node: (ln .015 - ln .005)/3 = 0.366 for the
    # 4-node member, (ln .005 - ln .0049)/3 = 0.0067 for the 7-node one
    assert math.log(0.015 / 0.005) / 3 == pytest.approx(0.3662, abs=1e-4)
    assert score(FRONT).complexity == 4
    assert select(FRONT, "score") is score(FRONT)


def test_unknown_rule_and_empty_front() -> None:
    with pytest.raises(SearchError, match=r"unknown selection rule 'pareto'; known: best, cv, parsimony, score"):
        select(FRONT, "pareto")
    with pytest.raises(SearchError, match="no valid formula"):
        select(Front([]), "best")
