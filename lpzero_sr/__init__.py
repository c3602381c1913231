"""lpzero-sr: discover zero-cost proxies for language-model NAS by symbolic regression."""

from lpzero_sr.errors import LpzeroError
from lpzero_sr.table import StatTable

__all__ = ["LpzeroError", "StatTable"]
__version__ = "0.1.0"
