"""Search checkpoints as data: one JSON file per engine in the checkpoint folder, replaced atomically.

A checkpoint holds the population's formulas as token lists, the random generator's state as numbers, the counters,
the best formula per size and the outcome cache (numeric arrays, base64 of their little-endian bytes). Nothing in it
is code: it is read with :func:`json.loads` and checked field by field, never unpickled, so a checkpoint folder from
elsewhere cannot run anything. A folder that still holds a checkpoint of the old pickle format (``*_state.pkl``) is
refused with one line, unread. Writes go through :func:`lpzero_sr.fsutil.atomic_write_text` (a full disk leaves the
previous checkpoint and no temporary file). A checkpoint records what it was made for (features, architectures,
rule set, loss, seed, ...); resuming a different search is refused with one line naming what differs.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from lpzero_sr.fsutil import atomic_write_text
from lpzero_sr.search.engine import SearchError

FORMAT = 3  # 3: JSON data (2 was a pickle)
DTYPES = {"uint64": np.dtype("<u8"), "float64": np.dtype("<f8"), "int32": np.dtype("<i4")}


def path(directory: Path, engine: str) -> Path:
    return Path(directory) / f"{engine}_state.json"


def encode_array(values: np.ndarray, dtype: str) -> dict[str, Any]:
    """A numeric array as JSON data: its dtype, shape and base64 little-endian bytes."""
    array = np.ascontiguousarray(values, dtype=DTYPES[dtype])
    return {"dtype": dtype, "shape": list(array.shape), "data": base64.b64encode(array.tobytes()).decode("ascii")}


def decode_array(data: Any, where: str) -> np.ndarray:
    """The array of :func:`encode_array`; any defect raises :class:`SearchError` naming ``where``."""
    try:
        dtype = DTYPES[data["dtype"]]
        shape = tuple(int(s) for s in data["shape"])
        array = np.frombuffer(base64.b64decode(data["data"], validate=True), dtype=dtype)
        return array.reshape(shape).astype(dtype.newbyteorder("="))
    except (KeyError, TypeError, ValueError) as exc:
        raise SearchError(f"checkpoint {where} is damaged ({type(exc).__name__}); delete it to start afresh") from None


def save(directory: Path, engine: str, key: dict[str, Any], state: dict[str, Any]) -> Path:
    """Write ``state`` (JSON data) for the search identified by ``key``, replacing the previous checkpoint."""
    text = json.dumps({"format": FORMAT, "key": key, "state": state}, allow_nan=False, separators=(",", ":"))
    return atomic_write_text(path(directory, engine), text)


def load(directory: Path, engine: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The saved state of the same search, ``None`` when the folder holds none yet."""
    directory = Path(directory)
    old = sorted(p.name for p in directory.glob("*_state.pkl")) if directory.is_dir() else []
    if old:
        raise SearchError(
            f"{directory} holds a checkpoint in the old pickle format ({old[0]}), which is never loaded: "
            "delete it, or choose another --checkpoint folder"
        )
    file = path(directory, engine)
    if not file.is_file():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SearchError(f"cannot read checkpoint {file}: {type(exc).__name__}; delete it to start afresh") from None
    if not isinstance(data, dict) or not isinstance(data.get("state"), dict) or not isinstance(data.get("key"), dict):
        raise SearchError(f"checkpoint {file} is damaged; delete it to start afresh")
    if data.get("format") != FORMAT:
        raise SearchError(f"checkpoint {file} has format {data.get('format')}, expected {FORMAT}")
    expected = json.loads(json.dumps(key))
    if data["key"] != expected:
        diff = sorted(k for k in expected if data["key"].get(k) != expected[k])
        raise SearchError(f"checkpoint {file} belongs to a different search (differs in: {', '.join(diff)})")
    return data["state"]
