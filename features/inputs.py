"""Inputs without any hub: a tokenizer trained locally and deterministic token batches.

The default corpus is the text of Python's own documentation topics (``pydoc_data.topics``), which ships with
every CPython; users can pass a text file instead, or their own tokenizer or batch.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers


def corpus_text(path: str | Path | None = None) -> str:
    """The text of ``path``, or Python's documentation topics when ``path`` is ``None``."""
    if path is not None:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


@lru_cache(maxsize=8)
def train_tokenizer(vocab_size: int = 4096, path: str | None = None) -> Tokenizer:
    """A BPE tokenizer trained on :func:`corpus_text` (deterministic; about a second on the default corpus)."""
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["[UNK]", "[PAD]"], show_progress=False)
    tokenizer.train_from_iterator(corpus_text(path).split("\n\n"), trainer=trainer)
    return tokenizer


@lru_cache(maxsize=8)
def _token_stream(vocab_size: int, path: str | None) -> torch.Tensor:
    ids = train_tokenizer(vocab_size, path).encode(corpus_text(path)).ids
    return torch.tensor(ids, dtype=torch.long)


def make_batch(
    model_vocab_size: int,
    batch_size: int = 8,
    seq_len: int = 64,
    seed: int = 0,
    tokenizer_vocab_size: int = 4096,
    corpus: str | Path | None = None,
) -> torch.Tensor:
    """``(batch_size, seq_len)`` token ids: random windows of the tokenized corpus, chosen by ``seed``.

    Ids are mapped into ``[0, model_vocab_size)`` by modulo when the model's vocabulary is smaller than the
    tokenizer's, so any model can be fed (zero-cost proxies need realistic token statistics, not meaning).
    """
    stream = _token_stream(tokenizer_vocab_size, None if corpus is None else str(corpus))
    if len(stream) <= seq_len:
        raise ValueError(f"corpus has {len(stream)} tokens, fewer than seq_len={seq_len}")
    gen = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, len(stream) - seq_len, (batch_size,), generator=gen)
    batch = torch.stack([stream[s : s + seq_len] for s in starts.tolist()])
    return batch % model_vocab_size
