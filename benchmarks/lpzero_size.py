"""At initialisation LPZero's two published proxies are close to closed-form functions of the architecture's size.

GPT-2 (``lpzero-gpt2``, LTS): per Conv1D matrix ``mean(W**2) + mean(softmax(G, dim=0)**2)``. Weights are
N(0, 0.02**2), the two residual projections N(0, 0.02**2 / (2L)), so the first term averages to ``2e-4 (1 + 1/(2L))``;
the gradients are so small at init that each softmax over the ``in`` dimension is almost uniform, ``1/in`` per entry,
so the second term is ``1/in**2``: ``1/d_model**2`` for three matrices of a block and ``1/d_inner**2`` for the FFN
output. Hence

    closed(arch) = 2e-4 (1 + 1/(2L)) + mean_l (3/d_model**2 + 1/d_inner_l**2) / 4

FlexiBERT (``lpzero-flexibert``, ELECTRA widths): ``mean(q**2)`` of each query projection. A projection of width
256 with N(0, 0.02**2) weights gives ``256 * 4e-4 = 0.1024`` on a LayerNorm-ed input, and ``0.1024 * 128 * 4e-4`` on
the first layer, whose input is the 128-wide embedding projected to 256; LPZero reads the list twice and cuts it at
the number of FFN activations ``A`` (:mod:`lpzero_sr.features.lpzero_space`). Hence, with ``L`` layers,

    closed(arch) = mean of the first min(2L, A) entries of (q_1, ..., q_L, q_1, ..., q_L),
                   q_1 = 0.1024 * 0.0512, q_l = 0.1024 otherwise

It prints Spearman's rho of each closed form with LPZero's own committed values (``shared/data/lpzero_reference``),
with the ground truth (this project's convention: perplexity negated) and, for FlexiBERT, that of depth alone.

    python benchmarks/lpzero_size.py [--data-dir ../shared/data] [--smoke]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lpzero_sr.lpzero_tables import lpzero_reference
from lpzero_sr.ranking import spearman
from lpzero_sr.spaces import load_benchmark
from lpzero_sr.spaces.flexibert import encoder_config

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
STD = 0.02
Q_LATER = 256 * STD**2  # a 256-wide projection of a unit-variance input
Q_FIRST = Q_LATER * 128 * STD**2  # of the 128-wide LayerNorm-ed embedding projected to 256


def gpt2_closed_form(config: dict) -> float:
    n_layer, d_model = int(config["n_layer"]), int(config["d_model"])
    d_inner = config["d_inner"] if isinstance(config["d_inner"], list) else [config["d_inner"]] * n_layer
    softmax = np.mean([(3 / d_model**2 + 1 / int(d) ** 2) / 4 for d in d_inner[:n_layer]])
    return 2e-4 * (1 + 1 / (2 * n_layer)) + float(softmax)


def flexibert_closed_form(config: dict) -> float:
    _, layers = encoder_config(config)
    q = [Q_FIRST] + [Q_LATER] * (len(layers) - 1)
    acts = sum(int(layer["num_feed_forward"]) for layer in layers)
    return float(np.mean((q + q)[: min(2 * len(layers), acts)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--smoke", action="store_true", help="The first 20 architectures of each benchmark.")
    args = parser.parse_args()
    n = 20 if args.smoke else None
    lts = load_benchmark("lts-gpt2", args.data_dir)
    archs = lts.archs[:n]
    closed = np.array([gpt2_closed_form(lts.configs[a]) for a in archs])
    ref = lpzero_reference(args.data_dir, "lts-gpt2").loc[archs].to_numpy()
    ppl = lts.targets.loc[archs, "valid_ppl"].to_numpy()
    print(
        f"lpzero-size lts-gpt2 n={len(archs)} spearman_closed_vs_lpzero={spearman(closed, ref):.4f} "
        f"spearman_closed_target={spearman(closed, -ppl):.4f} spearman_lpzero_target={spearman(ref, -ppl):.4f}"
    )
    fx = load_benchmark("flexibert", args.data_dir)
    archs = fx.archs[:n]
    closed = np.array([flexibert_closed_form(fx.configs[a]) for a in archs])
    depth = np.array([len(encoder_config(fx.configs[a])[1]) for a in archs])
    ref = lpzero_reference(args.data_dir, "flexibert").loc[archs].to_numpy()
    glue = fx.targets.loc[archs, "glue"].to_numpy()
    print(
        f"lpzero-size flexibert n={len(archs)} spearman_closed_vs_lpzero={spearman(closed, ref):.4f} "
        f"spearman_depth_vs_lpzero={spearman(depth, ref):.4f} spearman_closed_target={spearman(closed, glue):.4f} "
        f"spearman_lpzero_target={spearman(ref, glue):.4f} spearman_depth_target={spearman(depth, glue):.4f}"
    )


if __name__ == "__main__":
    main()
