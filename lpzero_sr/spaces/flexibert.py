"""FlexiBERT space: 500 heterogeneous encoders with GLUE dev scores (``flexibert/BERT_benchmark.json``).

Model: ELECTRA-small-style embeddings (word/position/token-type of width 128, LayerNorm, a linear projection to
``hidden_size`` when it differs from 128), the encoder layers of :mod:`flexibert_ops` in an ``nn.ModuleList``
named ``layers``, and a token-reconstruction LM head (dense to 128, GELU, LayerNorm, decoder **tied** to the word
embeddings plus its own bias). Vocabulary: BERT's 30522 word pieces. ``forward(input_ids)`` returns logits
``(B, T, 30522)``; the zero-cost loss is CE of those logits against the input ids themselves.

Ground truth: ``scores.glue`` (average GLUE dev score, maximise) and each GLUE task as an extra target column.

``flexibert-electra`` is the same benchmark built the way LPZero and the FlexiBERT proxy authors built it:
``ElectraConfig(nas_config=...)`` kept ELECTRA-small's widths, so every model has hidden size 256 (the 128-wide
embeddings projected to 256) and FFN width 1024 whatever ``hidden_size`` and ``feed_forward_dimension`` say.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from lpzero_sr.errors import ConfigError, DataError
from lpzero_sr.spaces.base import SPACES, Benchmark, choice
from lpzero_sr.spaces.flexibert_ops import FlexiLayer

VOCAB_SIZE = 30522
ELECTRA_HIDDEN = 256  # ELECTRA-small's defaults, which LPZero's ElectraConfig(nas_config=...) kept
ELECTRA_FFN = 1024
EMBEDDING_SIZE = 128
MAX_POSITIONS = 512
TYPE_VOCAB = 2
INIT_STD = 0.02
GLUE_TASKS = ("cola", "mnli", "mrpc", "qnli", "qqp", "rte", "sst", "sts")
# the declared space (search_space.json of the benchmark)
SEARCH_SPACE: dict[str, Any] = {
    "hidden_size": [128, 256],
    "num_encoder_layers": [2, 4],
    "operation_type": ["SA", "LT", "DSC"],
    "num_operation_heads": [2, 4],
    "feed_forward_dimension": [512, 1024],
    "num_feed_forward": [1, 3],
    "SA": ["SDP", "WMA"],
    "LT": ["DFT", "DCT"],
    "DSC": [5, 9],
}


class FlexiBertModel(nn.Module):
    """Heterogeneous encoder with a tied token-reconstruction head; see the module docstring."""

    causal = False

    def __init__(self, hidden_size: int, encoder_layers: list[dict[str, Any]]) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(VOCAB_SIZE, EMBEDDING_SIZE)
        self.position_embeddings = nn.Embedding(MAX_POSITIONS, EMBEDDING_SIZE)
        self.token_type_embeddings = nn.Embedding(TYPE_VOCAB, EMBEDDING_SIZE)
        self.embed_norm = nn.LayerNorm(EMBEDDING_SIZE, eps=1e-12)
        self.embed_proj = nn.Linear(EMBEDDING_SIZE, hidden_size) if hidden_size != EMBEDDING_SIZE else None
        self.layers = nn.ModuleList(FlexiLayer(hidden_size, spec) for spec in encoder_layers)
        self.lm_dense = nn.Linear(hidden_size, EMBEDDING_SIZE)
        self.lm_norm = nn.LayerNorm(EMBEDDING_SIZE, eps=1e-12)
        self.lm_bias = nn.Parameter(torch.zeros(VOCAB_SIZE))
        self.apply(_init_weights)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        t = input_ids.shape[1]
        if t > MAX_POSITIONS:
            raise ValueError(f"sequence length {t} exceeds the {MAX_POSITIONS} position embeddings")
        positions = torch.arange(t, device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)
        x = self.embed_norm(x + self.token_type_embeddings.weight[0])
        if self.embed_proj is not None:
            x = self.embed_proj(x)
        for layer in self.layers:
            x = layer(x)
        h = self.lm_norm(nn.functional.gelu(self.lm_dense(x)))
        return h @ self.word_embeddings.weight.T + self.lm_bias


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Conv1d, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, INIT_STD)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def electra_widths(hidden: int, layers: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """``(hidden, layers)`` at ELECTRA-small's widths: hidden 256, every FFN 1024 wide (the rest unchanged)."""
    return ELECTRA_HIDDEN, [{**layer, "feed_forward_dimension": ELECTRA_FFN} for layer in layers]


