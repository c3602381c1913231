"""Serial vs Ray extraction of tiny-gpt2 architectures: identical tables, and the wall-time ratio.

    python benchmarks/ray_extract.py [--n 24] [--workers 2] [--batch-size 4] [--seq-len 64] [--proxies all]

Extracts the first N shipped tiny-gpt2 architectures (80 with ``--n 80``) into two temporary folders, once in this
process and once on a local Ray cluster of ``--workers`` workers started for the run (its start-up is included in
the Ray time), asserts that the two per-architecture and per-layer tables are identical, and prints both wall
times, the ratio serial/Ray and the machine's load averages before and after (other work on the machine slows
both runs; a ratio below the worker count also reflects Ray's start-up and per-task transfers).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import smoke

from lpzero_sr.baselines import extract_benchmark
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.parallel import Runner
from lpzero_sr.spaces import load_benchmark


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--proxies", default="all", choices=["all", "single"])
    args = smoke.parse(parser, n=2, batch_size=1, seq_len=8, proxies="single")
    bench = load_benchmark("tiny-gpt2")
    archs = bench.archs[: args.n]
    settings = ExtractSettings(batch_size=args.batch_size, seq_len=args.seq_len, seed=0, proxies=args.proxies)
    print(f"{len(archs)} tiny-gpt2 architectures, batch {args.batch_size}x{args.seq_len}, proxies {args.proxies}")
    print(f"load average before: {_load()} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory() as tmp:
        walls, dirs = {}, {"serial": Path(tmp) / "serial", "ray": Path(tmp) / "ray"}
        runners = {"serial": None, "ray": Runner(ray="auto", workers=args.workers)}
        for name, runner in runners.items():
            start = time.perf_counter()
            frame = extract_benchmark(bench, settings, dirs[name], archs=archs, progress=False, runner=runner)
            walls[name] = time.perf_counter() - start
            print(f"{name}: {len(frame)} architectures in {walls[name]:.1f} s (load {_load()})")
        for table in ("per_arch.parquet", "per_layer.parquet"):
            serial, ray = (pd.read_parquet(dirs[name] / table) for name in ("serial", "ray"))
            pd.testing.assert_frame_equal(serial, ray, check_exact=True)
    ratio = walls["serial"] / walls["ray"]
    print(f"tables identical; serial/Ray wall-time ratio with {args.workers} workers: {ratio:.2f}")


if __name__ == "__main__":
    main()
