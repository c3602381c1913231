"""Train the tiny LLaMA parent of the ``tiny-llama-subnets`` space and ``save_pretrained`` it (deterministic).

The parent is a 4-layer LLaMA (hidden 64, 8 query heads in 4 kv groups, intermediate 256, the local BPE
tokenizer's 2048 tokens, tied embeddings) trained from seed 0 on Python's documentation topics with the labelling
schedule of ``lpzero-sr label`` (AdamW, warm-up then cosine), then saved as safetensors (about 1.5 MB).

    python benchmarks/subnet_parent.py --out lpzero_sr/data/tiny_llama_subnets/parent --steps 400

prints the parent's validation loss (the same validation windows as the labels).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import smoke
import torch

from lpzero_sr.labeling import TrainSettings, load_corpus, train_and_evaluate
from lpzero_sr.spaces.llama import VOCAB_SIZE, build_model

PARENT = {
    "family": "llama",
    "num_hidden_layers": 4,
    "hidden_size": 64,
    "num_attention_heads": 8,
    "num_key_value_heads": 4,
    "intermediate_size": 256,
}


def main() -> None:
    """Train the parent for ``--steps`` steps and save it to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="Folder for the saved parent (required, except with --smoke).")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    args = smoke.parse(parser, steps=2, out=smoke.scratch())
    if args.out is None:
        parser.error("--out is required")
    torch.set_num_threads(args.threads)
    settings = TrainSettings(steps=args.steps, warmup=max(1, args.steps // 10), train_seed=0)
    torch.manual_seed(settings.train_seed)
    model = build_model(PARENT)
    loss = train_and_evaluate(model, load_corpus(settings), settings, True, VOCAB_SIZE, torch.device("cpu"))
    model.save_pretrained(args.out)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parent {n_params} parameters, {args.steps} steps: validation loss {loss:.4f}; saved to {args.out}")


if __name__ == "__main__":
    main()
