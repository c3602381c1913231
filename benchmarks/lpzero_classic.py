"""The proxies LPZero also computed on the 200 LTS GPT-2 architectures: this project's value beside LPZero's value.

For each proxy of LPZero's committed GPT-2 files (``shared/data/lpzero_reference/gpt2_wt103``) it prints, over the
architectures both have: Spearman's rho between this project's value and LPZero's, and each one's Spearman / Kendall
with validation perplexity in this project's convention (the proxy against *negated* perplexity: positive means the
proxy ranks better models higher). LPZero's evaluation script (``lpzero/runner/eval_rank_gpt2.py``) prints
``spearmanr(valid_ppl, -score)``, which is the same number with the same sign; LPZero's paper quotes absolute
values for its own proxy.

The project's values come from the cached LTS extraction of ``lpzero-sr baselines lts-gpt2 --proxies single`` and
``--proxies extra --stats none`` (batch 4 x 64, seed 0; extracted here when missing: about an hour on 2 cores).

    python benchmarks/lpzero_classic.py [--data-dir ../shared/data] [--smoke]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from lpzero_sr.baselines import extract_benchmark, to_markdown
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.lpzero_tables import lpzero_reference
from lpzero_sr.ranking import kendall, spearman
from lpzero_sr.spaces import load_benchmark

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# LPZero's file name -> this project's proxy (None: the project has no such proxy)
PROXIES: dict[str, str | None] = {
    "snip": "snip",
    "synflow": "synflow",
    "logsynflow": "logsynflow",
    "grad_norm": "grad_norm",
    "fisher": "fisher",
    "grasp": "grasp",
    "jacobian_cosine": "jacob_cos",
    "synaptic_diversity": "synaptic_diversity",
    "synaptic_saliency": "synaptic_saliency",
    "head_importance": "head_importance",
    "head_confidence": "head_conf",
    "attention_confidence": "attn_conf",
    "activation_distance": "act_distance",
    "eznas": None,
    "num_parameters": "params",
    "lpzero": "lpzero-gpt2",
}


def ours(data_dir: Path, archs: list[str] | None, out: Path | None) -> pd.DataFrame:
    """This project's proxies per LTS architecture (single-pass and extra-pass extractions joined)."""
    bench = load_benchmark("lts-gpt2", data_dir)
    single = ExtractSettings(proxies="single")
    stats = "all" if out is None else "none"
    frame = extract_benchmark(bench, single, out, stats=stats, device="cpu", archs=archs, progress=out is None)
    extra_dir = None if out is None else out / "extra"
    more = extract_benchmark(bench, ExtractSettings(proxies="extra"), extra_dir, stats="none", device="cpu",
                             archs=archs, progress=out is None)  # fmt: skip
    frame = frame.merge(more[["arch", *(c for c in more.columns if c not in frame.columns)]], on="arch")
    return frame.assign(arch=frame["arch"].astype(str)).set_index("arch")


def table(data_dir: Path, project: pd.DataFrame) -> pd.DataFrame:
    bench = load_benchmark("lts-gpt2", data_dir)
    neg_ppl = -bench.targets["valid_ppl"]
    rows = []
    for theirs_name, our_name in PROXIES.items():
        theirs = lpzero_reference(data_dir, "lts-gpt2", theirs_name)
        archs = [a for a in project.index if a in theirs.index]
        t = theirs.loc[archs].to_numpy(float)
        y = neg_ppl.loc[archs].to_numpy(float)
        row = {"LPZero proxy": theirs_name, "project proxy": our_name or "-", "n": len(archs)}
        if our_name is not None and our_name in project.columns:
            o = project.loc[archs, our_name].to_numpy(float)
            ok = np.isfinite(o) & np.isfinite(t)
            row |= {
                "rho(ours, LPZero's)": spearman(o[ok], t[ok]),
                "ours: rho": spearman(o[ok], y[ok]),
                "ours: tau": kendall(o[ok], y[ok]),
            }
        else:
            row |= {"rho(ours, LPZero's)": np.nan, "ours: rho": np.nan, "ours: tau": np.nan}
        ok = np.isfinite(t)
        row |= {"LPZero's: rho": spearman(t[ok], y[ok]), "LPZero's: tau": kendall(t[ok], y[ok])}
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--smoke", action="store_true", help="4 architectures, proxies only, a fresh cache.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            archs = load_benchmark("lts-gpt2", args.data_dir).archs[:4]
            project = ours(args.data_dir, archs, Path(tmp))
        else:
            project = ours(args.data_dir, None, None)
    print("Correlations with validation perplexity in this project's convention (proxy vs -ppl; LPZero's")
    print("eval_rank_gpt2.py prints spearmanr(ppl, -score), the same sign). NaN: no such proxy here.\n")
    print(to_markdown(table(args.data_dir, project)))
    same = [lpzero_reference(args.data_dir, "lts-gpt2", p) for p in ("attention_confidence", "head_confidence")]
    archs = [a for a in same[0].index if a in same[1].index]
    rho = spearman(same[0].loc[archs].to_numpy(), same[1].loc[archs].to_numpy())
    print(f"\nLPZero's attention_confidence vs its head_confidence (one definition in its code): rho {rho:.4f}")


if __name__ == "__main__":
    main()
