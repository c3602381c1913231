"""What boosted trees learn on NAS-Bench-Suite-Zero: per-column shapes, measured without any search (seconds).

For each of ``suite_zero.py``'s 11 tasks and each seed of ``--split`` (100 training architectures, the rest held
out), the held-out Spearman of:

* ``lightgbm``: the peer of :mod:`lpzero_sr.predictors` (trees of up to 8 leaves, :data:`LGBM_PARAMS`);
* ``stumps``: the same with one split per tree (600 of them): an additive model, one free shape per column;
* ``monotone``: the same as ``lightgbm`` with each column's trees held monotone, in the direction of its training
  Spearman: no column may peak inside its range;
* ``linear-q``: ridge regression of the target's ranks on the columns' centred training quantiles
  (:mod:`lpzero_sr.quantile`), the additive formula's linear half;
* ``additive``: the additive formula (:func:`lpzero_sr.fit.additive.additive_formula`), each column's quantile
  and its square.

    python benchmarks/additive_shapes.py [--split dev]
"""

from __future__ import annotations

import argparse

import lightgbm as lgb
import numpy as np
import smoke
from scipy.stats import spearmanr
from sklearn.linear_model import RidgeCV
from suite_zero import DEFAULT_DATA, N_TRAIN, TASKS

from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.fit.additive import additive_formula
from lpzero_sr.fit.protocol import SPLITS, split_seeds
from lpzero_sr.predictors import LGBM_PARAMS, RIDGE_ALPHAS, arch_matrix, target_ranks
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import fit_quantiles
from lpzero_sr.table import StatTable
from lpzero_sr.table_sources import resolve_table

METHODS = ("lightgbm", "stumps", "monotone", "linear-q", "additive")


def scores(train: StatTable, test: StatTable) -> dict[str, np.ndarray]:
    """Each method's held-out scores, fit on ``train``."""
    finite = train.finite_features()
    train, test = finite.with_features(sorted(finite.features)), test.with_features(sorted(finite.features))
    x, x_test, y = arch_matrix(train, train.features), arch_matrix(test, train.features), target_ranks(train)
    signs = [1 if spearmanr(column, y).statistic >= 0 else -1 for column in x.T]
    settings = {
        "lightgbm": {},
        "stumps": {"num_leaves": 2, "n_estimators": 600},
        "monotone": {"monotone_constraints": signs},
    }
    out = {
        name: lgb.LGBMRegressor(**(LGBM_PARAMS | extra)).fit(x, y).predict(x_test) for name, extra in settings.items()
    }
    quantiles = fit_quantiles(train, "quantile")
    levels = [np.column_stack([q.numpy(t.column(q.column)) for q in quantiles.values()]) for t in (train, test)]
    out["linear-q"] = RidgeCV(alphas=RIDGE_ALPHAS).fit(levels[0], y).predict(levels[1])
    out["additive"] = Proxy(additive_formula(train, quantiles), quantiles=quantiles).evaluate(test)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=sorted(SPLITS), default="dev")
    args = smoke.parse(parser)
    print(f"split {args.split}: held-out spearman, mean over seeds {smoke.first(args, split_seeds(args.split))}")
    print(f"{'task':<30}" + "".join(f"{m:>11}" for m in METHODS))
    rows = []
    for task in smoke.first(args, TASKS):
        table = resolve_table(task, DEFAULT_DATA)
        per_seed = []
        for seed in smoke.first(args, split_seeds(args.split)):
            train, test = table.split(N_TRAIN, seed)
            found = scores(train, test)
            per_seed.append([rank_metrics(found[m], test.y)["spearman"] for m in METHODS])
        rows.append(np.mean(per_seed, axis=0))
        print(f"{task:<30}" + "".join(f"{v:>11.3f}" for v in rows[-1]), flush=True)
    print(f"{f'mean of {len(rows)} tasks':<30}" + "".join(f"{v:>11.3f}" for v in np.mean(rows, axis=0)))


if __name__ == "__main__":
    main()
