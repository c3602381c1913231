"""Sub-networks of a trained checkpoint (LoNAS-style): per-layer kept attention heads and MLP channels.

A sub-network keeps, in every decoder layer, some key/value groups of the attention (with grouped-query attention a
group is one kv-head and the query heads that read it; without GQA a group is one head) and some intermediate
channels of the SwiGLU MLP. It is built by slicing the parent's weights: q_proj and o_proj by the kept query heads
(rows / columns), k_proj and v_proj by the kept groups (rows), gate_proj and up_proj by the kept channels (rows),
down_proj by the same channels (columns); embeddings, norms and the LM head are copied. The parent is loaded once
(``from_pretrained``, eager attention) and each candidate is assembled on the ``meta`` device, then given its sliced
tensors, so building one costs the sub-network's memory, not a copy of the parent. Keeping everything reproduces
the parent's outputs exactly.

Which units are kept (``rule`` in the YAML):

- ``magnitude`` (default): the units with the largest squared weight norm in the parent (a group: its q, k, v rows
  and o columns; a channel: its gate and up rows and down column), kept in their original order;
- ``first``: the first k units.

A space is a YAML file::

    name: tiny-llama-subnets      # registry name (default: the file's stem)
    checkpoint: parent            # Hugging Face checkpoint directory, relative to the YAML file or absolute
    heads: [0.25, 0.5, 0.75, 1.0] # per-layer choices of kept groups: fractions of the layer's (floats) or counts (ints)
    mlp: [0.25, 0.5, 0.75, 1.0]   # per-layer choices of kept MLP channels, likewise
    rule: magnitude               # or first
    labels: labels.jsonl          # optional: labelled sub-networks (lpzero-sr label), relative to the YAML file

A config is ``{"heads": [groups kept per layer], "mlp": [channels kept per layer]}`` (counts). Any causal LM whose
layers have Llama-style ``self_attn.{q,k,v,o}_proj`` and ``mlp.{gate,up,down}_proj`` works (Llama, Qwen2, Mistral).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn

from lpzero_sr.errors import ConfigError, DataError
from lpzero_sr.spaces.base import SPACE_FILES, SPACES, Benchmark, choice

RULES = ("magnitude", "first")


@dataclass(frozen=True)
class Keep:
    """Kept unit indices of one layer: query heads, kv groups and MLP channels."""

    heads: torch.Tensor
    groups: torch.Tensor
    channels: torch.Tensor


def _choices(values: Any, field: str, total: int) -> tuple[int, ...]:
    """Per-layer counts from a YAML list of fractions (floats in (0, 1]) or counts (ints in 1..total)."""
    if not isinstance(values, list) or not values:
        raise ConfigError(f"subnet space field {field!r} must be a non-empty list of fractions or counts")
    counts = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"subnet space {field} choice {value!r} is not a number")
        count = value if isinstance(value, int) else round(value * total)
        if isinstance(value, float) and not 0 < value <= 1:
            raise ConfigError(f"subnet space {field} fraction {value} is not in (0, 1]")
        if not 1 <= count <= total:
            raise ConfigError(f"subnet space {field} choice {value} keeps {count} of {total}; must keep 1-{total}")
        counts.append(int(count))
    return tuple(sorted(set(counts)))


class SubnetSpace:
    """Sub-networks of one checkpoint; ``build`` slices the parent (loaded once, lazily)."""

    dataset = ""
    causal = True

    def __init__(
        self,
        name: str,
        checkpoint: Path,
        heads: list[Any],
        mlp: list[Any],
        rule: str = "magnitude",
        labels: Path | None = None,
    ) -> None:
        """Stores the space; the checkpoint is read on first use (:func:`load_subnet_space` checks it at once)."""
        if rule not in RULES:
            raise ConfigError(f"subnet space rule {rule!r} is not one of {list(RULES)}")
        self.name, self.checkpoint, self.rule, self.labels = name, checkpoint, rule, labels
        self._heads, self._mlp = heads, mlp

    @cached_property
    def head_choices(self) -> tuple[int, ...]:
        """Allowed kept kv-group counts per layer."""
        return _choices(self._heads, "heads", self.n_groups)

    @cached_property
    def mlp_choices(self) -> tuple[int, ...]:
        """Allowed kept MLP channel counts per layer."""
        return _choices(self._mlp, "mlp", self.n_channels)

    @property
    def n_layers(self) -> int:
        return int(self.parent_config.num_hidden_layers)

    @property
    def n_heads(self) -> int:
        return int(self.parent_config.num_attention_heads)

    @property
    def n_groups(self) -> int:
        return int(getattr(self.parent_config, "num_key_value_heads", None) or self.n_heads)

    @property
    def n_channels(self) -> int:
        return int(self.parent_config.intermediate_size)

    @cached_property
    def parent_config(self) -> Any:
        from transformers import AutoConfig

        if not (self.checkpoint / "config.json").is_file():
            raise ConfigError(
                f"subnet checkpoint {self.checkpoint} has no config.json (run benchmarks/subnet_parent.py?)"
            )
        return AutoConfig.from_pretrained(self.checkpoint)

    @cached_property
    def fingerprint(self) -> str:
        """What the sub-networks are cut from (the rule, and each checkpoint file's name, size and modification
        time): part of the extraction cache key, so a retrained or replaced parent of the same name is extracted
        anew instead of read from a stale cache."""
        files = sorted(p for p in self.checkpoint.iterdir() if p.is_file())
        stamp = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
        return hashlib.sha256(json.dumps([self.rule, stamp]).encode()).hexdigest()[:16]

    @cached_property
    def parent(self) -> nn.Module:
        """The parent model (eval mode, loaded on first use and kept)."""
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(self.checkpoint, attn_implementation="eager")
        return model.eval()

    @cached_property
    def importance(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer: (group scores, channel scores); larger is more important (``first`` scores by position)."""
        if self.rule == "first":
            order = (-torch.arange(self.n_groups, dtype=torch.float), -torch.arange(self.n_channels, dtype=torch.float))
            return [order] * self.n_layers
        per_group = self.n_heads // self.n_groups
        scores = []
        with torch.no_grad():
            for layer in _layers(self.parent):
                attn, mlp = layer.self_attn, layer.mlp
                head_dim = attn.q_proj.weight.shape[0] // self.n_heads
                q = attn.q_proj.weight.view(self.n_groups, per_group * head_dim, -1).pow(2).sum((1, 2))
                kv = sum(_group_norms(getattr(attn, n).weight, self.n_groups) for n in ("k_proj", "v_proj"))
                o = attn.o_proj.weight.view(-1, self.n_groups, per_group * head_dim).pow(2).sum((0, 2))
                channels = mlp.gate_proj.weight.pow(2).sum(1) + mlp.up_proj.weight.pow(2).sum(1)
                scores.append((q + kv + o, channels + mlp.down_proj.weight.pow(2).sum(0)))
        return scores

    def validate(self, config: dict[str, Any]) -> dict[str, list[int]]:
        """The config with int lists; :class:`ConfigError` on a missing field, a wrong length or a count that is not
        one of the space's choices."""
        clean: dict[str, list[int]] = {}
        for field, allowed in (("heads", self.head_choices), ("mlp", self.mlp_choices)):
            values = config.get(field)
            if not isinstance(values, list) or len(values) != self.n_layers:
                raise ConfigError(f"subnet config {field} must list {self.n_layers} per-layer counts, got {values!r}")
            for index, value in enumerate(values):
                if value not in allowed:
                    raise ConfigError(f"subnet config {field}[{index}]={value!r} is not one of {list(allowed)}")
            clean[field] = [int(v) for v in values]
        return clean

    def keep(self, config: dict[str, Any]) -> list[Keep]:
        """Kept unit indices per layer for ``config`` (sorted, so kept units stay in their parent order)."""
        clean = self.validate(config)
        per_group = self.n_heads // self.n_groups
        kept = []
        for (group_score, channel_score), n_groups, n_channels in zip(
            self.importance, clean["heads"], clean["mlp"], strict=True
        ):
            groups = torch.topk(group_score, n_groups).indices.sort().values
            heads = (groups[:, None] * per_group + torch.arange(per_group)).flatten()
            channels = torch.topk(channel_score, n_channels).indices.sort().values
            kept.append(Keep(heads, groups, channels))
        return kept

    def load(self, data_dir: Path | None = None) -> Benchmark:
        """The labelled sub-networks named by the YAML's ``labels`` (``data_dir`` is ignored)."""
        from lpzero_sr.spaces.labels import labelled_benchmark

        if self.labels is None:
            raise DataError(f"subnet space {self.name!r} has no labels file; label it with lpzero-sr label")
        return labelled_benchmark(self, self.labels, self.validate)

    def build(self, config: dict[str, Any]) -> nn.Module:
        """The sub-network of ``config`` with weights sliced from the parent (train mode, own tensors)."""
        return slice_model(self.parent, self.keep(config))

    def vocab_size(self, config: dict[str, Any]) -> int:
        return int(self.parent_config.vocab_size)

    @property
    def encode(self) -> Callable[[str], list[int]] | None:
        """The checkpoint's own tokenizer when it ships one (a pretrained LLM: labels must use its token ids),
        else ``None``: the local BPE tokenizer the shipped parent was trained with."""
        if not any((self.checkpoint / name).is_file() for name in ("tokenizer.json", "tokenizer.model")):
            return None
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.checkpoint)
        return lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]

    def sample(self, rng: np.random.Generator) -> dict[str, list[int]]:
        return {
            "heads": [choice(rng, self.head_choices) for _ in range(self.n_layers)],
            "mlp": [choice(rng, self.mlp_choices) for _ in range(self.n_layers)],
        }

    def arch_id(self, config: dict[str, Any]) -> str:
        """E.g. ``h4.2-m256.128``: kept groups and MLP channels per layer."""
        clean = self.validate(config)
        return f"h{'.'.join(map(str, clean['heads']))}-m{'.'.join(map(str, clean['mlp']))}"

    def n_params(self, config: dict[str, Any]) -> int:
        """Parameter count of the sub-network computed from the parent's shapes (no model is built)."""
        clean = self.validate(config)
        cfg = self.parent_config
        hidden, head_dim = int(cfg.hidden_size), int(cfg.hidden_size) // self.n_heads
        head_dim = int(getattr(cfg, "head_dim", None) or head_dim)
        attn_bias = bool(getattr(cfg, "attention_bias", False) or cfg.model_type == "qwen2")
        total = int(cfg.vocab_size) * hidden * (1 if cfg.tie_word_embeddings else 2) + hidden
        per_group = self.n_heads // self.n_groups
        for groups, channels in zip(clean["heads"], clean["mlp"], strict=True):
            q, kv = groups * per_group * head_dim, groups * head_dim
            total += 2 * hidden + hidden * (q + 2 * kv) + q * hidden + 3 * hidden * channels
            total += (q + 2 * kv) if attn_bias else 0
            total += hidden if getattr(cfg, "attention_bias", False) else 0  # o_proj bias (Llama only)
        return total


