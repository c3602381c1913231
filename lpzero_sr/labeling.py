"""Label a search space: sample architectures, train each briefly on a local corpus, record validation loss.

The corpus (Python's documentation topics, or a user's text file) is tokenized with the local BPE tokenizer and
split once: the first ``1 - val_frac`` of the tokens train, the rest validate. Each architecture is trained once per
training seed (initialisation and batches come from that seed, so a label is reproducible); results are appended to
``labels.jsonl`` one line per (architecture, training seed), and a rerun skips the pairs already there, so seeds can
be added to a finished run (:mod:`lpzero_sr.spaces.labels` reads the files back). Decoders (``space.causal``) learn
next-token prediction; encoders learn to recover 15% masked tokens.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the usual alias
from tqdm import tqdm

from lpzero_sr.errors import DataError, LpzeroError
from lpzero_sr.features.inputs import corpus_text, train_tokenizer
from lpzero_sr.fsutil import atomic_write_text
from lpzero_sr.spaces.base import Space, arch_namer
from lpzero_sr.spaces.labels import LABELS_FILE, META_FILE, meta_seeds, read_jsonl

MASK_RATE = 0.15
MASK_ID = 1  # the tokenizer's "[PAD]"; never a real token, so it doubles as the mask token


@dataclass(frozen=True)
class TrainSettings:
    """How each architecture is trained and evaluated (stored in ``meta.json``; a resume must match, except for
    ``train_seed``: ``meta.json`` lists every training seed used as ``train_seeds``)."""

    steps: int = 200
    batch_size: int = 16
    seq_len: int = 64
    lr: float = 2e-3
    warmup: int = 20
    weight_decay: float = 0.01
    val_frac: float = 0.1
    tokenizer_vocab: int = 2048
    train_seed: int = 0


@dataclass(frozen=True)
class Corpus:
    """Token ids of the training and validation parts of the corpus."""

    train: torch.Tensor
    val: torch.Tensor


def load_corpus(
    settings: TrainSettings, path: str | Path | None = None, encode: Callable[[str], list[int]] | None = None
) -> Corpus:
    """Tokenize :func:`corpus_text` (with ``encode``, e.g. a pretrained checkpoint's tokenizer, else the local BPE
    tokenizer) and split it; :class:`DataError` if either part is shorter than a window."""
    text_path = None if path is None else str(path)
    if text_path is not None and not Path(text_path).is_file():
        raise DataError(f"corpus file not found: {text_path}")
    text = corpus_text(text_path)
    ids = torch.tensor(
        encode(text) if encode else train_tokenizer(settings.tokenizer_vocab, text_path).encode(text).ids
    )
    n_val = int(len(ids) * settings.val_frac)
    train, val = ids[: len(ids) - n_val], ids[len(ids) - n_val :]
    if min(len(train), len(val)) <= settings.seq_len:
        raise DataError(
            f"corpus has {len(ids)} tokens: too few for windows of {settings.seq_len} in both train and validation"
        )
    return Corpus(train, val)


def lr_factor(step: int, settings: TrainSettings) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to zero at ``steps``."""
    if step < settings.warmup:
        return (step + 1) / settings.warmup
    progress = (step - settings.warmup) / max(1, settings.steps - settings.warmup)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def lm_loss(model: nn.Module, ids: torch.Tensor, causal: bool, generator: torch.Generator) -> torch.Tensor:
    """Next-token cross-entropy (``causal``) or cross-entropy on 15% masked positions (encoders)."""
    if causal:
        logits = _logits(model(ids))
        return F.cross_entropy(logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten())
    mask = torch.rand(ids.shape, generator=generator) < MASK_RATE
    mask[:, 0] |= ~mask.any(dim=1)  # at least one masked token per row
    mask = mask.to(ids.device)
    logits = _logits(model(ids.masked_fill(mask, MASK_ID)))
    return F.cross_entropy(logits[mask], ids[mask])


