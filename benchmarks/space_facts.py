"""Facts about the FlexiBERT and LTS GPT-2 spaces that docs/results.md uses to explain the baselines.

Prints, each with how it was computed:

* FlexiBERT: Spearman of depth (number of encoder layers) with the average GLUE score;
* LTS GPT-2: Spearman of n_layer and of d_model with the oriented target (-validation perplexity), and Kendall of
  archai's own parameter counts (``params_summary.yaml``: non-embedding, AdaEmb) with -perplexity.

LPZero's published proxies as functions of size: ``benchmarks/lpzero_size.py``.

    python benchmarks/space_facts.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import smoke
import yaml

from lpzero_sr.ranking import kendall, spearman
from lpzero_sr.spaces import load_benchmark

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    args = smoke.parse(parser)

    flexi = load_benchmark("flexibert", args.data_dir)
    depth = np.array([len(flexi.configs[a]["nas_config"]["encoder_layers"]) for a in flexi.archs], dtype=float)
    glue = flexi.targets.loc[flexi.archs, "glue"].to_numpy()
    print(f"flexibert: Spearman(depth, glue) = {spearman(depth, glue):.3f} over {len(depth)} architectures")

    lts = load_benchmark("lts-gpt2", args.data_dir)
    archs = lts.archs
    neg_ppl = -lts.targets.loc[archs, "valid_ppl"].to_numpy()
    for field in ("n_layer", "d_model"):
        values = np.array([lts.configs[a][field] for a in archs], dtype=float)
        print(f"lts-gpt2: Spearman({field}, -ppl) = {spearman(values, neg_ppl):.3f}")
    counts = yaml.safe_load((args.data_dir / "lts_gpt2_wt103" / "params_summary.yaml").read_text())
    for part in ("nonembedding", "AdaEmb", "total"):
        values = np.array([counts[a][part] for a in archs], dtype=float)
        print(f"lts-gpt2: Kendall(archai {part} parameters, -ppl) = {kendall(values, neg_ppl):.3f}")


if __name__ == "__main__":
    main()
