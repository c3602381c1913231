"""Label-noise ceiling of the self-labelled benchmarks: how well one training seed ranks like another.

For each ``labels.jsonl`` (default: the shipped ``tiny_gpt2`` and ``tiny_llama`` labels) over the architectures
labelled with training seeds 0 and 1: Spearman between the seed-0 and seed-1 validation losses (the run-to-run
ceiling of a single-seed label), the mean absolute difference, the per-run noise sd (sd of the differences / sqrt 2),
and, by simulation with that noise around the 2-seed means (seeded, 2000 draws), the expected Spearman between a
noise-free ranking and the 2-seed mean label (the ceiling a proxy can reach against ``val_loss``). Also the Spearman
of the parameter count alone (more parameters ranked better), the baseline any proxy should beat.

    python benchmarks/label_noise.py [LABELS.jsonl ...]
    python benchmarks/label_noise.py A/labels.jsonl --against B/labels.jsonl   # Spearman of A's and B's val_loss

``--against`` compares two labellings of the same architectures instead (e.g. sub-networks with inherited weights
against the same sub-networks after a short fine-tune).
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

import numpy as np
import smoke
from scipy.stats import spearmanr

from lpzero_sr.spaces.labels import read_labels

DEFAULTS = ("tiny_gpt2", "tiny_llama")
DRAWS = 2000


def report(path: Path) -> str:
    """One line of label-noise numbers for the architectures of ``path`` labelled with seeds 0 and 1."""
    if not path.is_file():
        return f"{path}: not found"
    labels = read_labels(path)
    params = f"{path}: {len(labels)} architectures; #params alone Spearman(n_params, -val_loss) = " + (
        f"{spearmanr(labels['n_params'], -labels['val_loss'])[0]:.3f}"
    )
    if not {"val_loss_seed0", "val_loss_seed1"} <= set(labels.columns):
        return f"{params}; one training seed only"
    both = labels.dropna(subset=["val_loss_seed0", "val_loss_seed1"])
    if len(both) < 3:
        return f"{params}; only {len(both)} architectures with seeds 0 and 1"
    seed0, seed1 = both["val_loss_seed0"].to_numpy(), both["val_loss_seed1"].to_numpy()
    diff = seed0 - seed1
    run_sd = float(diff.std(ddof=1) / np.sqrt(2))
    rng = np.random.default_rng(0)
    mean = both["val_loss"].to_numpy()
    ceiling = [spearmanr(mean, mean + rng.normal(0, run_sd / np.sqrt(2), len(mean)))[0] for _ in range(DRAWS)]
    return (
        f"{params}\n  {len(both)} architectures with seeds 0 and 1: Spearman(seed0, seed1) = "
        f"{spearmanr(seed0, seed1)[0]:.3f}; mean |diff| {np.abs(diff).mean():.3f} nats; per-run noise sd "
        f"{run_sd:.3f}; loss sd {mean.std(ddof=1):.3f}; simulated ceiling vs the 2-seed mean "
        f"{np.mean(ceiling):.3f} (90% {np.quantile(ceiling, 0.05):.3f}-{np.quantile(ceiling, 0.95):.3f})"
    )


def compare(path: Path, other: Path) -> str:
    """Spearman between the ``val_loss`` of two labels files over their common architectures."""
    a, b = read_labels(path).set_index("arch"), read_labels(other).set_index("arch")
    common = a.index.intersection(b.index)
    rho = spearmanr(a.loc[common, "val_loss"], b.loc[common, "val_loss"])[0]
    return f"{path} vs {other}: {len(common)} common architectures, Spearman(val_loss) = {rho:.3f}"


def main() -> None:
    """Print one line per labels file given on the command line (default: the shipped benchmarks)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--against", type=Path, help="Compare each file's val_loss with this labels file.")
    args = smoke.parse(parser)
    paths = args.paths or [Path(str(resources.files("lpzero_sr") / "data" / n / "labels.jsonl")) for n in DEFAULTS]
    for path in paths:
        print(compare(path, args.against) if args.against else report(path))


if __name__ == "__main__":
    main()
