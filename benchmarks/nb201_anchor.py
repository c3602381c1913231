"""NAS-Bench-Suite-Zero's published XGBoost anchor on NB201, rerun on this project's splits.

Krishnakumar et al. (NAS-Bench-Suite-Zero, NeurIPS 2022 Datasets and Benchmarks) report, for 100 training
architectures, XGBoost on every zero-cost proxy plus the one-hot encoding of the cell: Spearman 0.926 on
NB201 cifar10 and 0.900 on ImageNet16-120 (the anchors issue 22 cites). Here: the same model family with this
project's fixed parameters (:data:`lpzero_sr.predictors.XGB_PARAMS`, target ranks as response), on the
proxies of ``../shared/data`` with and without the one-hot cell (6 edges x 5 operations = 30 columns), on exactly
the rows of ``benchmarks/compact.py`` (``StatTable.split(100, seed)`` for the split's seeds; every other
architecture held out). Printed per dataset: the mean held-out Spearman over seeds of each, beside the published
value. Higher accuracy is better; no sign is flipped.

    python benchmarks/nb201_anchor.py [--split report|dev]
    python benchmarks/nb201_anchor.py --smoke
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import numpy as np
import smoke
from suite_zero import DEFAULT_DATA, N_TRAIN

from lpzero_sr.fit.protocol import SPLITS, split_seeds
from lpzero_sr.predictors import XGB_PARAMS, arch_matrix, target_ranks
from lpzero_sr.ranking import spearman
from lpzero_sr.table import StatTable
from lpzero_sr.table_sources import resolve_table

DATASETS = ("nb201-cifar10", "nb201-cifar100", "nb201-ImageNet16-120")
PUBLISHED = {"nb201-cifar10": 0.926, "nb201-ImageNet16-120": 0.900}  # XGBoost, ZC proxies + one-hot, 100 labels
EDGES, OPS = 6, 5


def one_hot(table: StatTable) -> np.ndarray:
    """``(archs, 30)``: the operation on each of the cell's 6 edges, one-hot (the arch string is their tuple)."""
    cells = [ast.literal_eval(str(a)) for a in table.archs]
    out = np.zeros((len(cells), EDGES * OPS))
    for row, cell in enumerate(cells):
        out[row, [edge * OPS + op for edge, op in enumerate(cell)]] = 1.0
    return out


def heldout(train: StatTable, test: StatTable, encode: bool) -> float:
    """Held-out Spearman of XGBoost on the proxies (and the one-hot cell with ``encode``)."""
    import xgboost as xgb

    def matrix(table: StatTable) -> np.ndarray:
        x = arch_matrix(table, train.features)
        return np.hstack([x, one_hot(table)]) if encode else x

    model = xgb.XGBRegressor(**XGB_PARAMS).fit(matrix(train), target_ranks(train))
    return spearman(model.predict(matrix(test)), test.y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=sorted(SPLITS), default="report")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    args = smoke.parse(parser)
    seeds = smoke.first(args, split_seeds(args.split))
    print(f"split {args.split}: seeds {seeds}, train {N_TRAIN}, held-out = the rest (the rows of compact.py)")
    print(f"{'dataset':<24}{'xgboost':>10}{'+one-hot':>10}{'published':>11}")
    for name in DATASETS:
        table = resolve_table(name, args.data_dir)
        splits = [table.split(N_TRAIN, seed) for seed in seeds]
        plain = np.mean([heldout(train, test, encode=False) for train, test in splits])
        encoded = np.mean([heldout(train, test, encode=True) for train, test in splits])
        published = f"{PUBLISHED[name]:.3f}" if name in PUBLISHED else "-"
        print(f"{name:<24}{plain:>10.3f}{encoded:>10.3f}{published:>11}", flush=True)


if __name__ == "__main__":
    main()
