"""lpzero-sr: discover zero-cost proxies for language-model NAS by symbolic regression."""

from typing import Any

from lpzero_sr.errors import LpzeroError

__all__ = ["FitSettings", "LpzeroError", "ProxySearch", "Scorer", "SearchSettings", "StatTable"]
__version__ = "0.1.0"


_LAZY = {
    "FitSettings": "lpzero_sr.settings",
    "ProxySearch": "lpzero_sr.estimator",
    "Scorer": "lpzero_sr.scorer",
    "SearchSettings": "lpzero_sr.settings",
    "StatTable": "lpzero_sr.table",
}


def __getattr__(name: str) -> Any:
    """The public classes are imported on first use (they pull in torch, pandas, scipy or scikit-learn)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'lpzero_sr' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