def train_and_evaluate(
    model: nn.Module, corpus: Corpus, settings: TrainSettings, causal: bool, vocab: int, device: torch.device
) -> float:
    """Train ``model`` for ``settings.steps`` AdamW steps; return its mean loss on every validation window.

    Token ids are taken modulo ``vocab`` (the model's vocabulary) when the tokenizer's is larger.
    """
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_factor(step, settings))
    gen = torch.Generator().manual_seed(settings.train_seed)
    for _ in range(settings.steps):
        starts = torch.randint(0, len(corpus.train) - settings.seq_len, (settings.batch_size,), generator=gen)
        batch = torch.stack([corpus.train[s : s + settings.seq_len] for s in starts.tolist()]) % vocab
        loss = lm_loss(model, batch.to(device), causal, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    return evaluate(model, corpus.val, settings, causal, vocab, device)


@torch.no_grad()
def evaluate(
    model: nn.Module, val: torch.Tensor, settings: TrainSettings, causal: bool, vocab: int, device: torch.device
) -> float:
    """Mean loss over the non-overlapping ``seq_len`` windows of ``val`` (masks drawn from a fixed seed)."""
    model.eval()
    n_windows = len(val) // settings.seq_len
    windows = val[: n_windows * settings.seq_len].view(n_windows, settings.seq_len) % vocab
    gen = torch.Generator().manual_seed(0)
    losses = [lm_loss(model, chunk.to(device), causal, gen).item() for chunk in windows.split(64)]
    return float(sum(losses) / len(losses))


def sample_distinct(space: Space, n: int, seed: int, max_tries: int = 100) -> list[dict[str, Any]]:
    """``n`` distinct configs from ``space.sample`` with one generator seeded by ``seed`` (a larger ``n`` extends
    a smaller one); :class:`LpzeroError` when the space yields too few distinct configs."""
    rng = np.random.default_rng(seed)
    name = arch_namer(space)
    picked: dict[str, dict[str, Any]] = {}
    for _ in range(n * max_tries):
        if len(picked) == n:
            break
        config = space.sample(rng)
        picked.setdefault(name(config), config)
    if len(picked) < n:
        raise LpzeroError(f"space {space.name!r} gave only {len(picked)} distinct architectures of {n} asked")
    return list(picked.values())


def label_space(
    space: Space,
    n: int,
    out_dir: str | Path,
    seed: int = 0,
    settings: TrainSettings | None = None,
    corpus: str | Path | None = None,
    device: torch.device | str = "cpu",
    threads: int | None = None,
    progress: bool = True,
    train_seeds: Sequence[int] | None = None,
) -> Path:
    """Label ``n`` architectures sampled with ``seed``, each trained once per seed of ``train_seeds`` (default:
    ``settings.train_seed`` alone), into ``out_dir/labels.jsonl``; returns that path.

    A space with an ``encode(text) -> ids`` method (a checkpoint with its own tokenizer) tokenizes the corpus
    itself. Resumable per (architecture, training seed): pairs already in the file are skipped. A rerun must use
    the same settings; ``n`` may grow (samples with the same seed extend) and training seeds may be added. A failing
    architecture is recorded with its error.
    """
    settings = settings or TrainSettings()
    seeds = sorted(set(train_seeds if train_seeds is not None else [settings.train_seed]))
    if not seeds:
        raise LpzeroError("give at least one training seed")
    if threads is not None:
        torch.set_num_threads(threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    common = {k: v for k, v in asdict(settings).items() if k != "train_seed"}
    meta = {"space": space.name, "seed": seed, "corpus": None if corpus is None else str(corpus), **common}
    default_seed = _update_meta(out / META_FILE, meta, seeds)
    labels_path = out / LABELS_FILE
    done = {(row["arch"], row.get("train_seed", default_seed)) for row in read_jsonl(labels_path)}
    corpus_ids = load_corpus(settings, corpus, getattr(space, "encode", None))
    name = arch_namer(space)
    todo = [(c, s) for c in sample_distinct(space, n, seed) for s in seeds if (name(c), s) not in done]
    device = torch.device(device)
    with labels_path.open("a", encoding="utf-8") as sink, tqdm(todo, desc="label", disable=not progress) as bar:
        for config, train_seed in bar:
            row = _label_one(space, config, corpus_ids, replace(settings, train_seed=train_seed), device)
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            bar.set_postfix(arch=row["arch"], seed=train_seed, val_loss=row.get("val_loss"))
    return labels_path


def _label_one(
    space: Space, config: dict[str, Any], corpus: Corpus, settings: TrainSettings, device: torch.device
) -> dict[str, Any]:
    row: dict[str, Any] = {"arch": arch_namer(space)(config), "config": config, "train_seed": settings.train_seed}
    torch.manual_seed(settings.train_seed)
    start = time.perf_counter()
    try:
        model = space.build(config)
        row["n_params"] = sum(p.numel() for p in model.parameters())
        vocab = space.vocab_size(config)
        row["val_loss"] = train_and_evaluate(model, corpus, settings, space.causal, vocab, device)
    except (LpzeroError, RuntimeError, ValueError) as exc:  # one bad architecture (invalid config, OOM) is recorded
        row["error"] = f"{type(exc).__name__}: {exc}"
    row["train_seconds"] = round(time.perf_counter() - start, 3)
    return row


def _update_meta(path: Path, meta: dict[str, Any], seeds: list[int]) -> int:
    """Checks ``meta`` against an existing ``meta.json`` (training seeds may differ), then writes it with the union
    of training seeds; returns the seed of lines written without ``train_seed`` (the file's first seed)."""
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        old_seeds = meta_seeds(path)
        old = {k: v for k, v in old.items() if k not in ("train_seed", "train_seeds")}
        diff = sorted(k for k in meta.keys() | old.keys() if old.get(k) != meta.get(k))
        if diff:
            raise LpzeroError(f"{path.parent} was labelled with other settings ({', '.join(diff)}); use another --out")
    else:
        old_seeds = seeds
    atomic_write_text(path, json.dumps({**meta, "train_seeds": sorted({*old_seeds, *seeds})}, indent=1) + "\n")
    return old_seeds[0]


def _logits(output: Any) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.logits
