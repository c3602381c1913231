"""Stage 1 of a fit, *prepare*: the training rows' usable columns and their quantiles, fitted once.

The search sees the columns that are finite on every training row (:meth:`StatTable.finite_features`), in name
order: the same data with its columns in another order gives the same front, and which columns a search may use
never depends on held-out rows. Every column's training CDF (:mod:`lpzero_sr.quantile`) is fitted here, once, and
shared by the quantile terminals of the searches and by the additive formula.
"""

from __future__ import annotations

from dataclasses import dataclass

from lpzero_sr.quantile import Quantile, fit_quantiles, search_table
from lpzero_sr.table import StatTable


@dataclass(frozen=True)
class Prepared:
    """The training rows (finite columns, in name order), the held-out rows (the same columns; ``None`` when the
    fit holds none out) and every column's quantile ``q(x)`` on the training rows, by terminal name."""

    train: StatTable
    test: StatTable | None
    quantiles: dict[str, Quantile]

    def terminals(self, mode: str) -> dict[str, Quantile]:
        """The quantile terminals of terminal ``mode`` (none for ``raw``)."""
        return {} if mode == "raw" else self.quantiles

    def search_table(self, mode: str, columns: tuple[str, ...]) -> StatTable:
        """What a search reads: the training rows over ``columns``, as terminal ``mode`` presents them."""
        seen = {n: q for n, q in self.terminals(mode).items() if q.column in columns}
        return search_table(self.train.with_features(columns), seen, mode)  # type: ignore[arg-type]


def prepare(train: StatTable, test: StatTable | None) -> Prepared:
    """:class:`Prepared` from the training and held-out rows of one table."""
    train = train.finite_features()
    train = train.with_features(sorted(train.features))
    if test is not None:
        test = test.with_features(train.features)
    return Prepared(train, test, fit_quantiles(train, "quantile"))
