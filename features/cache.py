"""The extraction cache: ``records.jsonl`` lines keyed by content, and the tables materialised from them.

Each record carries ``key``, the SHA-256 of everything its values depend on (:func:`extract_key`): the
architecture's config, every extraction setting and the feature-bank and package versions. A record is reused
only when its key is the one asked for and it holds no error, so a rerun with another sequence length or seed, or
after a config edit or an upgrade, recomputes instead of returning stale statistics; records without a key (an
older format) never match. The file is append-only, so the newest record of an architecture wins.

A torn line (a crash mid-write) is skipped with one warning; appending first completes the torn line with a
newline so later records stay readable. Tables are built in memory and written (atomically) only when their
bytes change and the folder is writable, so reading a complete cache writes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import pandas as pd

import lpzero_sr
from lpzero_sr.errors import LpzeroError
from lpzero_sr.features.bank import BANK_VERSION
from lpzero_sr.fsutil import atomic_write_bytes

log = logging.getLogger(__name__)
RECORDS = "records.jsonl"
FAMILY = "model_type"  # the text column naming each architecture's model family, where a table records it
Record = dict[str, Any]


class CacheError(LpzeroError):
    """An extraction folder that cannot be written although architectures remain to be extracted."""


def extract_key(config: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``config`` and ``settings`` as canonical JSON (sorted keys, no spaces) together with
    the feature-bank and package versions: the identity of one architecture's extraction."""
    content = {
        "config": config,
        "settings": settings,
        "version": f"bank{BANK_VERSION}+lpzero-sr{lpzero_sr.__version__}",
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_records(out_dir: str | Path) -> list[Record]:
    """The records of ``out_dir/records.jsonl`` in file order; an undecodable line is skipped with a warning
    naming the file and line number."""
    path = Path(out_dir) / RECORDS
    if not path.exists():
        return []
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if not isinstance(record, dict) or "arch" not in record:
                log.warning("%s line %d is not a complete record (torn write?); ignored", path, number)
                continue
            records.append(record)
    return records


def current(records: Iterable[Record], keys: Mapping[str, str]) -> dict[str, Record]:
    """The newest record of each architecture in ``keys`` whose key matches (error rows included)."""
    latest: dict[str, Record] = {}
    for record in records:
        arch = str(record["arch"])
        if arch in keys and record.get("key") == keys[arch]:
            latest[arch] = record
    return latest


def to_do(records: Iterable[Record], keys: Mapping[str, str]) -> list[str]:
    """Architectures of ``keys`` (in order) without a current, error-free record."""
    done = {arch for arch, record in current(records, keys).items() if not record.get("error")}
    return [arch for arch in keys if arch not in done]


def open_for_append(out_dir: str | Path) -> IO[str]:
    """``records.jsonl`` opened for appending (folder created; a torn last line is completed with a newline);
    :class:`CacheError` with one line when the folder cannot be written."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not os.access(out, os.W_OK):
            raise PermissionError(13, "Permission denied")
        handle = (out / RECORDS).open("a+", encoding="utf-8")
    except OSError as exc:
        raise CacheError(f"cannot write the extraction cache {out}: {exc.strerror or exc}") from None
    if handle.tell() > 0:
        handle.seek(handle.tell() - 1)
        last = handle.read(1)
        if last != "\n":
            handle.write("\n")
    return handle


def append(handle: IO[str], record: Record) -> None:
    """Appends one record as a line and flushes it to the OS, so a killed process loses no finished record."""
    handle.write(json.dumps(record) + "\n")
    handle.flush()


def frames(
    records: Mapping[str, Record], families: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(per-architecture, per-layer, errors) frames of ``records`` (by architecture, in that order); with
    ``families`` (by architecture) the first two get a ``model_type`` text column after ``arch``."""
    arch_rows, layer_frames, errors = [], [], []
    for arch, record in records.items():
        if record.get("error"):
            errors.append({"arch": arch, "error": record["error"]})
            continue
        family = {FAMILY: families.get(arch, "")} if families is not None else {}
        arch_rows.append({"arch": arch, **family, **record["per_arch"]})
        frame = pd.DataFrame(record["per_layer"])
        for position, (column, value) in enumerate({"arch": arch, **family}.items()):
            frame.insert(position, column, value)
        layer_frames.append(frame)
    per_arch = pd.DataFrame(arch_rows, columns=["arch"] if not arch_rows else None)
    per_layer = pd.concat(layer_frames, ignore_index=True) if layer_frames else pd.DataFrame(columns=["arch", "layer"])
    return per_arch, per_layer, pd.DataFrame(errors, columns=["arch", "error"])


def materialise(
    out_dir: str | Path,
    keys: Mapping[str, str],
    records: Iterable[Record] | None = None,
    families: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The per-architecture frame of the current records of ``keys``; writes ``per_arch.parquet``,
    ``per_layer.parquet`` and ``errors.csv`` where their content changed and the folder is writable (``families``:
    see :func:`frames`)."""
    out = Path(out_dir)
    chosen = current(read_records(out) if records is None else records, keys)
    per_arch, per_layer, errors = frames({arch: chosen[arch] for arch in keys if arch in chosen}, families)
    if out.is_dir() and os.access(out, os.W_OK):
        _write_if_changed(out / "per_arch.parquet", per_arch.to_parquet(index=False))
        _write_if_changed(out / "per_layer.parquet", per_layer.to_parquet(index=False))
        text = io.StringIO()
        errors.to_csv(text, index=False)
        _write_if_changed(out / "errors.csv", text.getvalue().encode("utf-8"))
    return per_arch


def _write_if_changed(path: Path, content: bytes) -> None:
    """Writes ``content`` to ``path`` atomically (:func:`lpzero_sr.fsutil.atomic_write_bytes`), unless ``path``
    holds it already."""
    if path.exists() and path.read_bytes() == content:
        return
    atomic_write_bytes(path, content)
