"""Fit run directories in the fit contract, built by hand (no search), with optional parts left out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from lpzero_sr.export.text import formula_text
from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy

NAMES = ("act.abs_std", "grad.sqr.mean", "weight*grad.abs.l1")
CHOSEN_EXPR = Node.from_tokens(("mul", "mul", 0, 2, "exp", 1), NAMES)
FRONT = [  # (formula, complexity, train spearman, heldout spearman)
    (Node.from_tokens((0,), NAMES), 1, 0.61, 0.55),
    (Node.from_tokens(("mul", 0, 2), NAMES), 3, 0.72, 0.66),
    (CHOSEN_EXPR, 6, 0.81, 0.74),
]
CHOSEN = 2
N_TRAIN, N_TEST = 40, 30


def metrics(spearman: float) -> dict[str, float]:
    return {"spearman": spearman, "kendall": round(spearman - 0.1, 4), "topk": 0.5}


def build_fit_run(
    path: Path,
    *,
    direction: str = "minimize",
    loss: str = "kendall",
    heldout: bool = True,
    peers: bool = True,
    modern_front: bool = True,
    history: bool = True,
    predictions: bool = True,
) -> Path:
    """A run directory like ``lpzero-sr fit --out`` writes. ``heldout=False`` is ``--train-size 1.0``;
    ``modern_front=False`` is an older front.json (candidates only)."""
    path.mkdir(parents=True, exist_ok=True)
    proxy_metrics = {"train": metrics(0.81)} | ({"heldout": metrics(0.74)} if heldout else {})
    proxy = Proxy(
        CHOSEN_EXPR,
        target="val_loss",
        direction=direction,
        loss=loss,
        metrics=proxy_metrics,
        engine="deap",
        seed=3,
        rules="default",
    )
    proxy.save(path / "proxy.json")
    candidates = []
    for expr, size, train, held in FRONT:
        c = {"loss": 1 - train, "complexity": size, "text": formula_text(expr), "tree": expr.to_json()}
        if modern_front:
            c["train"] = metrics(train) if loss == "spearman" else {**metrics(train), "kendall": train}
            if heldout:
                c["heldout"] = metrics(held) if loss == "spearman" else {**metrics(held), "kendall": held}
        candidates.append(c)
    front: dict[str, object] = {
        "candidates": candidates,
        "rejections": {"depth": 7, "finite": 2},
        "evaluations": 900,
        "generations": 12,
        "stopped": "generations",
    }
    if modern_front:
        front["chosen"] = CHOSEN
        front["selection"] = "knee"
        if heldout:
            front["report"] = {
                "proxy": metrics(0.74),
                "baseline": {"column": "grad.sqr.mean", "sign": -1.0, **metrics(0.52)},
                "n_test": N_TEST,
                **({"peers": {"synflow": metrics(0.33)}} if peers else {}),
            }
    (path / "front.json").write_text(json.dumps(front))
    if history:
        curve = [[100, 0.5], [400, 0.3], [900, 0.19]]
        (path / "history.json").write_text(json.dumps({"history": curve, "rejections": front["rejections"]}))
    if predictions:
        rng = np.random.default_rng(0)
        n = N_TRAIN + (N_TEST if heldout else 0)
        score = rng.normal(size=n)
        frame = pd.DataFrame(
            {
                "arch": [f"a{i}" for i in range(n)],
                "split": ["train"] * N_TRAIN + ["test"] * (n - N_TRAIN),
                "score": score,
                "target": score + rng.normal(scale=0.8, size=n),
            }
        )
        frame.to_csv(path / "predictions.csv", index=False)
    return path
