"""Scorer overhead: time of ``scorer(model, batch)`` / time of a plain forward+backward on the same model and batch.

    .venv/bin/python benchmarks/scorer_overhead.py [--proxy runs/quickstart/proxy.json] [--device auto]
        [--batch-size 16] [--seq-len 128] [--repeats 10] [--threads 1] [--smoke]

Goal: ratio <= 1.2. The plain pass is what any gradient-based proxy needs at least: forward, the zero-cost loss,
backward, zero the gradients. Without ``--proxy`` a formula of the shape the search returns is timed (gradient,
activation and weight statistics together, so the forward hooks, the parameter-gradient hooks and the backward
pass are all exercised). Models: the largest tiny-gpt2 architecture and a small GPT-2 (6 x 384). Medians of
``--repeats`` runs of each, alternating, after one warm-up run; the load average is printed so a reader can judge
how shared the CPU was.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import smoke
import torch
from torch import nn

from lpzero_sr.features.extract import resolve_device
from lpzero_sr.features.inputs import make_batch
from lpzero_sr.features.loss import logits_of, zero_cost_loss
from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy
from lpzero_sr.scorer import Scorer
from lpzero_sr.spaces.tiny_gpt2 import VOCAB_SIZE, build_model

DEFAULT_FORMULA = Node.from_tokens(  # log|grad.sqr.mean|*act.abs.std + weight.abs.mean
    ("add", "mul", "log", 0, 1, 2), ["grad.sqr.mean", "act.abs.std", "weight.abs.mean"]
)


def small_gpt2() -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=VOCAB_SIZE, n_positions=256, n_embd=384, n_layer=6, n_head=6, attn_implementation="eager"
    )
    return GPT2LMHeadModel(config)


def timed_pair(
    first: Callable[[], object], second: Callable[[], object], repeats: int, device: torch.device
) -> tuple[float, float]:
    """Median times of ``first`` and ``second``, run alternately (so load changes hit both alike)."""
    first(), second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, sink in ((first, times[0]), (second, times[1])):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            sink.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def plain_pass(model: nn.Module, batch: torch.Tensor) -> None:
    loss = zero_cost_loss(logits_of(model(batch)), batch, causal=True)
    loss.backward()
    model.zero_grad(set_to_none=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy", default=None, help="proxy.json (default: a built-in formula, see the docstring)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = smoke.parse(parser, batch_size=1, seq_len=8, repeats=1)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    proxy = Proxy.load(args.proxy) if args.proxy else Proxy(DEFAULT_FORMULA)
    scorer = Scorer(proxy, device=device)
    print(f"proxy: {proxy.text()}  (features: {', '.join(proxy.features)})")
    print(
        f"device {device}, batch {args.batch_size}x{args.seq_len}, {args.threads} thread(s), "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    models = {
        "tiny-gpt2 L4-E128-H8-I512": lambda: build_model({"n_layer": 4, "n_embd": 128, "n_head": 8, "n_inner": 512}),
        "gpt2 6x384": small_gpt2,
    }
    if args.smoke:
        models = {
            "tiny-gpt2 L1-E32-H1-I32": lambda: build_model({"n_layer": 1, "n_embd": 32, "n_head": 1, "n_inner": 32})
        }
    batch = make_batch(VOCAB_SIZE, args.batch_size, args.seq_len, seed=0).to(device)
    for name, build in models.items():
        torch.manual_seed(0)
        model = build().to(device).eval()
        plain, scored = timed_pair(
            lambda m=model: plain_pass(m, batch), lambda m=model: scorer(m, batch, causal=True), args.repeats, device
        )
        print(
            f"{name:28s} plain fwd+bwd {plain * 1e3:8.1f} ms  scorer {scored * 1e3:8.1f} ms  "
            f"ratio {scored / plain:.3f}  (goal <= 1.2)"
        )


if __name__ == "__main__":
    main()
