"""Stage 4 of a fit, *assess*: rank metrics of the proxy, of every front member and of the other predictors.

Every predictor (:mod:`lpzero_sr.predictors`: the found proxy, the best single column chosen on the training rows,
the learned peers fit on the same training rows) is scored the same way, by its ``query`` on the held-out rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.fit.prepare import Prepared
from lpzero_sr.formula import Node
from lpzero_sr.predictors import PEERS, BestColumn, Predictor, ProxyPredictor
from lpzero_sr.proxy import Proxy
from lpzero_sr.search.engine import Front
from lpzero_sr.table import StatTable


def metrics(predictor: Predictor, prepared: Prepared) -> dict[str, dict[str, float]]:
    """Train and (with held-out rows) held-out rank metrics of a fitted predictor."""
    out = {"train": rank_metrics(predictor.query(prepared.train), prepared.train.y)}
    if prepared.test is not None:
        out["heldout"] = rank_metrics(predictor.query(prepared.test), prepared.test.y)
    return out


def member_metrics(front: Front, prepared: Prepared, proxy_of: Callable[[Node], Proxy]) -> list[dict[str, Any]]:
    """Each front member's train and held-out metrics, as a proxy of the run."""
    return [metrics(ProxyPredictor(proxy_of(c.formula)), prepared) for c in front.candidates]


def predictions(proxy: Proxy, prepared: Prepared) -> pd.DataFrame:
    """One row per architecture and split: arch, split, score, target (oriented: higher is better)."""
    parts: list[tuple[str, StatTable]] = [("train", prepared.train)]
    if prepared.test is not None:
        parts.append(("test", prepared.test))
    return pd.concat(
        [
            pd.DataFrame({"arch": t.archs, "split": name, "score": proxy.evaluate(t), "target": t.y})
            for name, t in parts
        ],
        ignore_index=True,
    )


def heldout_report(proxy: Predictor, train: StatTable, test: StatTable, peers: bool = True) -> dict[str, Any]:
    """Held-out metrics of ``proxy``, of the best single column chosen on ``train`` and (``peers``) of every
    learned peer fit on ``train``: ``{"proxy": ..., "baseline": {column, sign, ..., "train": ...}, "n_test": n,
    "peers": {name: ...}}``."""
    best = BestColumn().fit(train)
    report: dict[str, Any] = {
        "proxy": rank_metrics(proxy.query(test), test.y),
        "baseline": {
            "column": best.column,
            "sign": best.sign,
            **rank_metrics(best.query(test), test.y),
            "train": rank_metrics(best.query(train), train.y),
        },
        "n_test": len(test.archs),
    }
    if peers:
        report["peers"] = peer_report(train, test)
    return report


def peer_report(train: StatTable, test: StatTable) -> dict[str, dict[str, float]]:
    """Held-out rank metrics (Spearman, Kendall, top-10%) of every registered peer, fit on ``train``."""
    return {name: rank_metrics(peer().fit(train).query(test), test.y) for name, peer in PEERS.items()}
