"""The settings of one extraction: the zero-cost batch, the initialisation seed and which proxies run.

Light on purpose (no torch): the CLI builds its options from these defaults before any model is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExtractSettings:
    """The batch and init that define one cached extraction."""

    batch_size: int = 4
    seq_len: int = 64
    seed: int = 0
    proxies: str = "all"  # "all"; "single": only proxies without an extra pass (cheap); "extra": only those with one

    def tag(self) -> str:
        suffix = "" if self.proxies == "all" else f"-{self.proxies}"
        return f"b{self.batch_size}-t{self.seq_len}-s{self.seed}{suffix}"
