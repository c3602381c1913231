"""Facts about the FlexiBERT and LTS GPT-2 spaces that docs/results.md uses to explain the baselines.

Prints, each with how it was computed:

* FlexiBERT: Spearman of depth (number of encoder layers) with the average GLUE score;
* LTS GPT-2: Spearman of n_layer and of d_model with the oriented target (-validation perplexity) and with the
  published LPZero proxy (``lpzero`` column of the cached extraction), and Kendall of archai's own parameter counts
  (``params_summary.yaml``: non-embedding, AdaEmb) with -perplexity;
* the spread of the ``lpzero`` proxy over each space (mean, std, relative std): how much architecture information
  it can carry.

The ``lpzero`` values come from the cached extraction of ``lpzero-sr baselines`` (batch 4 x 64, seed 0).

    python benchmarks/space_facts.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import smoke
import yaml

from lpzero_sr.baselines import ExtractSettings
from lpzero_sr.ranking import kendall, spearman
from lpzero_sr.spaces import load_benchmark
from lpzero_sr.tables import benchmark_table

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    args = smoke.parse(parser)

    flexi = load_benchmark("flexibert", args.data_dir)
    depth = np.array([len(flexi.configs[a]["nas_config"]["encoder_layers"]) for a in flexi.archs], dtype=float)
    glue = flexi.targets.loc[flexi.archs, "glue"].to_numpy()
    print(f"flexibert: Spearman(depth, glue) = {spearman(depth, glue):.3f} over {len(depth)} architectures")
    if args.smoke:  # the cached extractions of 500 + 200 models are not made for a smoke run
        print("smoke: the lpzero spread and the LTS facts need the full cached extractions; skipped")
        return
    table = benchmark_table("flexibert", args.data_dir, settings=ExtractSettings())
    spread("flexibert", table.column("lpzero"))

    lts = load_benchmark("lts-gpt2", args.data_dir)
    archs = lts.archs
    neg_ppl = -lts.targets.loc[archs, "valid_ppl"].to_numpy()
    lts_table = benchmark_table("lts-gpt2", args.data_dir, settings=ExtractSettings(proxies="single"))
    lpzero = dict(zip(lts_table.archs, lts_table.column("lpzero"), strict=True))
    lp = np.array([lpzero[a] for a in archs])
    for field in ("n_layer", "d_model"):
        values = np.array([lts.configs[a][field] for a in archs], dtype=float)
        print(
            f"lts-gpt2: Spearman({field}, -ppl) = {spearman(values, neg_ppl):.3f}, "
            f"Spearman({field}, lpzero) = {spearman(values, lp):.3f}"
        )
    counts = yaml.safe_load((args.data_dir / "lts_gpt2_wt103" / "params_summary.yaml").read_text())
    for part in ("nonembedding", "AdaEmb", "total"):
        values = np.array([counts[a][part] for a in archs], dtype=float)
        print(f"lts-gpt2: Kendall(archai {part} parameters, -ppl) = {kendall(values, neg_ppl):.3f}")
    print(f"lts-gpt2: Kendall(lpzero, -ppl) = {kendall(lp, neg_ppl):.3f}")
    spread("lts-gpt2", lp)


def spread(name: str, values: np.ndarray) -> None:
    mean, std = float(np.mean(values)), float(np.std(values))
    print(f"{name}: lpzero proxy mean {mean:.6g}, std {std:.3g} ({std / abs(mean):.2%} of the mean)")


if __name__ == "__main__":
    main()
