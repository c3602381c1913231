"""``--device auto|cpu|cuda`` -> a ``torch.device``."""

from __future__ import annotations

import torch

from lpzero_sr.errors import LpzeroError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when available, else CPU; asking for CUDA without one is an error."""
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise LpzeroError(f"unknown device {name!r}; use auto, cpu or cuda")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise LpzeroError(f"device {name!r} asked for but CUDA is not available")
    return torch.device(name)
