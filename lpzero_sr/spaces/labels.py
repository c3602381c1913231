"""Reading a labelled sample: ``labels.jsonl`` (one line per architecture and training seed) and its ``meta.json``.

:mod:`lpzero_sr.labeling` writes these files; a space whose labels ship with the package or sit beside a
checkpoint (:mod:`lpzero_sr.spaces.shipped`, :mod:`lpzero_sr.spaces.subnet`) reads them here into a
:class:`Benchmark`. :func:`read_labels` averages the seeds: ``val_loss`` is the mean over an architecture's seeds and
``val_loss_seed<k>`` keeps each run (files written before multi-seed labelling have lines without ``train_seed``;
they belong to the seed in ``meta.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from lpzero_sr.errors import DataError
from lpzero_sr.spaces.base import Benchmark, Space

LABELS_FILE = "labels.jsonl"
META_FILE = "meta.json"


def read_labels(path: str | Path) -> pd.DataFrame:
    """One row per successfully labelled architecture of a ``labels.jsonl``, in first-seen order.

    Columns: arch, config, n_params, ``val_loss`` (mean over the architecture's training seeds), ``val_loss_seed<k>``
    per seed (NaN where that seed is missing), n_seeds, train_seconds (summed over seeds). Lines without
    ``train_seed`` (single-seed files) belong to the seed named in the ``meta.json`` beside the file, else 0.
    """
    path = Path(path)
    default_seed = meta_seeds(path.parent / META_FILE)[0]
    rows = [
        {**row, "train_seed": row.get("train_seed", default_seed)} for row in read_jsonl(path) if "error" not in row
    ]
    if not rows:
        raise DataError(f"no labelled architectures in {path}")
    runs = pd.DataFrame(rows).drop_duplicates(["arch", "train_seed"], keep="last")
    losses = runs.pivot(index="arch", columns="train_seed", values="val_loss")
    order = list(dict.fromkeys(runs["arch"]))
    first = runs.drop_duplicates("arch").set_index("arch").loc[order]
    frame = pd.DataFrame(
        {
            "arch": order,
            "config": first["config"].to_list(),
            "n_params": first["n_params"].to_numpy(),
            "val_loss": losses.loc[order].mean(axis=1).to_numpy(),
        }
    )
    for train_seed in sorted(losses.columns):
        frame[f"val_loss_seed{train_seed}"] = losses.loc[order, train_seed].to_numpy()
    frame["n_seeds"] = losses.loc[order].notna().sum(axis=1).to_numpy()
    frame["train_seconds"] = runs.groupby("arch")["train_seconds"].sum().loc[order].to_numpy()
    return frame


def labelled_benchmark(
    space: Space, path: str | Path, validate: Callable[[dict[str, Any]], dict[str, Any]]
) -> Benchmark:
    """A :class:`Benchmark` of ``space`` from a ``labels.jsonl``: target ``val_loss`` (the mean over training seeds,
    minimised); ``validate`` checks each stored config."""
    rows = read_labels(path)
    configs = {row.arch: validate(row.config) for row in rows.itertuples()}
    targets = pd.DataFrame({"val_loss": rows["val_loss"].to_numpy()}, index=pd.Index(rows["arch"], name="arch"))
    return Benchmark(space.name, configs, targets, "val_loss", "minimize", space=space)


def meta_seeds(path: Path) -> list[int]:
    """Training seeds recorded in ``meta.json``: ``train_seeds``, or the older single ``train_seed``; ``[0]``
    when there is no such file."""
    if not path.exists():
        return [0]
    old = json.loads(path.read_text(encoding="utf-8"))
    return list(old["train_seeds"]) if "train_seeds" in old else [int(old.get("train_seed", 0))]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a ``.jsonl`` file, one a line (blank lines skipped; none when there is no file); a line
    that is not JSON is one :class:`DataError` naming it."""
    if not path.exists():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: not a JSON line ({exc.msg})") from exc
    return rows