def encoder_config(config: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """``(hidden_size, encoder_layers)`` from a benchmark entry, or from that pair given directly."""
    if "hparams" in config:
        config = config["hparams"]["model_hparam_overrides"]
    try:
        return int(config["hidden_size"]), list(config["nas_config"]["encoder_layers"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"FlexiBERT config needs hidden_size and nas_config.encoder_layers (missing {exc})") from exc


class FlexiBertSpace:
    """The registered ``flexibert`` space; with ``widths="electra"`` the ``flexibert-electra`` space (models built
    at ELECTRA-small's widths, :func:`electra_widths`)."""

    dataset = "flexibert"
    causal = False

    def __init__(self, widths: str = "benchmark") -> None:
        if widths not in ("benchmark", "electra"):
            raise ValueError(f"widths must be 'benchmark' or 'electra', got {widths!r}")
        self.widths = widths
        self.name = "flexibert" if widths == "benchmark" else "flexibert-electra"

    def load(self, data_dir: Path) -> Benchmark:
        path = Path(data_dir) / self.dataset / "BERT_benchmark.json"
        if not path.is_file():
            raise DataError(f"FlexiBERT benchmark not found: {path} (run `lpzero-sr data download flexibert`)")
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"cannot parse {path}: {exc}") from exc
        configs, rows = {}, []
        for entry in entries:
            arch = str(entry["id"])
            hidden, layers = encoder_config(entry)
            configs[arch] = {"hidden_size": hidden, "nas_config": {"encoder_layers": layers}}
            rows.append({"arch": arch, **{k: float(v) for k, v in entry["scores"].items()}})
        targets = pd.DataFrame(rows).set_index("arch")[["glue", *GLUE_TASKS]]
        return Benchmark(self.name, configs, targets, "glue", "maximize", space=self)

    def build(self, config: dict[str, Any]) -> nn.Module:
        hidden, layers = encoder_config(config)
        if self.widths == "electra":
            hidden, layers = electra_widths(hidden, layers)
        try:
            return FlexiBertModel(hidden, layers)
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"invalid FlexiBERT config: {exc}") from exc

    def max_positions(self, config: dict[str, Any]) -> int:
        return MAX_POSITIONS

    def vocab_size(self, config: dict[str, Any]) -> int:
        return VOCAB_SIZE

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        layers = []
        for _ in range(choice(rng, SEARCH_SPACE["num_encoder_layers"])):
            op = choice(rng, SEARCH_SPACE["operation_type"])
            layers.append(
                {
                    "operation_type": op,
                    "operation_parameter": choice(rng, SEARCH_SPACE[op]),
                    "num_operation_heads": choice(rng, SEARCH_SPACE["num_operation_heads"]),
                    "feed_forward_dimension": choice(rng, SEARCH_SPACE["feed_forward_dimension"]),
                    "num_feed_forward": choice(rng, SEARCH_SPACE["num_feed_forward"]),
                }
            )
        return {"hidden_size": choice(rng, SEARCH_SPACE["hidden_size"]), "nas_config": {"encoder_layers": layers}}


SPACES.register("flexibert")(FlexiBertSpace())
SPACES.register("flexibert-electra")(FlexiBertSpace(widths="electra"))
