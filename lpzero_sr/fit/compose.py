"""Stage 3 of a fit, *compose*: choose one formula from each search's front, and the optional ensemble.

Each front's member is chosen on training rows only by the selection rule (:mod:`lpzero_sr.fit.selection`). One
search and no additive formula: the proxy is the first front's chosen member, the tree as the search scored it.
Otherwise the proxy is the rank average of the searches' chosen formulas (:mod:`lpzero_sr.fit.bagging`), with the
additive formula (:mod:`lpzero_sr.fit.additive`) joining it at its share of the weight; ``parts`` lists each of
them as ``front.json`` records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lpzero_sr.fit.additive import additive_formula, additive_weight
from lpzero_sr.fit.bagging import rank_average
from lpzero_sr.fit.prepare import Prepared
from lpzero_sr.fit.search import SearchRun
from lpzero_sr.fit.selection import select
from lpzero_sr.fit.validation import ValidationCurve
from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import Quantile
from lpzero_sr.ranking import rank_loss
from lpzero_sr.settings import FitSettings
from lpzero_sr.table import StatTable


@dataclass
class Composition:
    """The proxy, the index of the chosen member in the first front (``None`` for an ensemble, which is no front
    member), the index of the first search's chosen member (the compact formula an ensemble is reported beside), each
    part of an ensemble as ``front.json`` records it, and every quantile the run's formulas read."""

    proxy: Proxy
    chosen: int | None
    compact: int
    parts: list[dict[str, Any]] = field(default_factory=list)
    quantiles: dict[str, Quantile] = field(default_factory=dict)


@dataclass(frozen=True)
class ProxyMaker:
    """Makes a :class:`Proxy` of a formula with one run's metadata (target, direction, aggregation of ``table``)."""

    table: StatTable
    settings: FitSettings
    engine: str
    rules: str

    def __call__(self, formula: Node, quantiles: dict[str, Quantile], selection: str | None = None) -> Proxy:
        search = self.settings.search
        return Proxy(
            formula,
            aggregation=search.aggregation if self.table.per_layer else None,  # type: ignore[arg-type]
            target=self.table.target,
            direction=self.table.direction,
            loss=search.loss,
            engine=self.engine,
            seed=search.seed,
            rules=self.rules,
            selection=selection or self.settings.selection,
            quantiles=dict(quantiles),
        )


def compose(
    prepared: Prepared,
    runs: list[SearchRun],
    settings: FitSettings,
    make: ProxyMaker,
    curve: ValidationCurve | None = None,
) -> Composition:
    """Choose each front's member by ``settings.selection`` (``curve``: the validation curve of the ``cv`` rule);
    combine them (and the additive formula) when more than one formula is there."""
    train, quantiles = prepared.train, prepared.quantiles
    picks = [select(run.front, settings.selection, curve) for run in runs]
    parts: list[dict[str, Any]] = [
        {"seed": run.seed, "loss": c.loss, "complexity": c.complexity, "text": c.text, "tree": c.formula.to_json()}
        | ({"columns": list(run.columns)} if settings.subspace < 1 else {})
        for run, c in zip(runs, picks, strict=True)
    ]
    formulas, weights = [c.formula for c in picks], [1.0] * len(picks)
    share = settings.additive
    if share > 0:
        formulas.append(additive_formula(train, quantiles))
        weights.append(additive_weight(share, len(picks)))
        shape = make(formulas[-1], quantiles)
        parts.append(
            {"additive": share, "loss": rank_loss(shape.evaluate(train), train.y, settings.search.loss),
             "complexity": formulas[-1].size, "text": shape.text(), "tree": formulas[-1].to_json()}
        )  # fmt: skip
    compact = runs[0].front.candidates.index(picks[0])
    if len(formulas) == 1:
        return Composition(make(picks[0].formula, quantiles), compact, compact, [], quantiles)
    searches = (
        f"{len(picks)} searches' {settings.selection} members"
        if len(picks) > 1
        else (f"1 search's {settings.selection} member")
    )
    what = searches + (" and the additive formula" if share > 0 else "")
    root, bagged = rank_average(formulas, train, quantiles, weights)
    return Composition(make(root, bagged, f"rank average of {what}"), None, compact, parts, bagged)
