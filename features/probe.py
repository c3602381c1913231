"""``Probe``: an identity module that marks a tensor for the hook manager.

Builders written in plain torch call a probe on a tensor that has no module of its own, such as the attention
probabilities: ``probs = self.attn_probs(torch.softmax(scores, -1))``. A forward hook on the probe then sees
the tensor, and nothing about the forward pass is patched.
"""

from __future__ import annotations

import torch
from torch import nn


class Probe(nn.Module):
    """Returns its input unchanged; exists so forward hooks can observe that input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
