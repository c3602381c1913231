"""A user's own space: Hugging Face config JSONs plus a CSV of scores.

Configs are either a directory of ``<arch>.json`` files (the architecture id is the file stem) or a JSONL file
whose lines are ``{"arch": "<id>", "config": {...}}``. Each config is a Hugging Face config dictionary with a
``model_type`` of ``gpt2``, ``bert``, ``llama`` or ``qwen2``; models are built locally with
``AutoConfig.for_model(...)`` and ``from_config`` (random init, no hub access). Scores are a CSV with an ``arch``
column and a numeric target column (``score`` unless named otherwise); ``direction`` says whether higher or lower
is better.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from lpzero_sr.errors import ConfigError, DataError
from lpzero_sr.spaces.base import Benchmark, choice
from lpzero_sr.table import Direction

CAUSAL_TYPES = ("gpt2", "llama", "qwen2")
MASKED_TYPES = ("bert",)


class GenericSpace:
    """Builds Hugging Face models from config dicts; samples among the configs it was given.

    Encoders and decoders may be mixed: each model is built and fed on its own. ``causal`` is then ``None``
    (each model's hook recipe says whether it is causal) instead of one answer for all."""

    dataset = ""

    def __init__(self, name: str, configs: dict[str, dict[str, Any]]) -> None:
        self.name = name
        self.configs = configs
        types = {model_type(c) for c in configs.values()}
        masked = types & set(MASKED_TYPES)
        self.causal: bool | None = None if masked and types - masked else not masked

    def load(self, data_dir: Path) -> Benchmark:
        raise ConfigError(f"space {self.name!r} is read with load_generic(configs, scores), not from a data dir")

    def build(self, config: dict[str, Any]) -> nn.Module:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM

        family = model_type(config)
        fields = {k: v for k, v in config.items() if k != "model_type"}
        try:
            hf_config = AutoConfig.for_model(family, **fields)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"invalid {family} config: {exc}") from exc
        hf_config._attn_implementation = "eager"
        auto = AutoModelForMaskedLM if family in MASKED_TYPES else AutoModelForCausalLM
        return auto.from_config(hf_config)

    def vocab_size(self, config: dict[str, Any]) -> int:
        from transformers import AutoConfig

        if "vocab_size" in config:
            return int(config["vocab_size"])
        return int(AutoConfig.for_model(model_type(config)).vocab_size)

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return dict(self.configs[choice(rng, sorted(self.configs))])


def model_type(config: dict[str, Any]) -> str:
    """The config's ``model_type`` (one of the supported families), else one :class:`ConfigError` line."""
    model_type = config.get("model_type")
    if model_type not in (*CAUSAL_TYPES, *MASKED_TYPES):
        raise ConfigError(f"model_type must be one of {', '.join((*CAUSAL_TYPES, *MASKED_TYPES))}, got {model_type!r}")
    return str(model_type)


def read_configs(path: str | Path) -> dict[str, dict[str, Any]]:
    """Configs by architecture id from a directory of JSON files or a JSONL file."""
    path = Path(path)
    configs: dict[str, dict[str, Any]] = {}
    try:
        if path.is_dir():
            for file in sorted(path.glob("*.json")):
                configs[file.stem] = json.loads(file.read_text(encoding="utf-8"))
        elif path.is_file():
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                if not isinstance(row, dict) or "arch" not in row or "config" not in row:
                    raise DataError(f"{path}:{number}: each line needs 'arch' and 'config'")
                configs[str(row["arch"])] = row["config"]
        else:
            raise DataError(f"configs not found: {path}")
    except json.JSONDecodeError as exc:
        raise DataError(f"cannot parse configs in {path}: {exc}") from exc
    if not configs:
        raise DataError(f"no configs in {path}")
    return configs


def load_generic(
    configs: str | Path,
    scores: str | Path,
    target: str = "score",
    direction: Direction = "maximize",
    name: str = "generic",
) -> Benchmark:
    """A :class:`Benchmark` from a user's configs and scores CSV (architectures present in both)."""
    table = read_configs(configs)
    scores = Path(scores)
    if not scores.is_file():
        raise DataError(f"scores file not found: {scores}")
    frame = pd.read_csv(scores, dtype={"arch": str})
    for column in ("arch", target):
        if column not in frame.columns:
            raise DataError(f"{scores} has no {column!r} column; columns: {', '.join(map(str, frame.columns))}")
    frame = frame.set_index("arch")
    missing = sorted(set(frame.index) - set(table))
    if missing:
        raise DataError(f"{len(missing)} scored architecture(s) have no config (first: {missing[0]!r})")
    configs_used = {arch: table[arch] for arch in frame.index}
    space = GenericSpace(name, configs_used)
    return Benchmark(name, configs_used, frame.select_dtypes("number"), target, direction, space=space)
