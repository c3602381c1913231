"""Overhead of extraction: (time to extract every bank statistic + every single-pass proxy) / (one plain forward +
backward of the zero-cost loss), on the same GPT-2 model (6 layers, d_model 512, vocab 50257) and batch.

Also prints the cost of each extra-pass proxy (synflow/logsynflow share one pass, jacov/jacob_cos share one, grasp
has its own) as a multiple of the plain forward+backward.

    .venv/bin/python benchmarks/extract_overhead.py [--batch-size 4] [--seq-len 128] [--repeats 3] [--device auto]
"""

from __future__ import annotations

import argparse
import statistics
import time

import smoke
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lpzero_sr.features.extract import extract_model, resolve_device
from lpzero_sr.features.inputs import make_batch
from lpzero_sr.features.loss import logits_of, zero_cost_loss
from lpzero_sr.features.proxies import PROXIES


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _pair(plain, extract, device: torch.device, repeats: int) -> tuple[float, float, float, float]:
    """Medians of wall-clock and process-CPU seconds of ``plain`` and ``extract``, run alternately ``repeats``
    times after one warm-up each, so that load from other processes hits both alike."""
    plain(), extract()
    walls: dict[str, list[float]] = {"plain": [], "extract": []}
    cpus: dict[str, list[float]] = {"plain": [], "extract": []}
    for _ in range(repeats):
        for name, fn in (("plain", plain), ("extract", extract)):
            _sync(device)
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            _sync(device)
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    med = statistics.median
    return med(walls["plain"]), med(walls["extract"]), med(cpus["plain"]), med(cpus["extract"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1: stable timings on a shared machine)")
    args = smoke.parse(parser, batch_size=1, seq_len=8, repeats=1)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    config = GPT2Config(n_layer=6, n_embd=512, n_head=8, vocab_size=50257)
    if args.smoke:
        config = GPT2Config(n_layer=1, n_embd=64, n_head=2, vocab_size=512)
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config).to(device).eval()
    batch = make_batch(config.vocab_size, args.batch_size, args.seq_len, seed=0).to(device)

    def plain() -> None:
        model.zero_grad(set_to_none=True)
        zero_cost_loss(logits_of(model(batch)), batch, causal=True).backward()

    def extract() -> None:
        extract_model(model, batch, stats="all", proxies="single", device=device)

    base, full, base_cpu, full_cpu = _pair(plain, extract, device, args.repeats)
    result = extract_model(model, batch, stats="all", proxies="single", device=device)
    n_stats = len(result.per_layer.columns) - 1
    n_proxies = len([p for _, p in PROXIES.items() if p.extra_pass is None])
    print(
        f"device={device} threads={torch.get_num_threads()} model=GPT-2 6x512 vocab=50257 "
        f"batch={args.batch_size}x{args.seq_len} repeats={args.repeats}"
    )
    print(f"plain forward+backward: {base:.3f} s wall, {base_cpu:.3f} s CPU")
    print(f"extract {n_stats} statistics + {n_proxies} single-pass proxies: {full:.3f} s wall, {full_cpu:.3f} s CPU")
    print(f"overhead ratio: {full / base:.2f} wall, {full_cpu / base_cpu:.2f} CPU time  (goal <= 1.5)")
    laps = result.timings
    top = sorted(((k, v) for k, v in laps.items() if k not in ("pass", "stats")), key=lambda kv: -kv[1])[:5]
    print(
        f"  breakdown: pass {laps['pass']:.3f} s, bank {laps['stats']:.3f} s, slowest proxies "
        + ", ".join(f"{k} {v:.3f} s" for k, v in top)
    )
    passes: dict[str, list[str]] = {}
    for name, proxy in PROXIES.items():
        if proxy.extra_pass:
            passes.setdefault(proxy.extra_pass, []).append(name)
    for extra, names in passes.items():
        laps = extract_model(model, batch, stats=None, proxies=names, device=device).timings
        cost = sum(laps[n] for n in names) / base
        print(f"extra pass {extra!r} ({', '.join(names)}): {cost:.2f} x plain forward+backward")


if __name__ == "__main__":
    main()
