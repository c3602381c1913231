"""Tiny models for the features tests: a plain-torch "native" decoder and 2-layer HF configs (no hub)."""

from __future__ import annotations

import math

import pytest
import torch
import transformers
from torch import nn

from lpzero_sr.features.probe import Probe

VOCAB, D, HEADS, FFN, SEQ, LAYERS = 20, 8, 2, 16, 6, 2


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(D, D) for _ in range(4))
        self.attn_probs = Probe()
        self.fc_in, self.fc_out = nn.Linear(D, FFN), nn.Linear(FFN, D)
        self.ffn_act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = (z.view(b, t, HEADS, -1).transpose(1, 2) for z in (self.q_proj(x), self.k_proj(x), self.v_proj(x)))
        scores = q @ k.transpose(-1, -2) / math.sqrt(D // HEADS)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        probs = self.attn_probs(torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1))
        x = x + self.o_proj((probs @ v).transpose(1, 2).reshape(b, t, D))
        return x + self.fc_out(self.ffn_act(self.fc_in(x)))


class TinyNative(nn.Module):
    """The native convention of common.md: ``layers``, q/k/v_proj, ``attn_probs`` probe, ``ffn_act``."""

    causal = True

    def __init__(self) -> None:
        super().__init__()
        self.tok_emb = nn.Embedding(VOCAB, D)
        self.pos_emb = nn.Embedding(SEQ, D)
        self.layers = nn.ModuleList(Block() for _ in range(LAYERS))
        self.head = nn.Linear(D, VOCAB)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.tok_emb(input_ids) + self.pos_emb(torch.arange(input_ids.shape[1]))
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


def native(seed: int = 0, dtype: torch.dtype = torch.float32) -> TinyNative:
    torch.manual_seed(seed)
    return TinyNative().to(dtype)


def hf_model(family: str, seed: int = 0) -> nn.Module:
    """A 2-layer, hidden-32, vocab-100 model of ``family`` (bert, gpt2, llama, qwen2), eager attention."""
    torch.manual_seed(seed)
    common = {"vocab_size": 100}
    if family == "bert":
        config = transformers.BertConfig(
            num_hidden_layers=2, hidden_size=32, num_attention_heads=4, intermediate_size=64, **common
        )
        model_cls = transformers.BertForMaskedLM
    elif family == "gpt2":
        config = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=4, bos_token_id=0, eos_token_id=0, **common)
        model_cls = transformers.GPT2LMHeadModel
    else:
        config_cls, model_cls = {
            "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
            "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        }[family]
        config = config_cls(
            num_hidden_layers=2,
            hidden_size=32,
            num_attention_heads=4,
            num_key_value_heads=2,
            intermediate_size=64,
            **common,
        )
    config._attn_implementation = "eager"
    return model_cls(config).eval()


@pytest.fixture
def ids() -> torch.Tensor:
    return torch.randint(0, VOCAB, (3, SEQ), generator=torch.Generator().manual_seed(1))
