"""The README's main job, measured: ``lpzero-sr fit tiny-gpt2`` on each report split seed.

For each seed of ``lpzero_sr.fit.protocol.REPORT_SEEDS`` it runs the quickstart command exactly as the README writes it
(plus ``--seed``) in a subprocess, with an empty cache for the first seed (so its wall time includes extracting
every architecture) and the filled cache for the others, then prints the chosen proxy, its held-out Spearman beside
the best single column chosen on the training rows, and the wall time. The quickstart's goal: the chosen proxy above
the best single column in at least 2 of 3 seeds, the whole command under 2 minutes on 2 cores.

    python benchmarks/quickstart.py [--split report|dev] [--out runs/quickstart-seeds] [-- FIT OPTIONS...]

Options after ``--`` are added to the command (settings are compared on ``--split dev`` only).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import smoke

from lpzero_sr.fit.protocol import SPLITS, split_seeds


def labels_subset(folder: Path, n: int) -> Path:
    """A ``labels.jsonl`` (with its ``meta.json``) of the first ``n`` shipped tiny-gpt2 architectures."""
    from lpzero_sr.spaces.tiny_gpt2 import labels_path

    rows = [json.loads(line) for line in labels_path().read_text().splitlines()]
    keep = list(dict.fromkeys(row["arch"] for row in rows))[:n]
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    (folder / "labels" / "meta.json").write_text(labels_path().with_name("meta.json").read_text())
    path = folder / "labels" / "labels.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows if row["arch"] in keep))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="report")
    parser.add_argument("--out", type=Path, default=Path("runs/quickstart-seeds"))
    parser.add_argument("extra", nargs="*", help="Further fit options (after --).")
    args = smoke.parse(
        parser,
        out=smoke.scratch(),
        extra=["--generations", "1", "--population", "16", "--jobs", "1", "--batch-size", "1", "--seq-len", "8"],
    )
    seeds = smoke.first(args, split_seeds(args.split))
    cache = tempfile.mkdtemp(prefix="lpzero-quickstart-cache-")
    env = {**os.environ, "LPZERO_SR_CACHE": cache}
    wins = 0
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; cache {cache} (empty at start)")
    for seed in seeds:
        out = args.out / f"seed_{seed}"
        cli = str(Path(sys.executable).with_name("lpzero-sr"))
        command = [cli, "fit", "tiny-gpt2", "--out", str(out), "--seed", str(seed), *args.extra]
        if args.smoke:  # 12 of the 160 architectures (fit SPACE --labels): the code path in seconds
            command += ["--labels", str(labels_subset(args.out, 12)), "--train-size", "6"]
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - start
        proxy = json.loads((out / "proxy.json").read_text())
        report = json.loads((out / "front.json").read_text())["report"]
        rho, base = report["proxy"]["spearman"], report["baseline"]
        wins += rho > base["spearman"]
        print(
            f"seed {seed}: held-out rho {rho:.4f} vs best column {base['column']} {base['spearman']:.4f} "
            f"({'above' if rho > base['spearman'] else 'NOT above'}); wall {wall:.1f} s; proxy {proxy['formula']}"
        )
    print(f"chosen proxy above the best single column in {wins} of {len(seeds)} {args.split} seeds")


if __name__ == "__main__":
    main()
