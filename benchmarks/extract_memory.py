"""Memory of a long extraction: resident set size (RSS) after each of 20 architectures extracted in one process
by :func:`extract_space` (every statistic and every proxy, extra passes included). The RSS should not grow with
the number extracted: the script prints the RSS before each architecture is built, the peak RSS, and the slope of
a least-squares line through the RSS of architectures 5-20 (the first ones warm up allocator and caches).

    .venv/bin/python benchmarks/extract_memory.py [--archs 20] [--device auto] [--batch-size 4] [--seq-len 64]
"""

from __future__ import annotations

import argparse
import resource
import tempfile

import numpy as np
import smoke
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lpzero_sr.features.extract import extract_space
from lpzero_sr.features.inputs import make_batch

SHAPES = [(2, 64), (4, 128), (3, 96), (6, 128)]  # (layers, width), cycled over the architectures
VOCAB = 2000


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=64)
    args = smoke.parse(parser, archs=6, batch_size=1, seq_len=8)
    rss: list[float] = []

    def build(arch: str) -> torch.nn.Module:
        rss.append(_rss_mb())
        print(f"before arch {len(rss):2d}: RSS {rss[-1]:7.1f} MB")
        layers, width = SHAPES[int(arch) % len(SHAPES)]
        torch.manual_seed(int(arch))
        config = GPT2Config(n_layer=layers, n_embd=width, n_head=4, vocab_size=VOCAB, bos_token_id=0, eos_token_id=0)
        config._attn_implementation = "eager"
        return GPT2LMHeadModel(config)

    def batch(arch: str, model: torch.nn.Module) -> torch.Tensor:
        return make_batch(VOCAB, args.batch_size, args.seq_len, seed=0)

    with tempfile.TemporaryDirectory() as out:
        extract_space([str(i) for i in range(args.archs)], build, batch, out, device=args.device, progress=False)
    rss.append(_rss_mb())
    print(f"after the last arch: RSS {rss[-1]:7.1f} MB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tail = np.array(rss[4:])
    slope = np.polyfit(np.arange(len(tail)), tail, 1)[0]
    print(f"peak RSS {peak:.1f} MB; RSS slope over archs 5-{args.archs}: {slope:+.2f} MB per architecture")


if __name__ == "__main__":
    main()