def _group_norms(weight: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Squared Frobenius norm of each of ``n_groups`` equal row blocks of ``weight``."""
    return weight.view(n_groups, -1).pow(2).sum(1)


def _layers(model: nn.Module) -> nn.ModuleList:
    return model.model.layers


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, device="meta")
    layer.weight = nn.Parameter(weight)
    if bias is not None:
        layer.bias = nn.Parameter(bias)
    return layer


def _rows(linear: nn.Linear, index: torch.Tensor, size: int) -> nn.Linear:
    """A Linear keeping the output units ``index`` (each ``size`` rows wide)."""
    rows = (index[:, None] * size + torch.arange(size)).flatten()
    bias = None if linear.bias is None else linear.bias.detach()[rows].clone()
    return _linear(linear.weight.detach()[rows].clone(), bias)


def _cols(linear: nn.Linear, index: torch.Tensor, size: int) -> nn.Linear:
    """A Linear keeping the input units ``index`` (each ``size`` columns wide); the bias is kept whole."""
    cols = (index[:, None] * size + torch.arange(size)).flatten()
    bias = None if linear.bias is None else linear.bias.detach().clone()
    return _linear(linear.weight.detach()[:, cols].clone(), bias)


def slice_model(parent: nn.Module, keep: list[Keep]) -> nn.Module:
    """A model of the parent's class whose layer ``i`` keeps ``keep[i]``'s heads, kv groups and MLP channels.

    Assembled on the meta device, then every parameter and buffer is a copy sliced from the parent (the parent is
    never modified and shares nothing with the result).
    """
    with torch.device("meta"):
        child = type(parent)(parent.config)
    for layer, parent_layer, kept in zip(_layers(child), _layers(parent), keep, strict=True):
        attn, src = layer.self_attn, parent_layer.self_attn
        attn.q_proj = _rows(src.q_proj, kept.heads, attn.head_dim)
        attn.k_proj = _rows(src.k_proj, kept.groups, attn.head_dim)
        attn.v_proj = _rows(src.v_proj, kept.groups, attn.head_dim)
        attn.o_proj = _cols(src.o_proj, kept.heads, attn.head_dim)
        mlp, src_mlp = layer.mlp, parent_layer.mlp
        mlp.gate_proj = _rows(src_mlp.gate_proj, kept.channels, 1)
        mlp.up_proj = _rows(src_mlp.up_proj, kept.channels, 1)
        mlp.down_proj = _cols(src_mlp.down_proj, kept.channels, 1)
    child_params = dict(child.named_parameters(remove_duplicate=False))
    for name, param in parent.named_parameters(remove_duplicate=False):
        if child_params[name].is_meta:
            _set(child, name, nn.Parameter(param.detach().clone()))
    for name, buffer in parent.named_buffers():
        _set(child, name, buffer.clone())
    if parent.config.tie_word_embeddings:
        child.tie_weights()
    return child.train()


def _set(model: nn.Module, name: str, value: torch.Tensor) -> None:
    module_name, _, attr = name.rpartition(".")
    module = model.get_submodule(module_name)
    if isinstance(value, nn.Parameter):
        module.register_parameter(attr, value)
    else:
        module.register_buffer(attr, value, persistent=attr not in module._non_persistent_buffers_set)


@SPACE_FILES.register(".yml")
@SPACE_FILES.register(".yaml")
def load_subnet_space(path: str | Path) -> SubnetSpace:
    """A :class:`SubnetSpace` from a YAML file (see the module docstring), its checkpoint and width choices checked
    at once; :class:`ConfigError` with one line on a bad file."""
    space = SubnetSpace(**_read_spec(Path(path)))
    space.head_choices, space.mlp_choices  # noqa: B018 - reads the checkpoint's config and validates the choices
    return space


def _read_spec(path: Path) -> dict[str, Any]:
    """The :class:`SubnetSpace` arguments of a YAML file (paths resolved against the file's folder)."""
    if not path.is_file():
        raise ConfigError(f"subnet space file not found: {path}")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(spec, dict):
        raise ConfigError(f"{path} must be a YAML mapping")
    missing = [key for key in ("checkpoint", "heads", "mlp") if key not in spec]
    if missing:
        raise ConfigError(f"{path} lacks {', '.join(missing)}")
    unknown = sorted(set(spec) - {"name", "checkpoint", "heads", "mlp", "rule", "labels"})
    if unknown:
        raise ConfigError(f"{path} has unknown keys {', '.join(unknown)}")
    return {
        "name": str(spec.get("name", path.stem)),
        "checkpoint": path.parent / str(spec["checkpoint"]),
        "heads": spec["heads"],
        "mlp": spec["mlp"],
        "rule": str(spec.get("rule", "magnitude")),
        "labels": None if spec.get("labels") is None else path.parent / str(spec["labels"]),
    }


def shipped_yaml() -> Path:
    """The YAML of the shipped ``tiny-llama-subnets`` space (package data)."""
    return Path(str(resources.files("lpzero_sr") / "data" / "tiny_llama_subnets" / "space.yaml"))


SPACES.register("tiny-llama-subnets")(SubnetSpace(**_read_spec(shipped_yaml())))
