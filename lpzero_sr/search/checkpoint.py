"""Search checkpoints: one pickle per engine in the checkpoint directory, written atomically every generation.

A checkpoint records what it was made for (engine, features, rule set, loss, seed); resuming with a
different set-up is refused with one clear line instead of silently mixing two searches.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from lpzero_sr.search.engine import SearchError

FORMAT = 2  # 2: the evaluation cache is part of the state; rule sets are keyed by content


def _path(directory: Path, engine: str) -> Path:
    return Path(directory) / f"{engine}_state.pkl"


def save(directory: Path, engine: str, key: dict[str, Any], state: dict[str, Any]) -> Path:
    """Write ``state`` for the search identified by ``key`` (replaces the previous checkpoint atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = _path(directory, engine)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump({"format": FORMAT, "key": key, "state": state}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return path


def load(directory: Path, engine: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The saved state of the same search, ``None`` when there is no checkpoint yet.

    Checkpoints are pickles: only resume from directories you wrote yourself.
    """
    path = _path(Path(directory), engine)
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            data = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        raise SearchError(f"cannot read checkpoint {path}: {exc}") from exc
    if data.get("format") != FORMAT:
        raise SearchError(f"checkpoint {path} has format {data.get('format')}, expected {FORMAT}")
    if data["key"] != key:
        diff = sorted(k for k in key if data["key"].get(k) != key[k])
        raise SearchError(f"checkpoint {path} belongs to a different search (differs in: {', '.join(diff)})")
    return data["state"]
