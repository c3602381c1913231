"""The zero-cost loss: next-token cross-entropy for decoders, token-reconstruction cross-entropy for encoders."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lpzero_sr.errors import LpzeroError


def logits_of(output: Any) -> torch.Tensor:
    """The logits tensor of a model output: the tensor itself, ``output.logits``, or ``output[0]``."""
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if logits is None and isinstance(output, (tuple, list)) and output:
        logits = output[0]
    if not isinstance(logits, torch.Tensor):
        raise LpzeroError(f"model output {type(output).__name__} has no logits tensor")
    return logits


def zero_cost_loss(logits: torch.Tensor, input_ids: torch.Tensor, causal: bool) -> torch.Tensor:
    """Mean cross-entropy of ``logits`` (B, T, V) against ``input_ids`` (B, T).

    Causal models predict token t+1 from position t; encoders reconstruct the token at each position.
    """
    if logits.dim() != 3 or logits.shape[:2] != input_ids.shape:
        raise LpzeroError(f"logits of shape {tuple(logits.shape)} do not match input ids {tuple(input_ids.shape)}")
    if causal:
        logits, input_ids = logits[:, :-1], input_ids[:, 1:]
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), input_ids.reshape(-1))
