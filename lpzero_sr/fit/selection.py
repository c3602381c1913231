"""Model selection: which member of the Pareto front becomes the proxy, decided on training rows only.

Each rule is registered in :data:`SELECTIONS` under a name that ``lpzero-sr fit --select`` takes:

* ``score`` (PySR's ``model_selection="best"``): among members whose loss is within ``tolerance`` x the lowest
  loss, the one with the largest drop of log-loss per added node (``-d log(loss) / d complexity`` against the
  next simpler member); rewards the members where an extra node buys a lot of rank correlation;
* ``parsimony``: the lowest ``loss + penalty * complexity`` (a fixed price per node);
* ``best``: the lowest training loss (PySR's ``"accuracy"``), whatever its size;
* ``cv``: the size chosen by k-fold validation over the training rows (:mod:`lpzero_sr.fit.validation`: the
  one-standard-error rule on the validation curve), then the lowest-loss member no larger than that.

The default rule is :attr:`lpzero_sr.settings.FitSettings.selection`, chosen on development splits
(``python benchmarks/selection.py``: mean held-out Spearman of each rule's choice over NB201's three datasets x
seeds 1-3), never on report splits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from lpzero_sr.fit.validation import ValidationCurve, best_up_to
from lpzero_sr.registry import Registry
from lpzero_sr.search.engine import Candidate, Front, SearchError

PARSIMONY = 0.005  # loss units per node for the ``parsimony`` rule
SCORE_TOLERANCE = 1.5  # PySR's: members up to 1.5x the lowest loss compete on score
LOSS_FLOOR = 1e-12  # log(0) guard: a perfect member has this loss for the score

Rule = Callable[[Front, ValidationCurve | None], Candidate]
SELECTIONS: Registry[Rule] = Registry("selection rule")


def _members(front: Front) -> list[Candidate]:
    if not front.candidates:
        raise SearchError("the search produced no valid formula")
    return sorted(front.candidates, key=lambda c: (c.complexity, c.loss))


@SELECTIONS.register("best")
def best(front: Front, curve: ValidationCurve | None = None) -> Candidate:
    """The lowest training loss (the simpler member on ties)."""
    return min(_members(front), key=lambda c: (c.loss, c.complexity))


@SELECTIONS.register("parsimony")
def parsimony(front: Front, curve: ValidationCurve | None = None, penalty: float = PARSIMONY) -> Candidate:
    """The lowest ``loss + penalty * complexity``: extra nodes must buy rank correlation."""
    return min(_members(front), key=lambda c: (c.loss + penalty * c.complexity, c.complexity))


@SELECTIONS.register("score")
def score(front: Front, curve: ValidationCurve | None = None, tolerance: float = SCORE_TOLERANCE) -> Candidate:
    """PySR's rule: the largest ``-d log(loss) / d complexity`` among members within ``tolerance`` x the best."""
    members = _members(front)
    lowest = min(c.loss for c in members)
    scores: list[tuple[float, Candidate]] = []
    previous: Candidate | None = None
    for cand in members:
        if previous is None:
            value = 0.0
        else:
            drop = math.log(max(previous.loss, LOSS_FLOOR)) - math.log(max(cand.loss, LOSS_FLOOR))
            value = drop / max(cand.complexity - previous.complexity, 1)
        previous = cand
        if cand.loss <= tolerance * max(lowest, LOSS_FLOOR):
            scores.append((value, cand))
    return max(scores, key=lambda item: (item[0], -item[1].complexity))[1]


@SELECTIONS.register("cv")
def cv(front: Front, curve: ValidationCurve | None = None) -> Candidate:
    """The lowest-loss member no larger than the size the validation curve chose (the smallest member when the
    front has none that small)."""
    if curve is None:
        raise SearchError("the cv selection rule needs the validation curve of the training rows")
    members = _members(front)
    return best_up_to(front, curve.chosen_size()) or members[0]


def select(front: Front, rule: str, curve: ValidationCurve | None = None) -> Candidate:
    """The member of ``front`` chosen by the named rule (``curve``: the validation curve the ``cv`` rule needs)."""
    try:
        chooser = SELECTIONS.get(rule)
    except KeyError as exc:
        raise SearchError(exc.args[0]) from None
    return chooser(front, curve)
