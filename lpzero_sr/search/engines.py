"""The search backends by name: importing this module registers every engine in :data:`ENGINES`.

Kept apart from :mod:`lpzero_sr.search.engine` (the interface the engines import) so that no module imports its
own importers.
"""

from __future__ import annotations

from lpzero_sr.search import deap_engine, pysr_engine  # noqa: F401  (each registers its engine)
from lpzero_sr.search.engine import ENGINES, Engine, SearchError, pysr_available


def get_engine(name: str) -> Engine:
    """``auto`` picks ``pysr`` when Julia and the pysr package are both present (:func:`pysr_available`), else
    the embedded ``deap``."""
    if name == "auto":
        name = "pysr" if pysr_available() else "deap"
    try:
        return ENGINES.get(name)()
    except KeyError as exc:
        raise SearchError(str(exc.args[0])) from None
