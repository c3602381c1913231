"""Time the extraction of FlexiBERT architectures (every bank statistic + every classic proxy) on this machine.

    .venv/bin/python benchmarks/extract_flexibert.py [--n 500] [--batch-size 4] [--seq-len 64] [--threads 1]

Architectures are taken in id order (the benchmark's ids are a random sample of the space, so a prefix is an
unbiased sample); with ``--n`` below 500 the total is extrapolated linearly. Per architecture it measures the
build, one plain forward+backward of the zero-cost loss, the main extraction pass (statistics + single-pass
proxies) and the extra-pass proxies (synflow, logsynflow, grasp, jacov, jacob_cos), and prints the load average
so a reader can judge how shared the CPU was.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import smoke
import torch

from lpzero_sr.features.extract import extract_model
from lpzero_sr.features.inputs import make_batch
from lpzero_sr.features.loss import zero_cost_loss
from lpzero_sr.spaces import load_benchmark
from lpzero_sr.spaces.flexibert import VOCAB_SIZE

EXTRA = ["synflow", "logsynflow", "grasp", "jacov", "jacob_cos"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="architectures to time (first N ids)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", default=None)
    args = smoke.parse(parser, n=2, batch_size=1, seq_len=8)
    torch.set_num_threads(args.threads)
    bench = load_benchmark("flexibert", args.data_dir)
    batch = make_batch(VOCAB_SIZE, args.batch_size, args.seq_len, seed=0)
    load_start = os.getloadavg()
    rows = []
    start = time.perf_counter()
    for arch in bench.archs[: args.n]:
        t0 = time.perf_counter()
        torch.manual_seed(0)
        model = bench.build(arch)
        t1 = time.perf_counter()
        zero_cost_loss(model(batch), batch, causal=False).backward()
        model.zero_grad(set_to_none=True)
        t2 = time.perf_counter()
        extract_model(model, batch, stats="all", proxies="single", device=args.device)
        t3 = time.perf_counter()
        extract_model(model, batch, stats="none", proxies=EXTRA, device=args.device)
        t4 = time.perf_counter()
        rows.append((t1 - t0, t2 - t1, t3 - t2, t4 - t3))
    total = time.perf_counter() - start
    n = len(rows)
    build, plain, main_pass, extra = (statistics.mean(col) for col in zip(*rows, strict=True))
    per_arch = build + main_pass + extra  # the plain pass is a reference, not part of extraction
    print(
        f"FlexiBERT extraction, {n} architectures, batch {args.batch_size}x{args.seq_len}, "
        f"{args.threads} thread(s), device {args.device}"
    )
    print(
        f"load average (1/5/15 min) at start {load_start[0]:.1f}/{load_start[1]:.1f}/{load_start[2]:.1f}, "
        f"at end {'/'.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    print(
        f"mean seconds per architecture: build {build:.2f}, plain forward+backward {plain:.2f}, "
        f"statistics + single-pass proxies {main_pass:.2f}, extra-pass proxies {extra:.2f}"
    )
    print(
        f"extraction / plain forward+backward: {(main_pass + extra) / plain:.1f}x "
        f"(statistics + single-pass proxies alone: {main_pass / plain:.1f}x)"
    )
    print(f"wall time for {n}: {total / 60:.1f} min (includes the reference passes)")
    print(f"extraction time for all 500 (measured per-architecture mean x 500): {per_arch * 500 / 60:.1f} min")


if __name__ == "__main__":
    main()
