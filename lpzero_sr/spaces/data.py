"""Public benchmark files: origin URLs, SHA-256 checks, a cache directory and a local mirror.

``manifest.json`` beside this module lists, per dataset, its on-disk ``folder`` and every file with its path
under that folder, its path in the public repository and its SHA-256 (computed from the unchanged public files).
Dataset names follow the benchmark names (``flexibert``, ``lts-gpt2``, ``nb201``, ``tnb101-micro``, ...); several
datasets may share a folder (the NAS-Bench-Suite-Zero files all live in ``nb_suite_zero/``), so a benchmark
fetches only its own files. :func:`lpzero_sr.spaces.base.dataset_for` maps a benchmark name (``nb201-cifar10``)
to its dataset.
A file is fetched from a local mirror directory when one is given (``--mirror`` or ``LPZERO_SR_MIRROR``; laid out
as ``<mirror>/<folder>/<path>``), otherwise downloaded from ``base_url + remote``; either way it must match its
hash before it is moved into place. A missing file or a bad checksum raises one :class:`DataError` line.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lpzero_sr.errors import DataError
from lpzero_sr.fsutil import FileWriteError, atomic_write_bytes

MIRROR_ENV = "LPZERO_SR_MIRROR"
OFFLINE_HINT = (
    "offline? give --data-dir (or set $LPZERO_SR_DATA) to a copy of the data laid out as <folder>/<file>, or copy "
    "from a local mirror with `lpzero-sr data download NAME --mirror DIR` (or set $LPZERO_SR_MIRROR)"
)
MANIFEST = Path(__file__).with_name("manifest.json")
TIMEOUT_S = 60

Fetch = Callable[[str], bytes]


@dataclass(frozen=True)
class FileSpec:
    path: str  # relative to the dataset folder
    remote: str  # relative to the dataset's base_url
    sha256: str


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    license: str
    origin: str
    base_url: str
    files: tuple[FileSpec, ...]
    folder: str  # directory of the files under a data root or mirror

    def url(self, file: FileSpec) -> str:
        return self.base_url + file.remote


@lru_cache(maxsize=1)
def datasets() -> dict[str, DatasetSpec]:
    """Every dataset in the manifest, by name."""
    raw = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {
        name: DatasetSpec(
            name=name,
            description=d["description"],
            license=d["license"],
            origin=d["origin"],
            base_url=d["base_url"],
            files=tuple(FileSpec(f["path"], f["remote"], f["sha256"]) for f in d["files"]),
            folder=d["folder"],
        )
        for name, d in raw.items()
    }


def get_dataset(name: str) -> DatasetSpec:
    known = datasets()
    if name not in known:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


def dataset_dir(root: str | Path, name: str) -> Path:
    """Where dataset ``name`` lives under the data root ``root``."""
    return Path(root) / get_dataset(name).folder


def sha256_of(data: bytes | Path) -> str:
    if isinstance(data, Path):
        digest = hashlib.sha256()
        with data.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    return hashlib.sha256(data).hexdigest()


def http_get(url: str) -> bytes:
    """Download ``url`` (http(s) or file://); any failure is one :class:`DataError` line."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 - URLs come from the manifest
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"cannot download {url}: {reason}") from exc


def missing_or_stale(spec: DatasetSpec, root: Path) -> list[FileSpec]:
    """Files of ``spec`` absent under ``root/<folder>`` or whose hash differs from the manifest."""
    folder = root / spec.folder
    return [f for f in spec.files if not (folder / f.path).is_file() or sha256_of(folder / f.path) != f.sha256]


def ensure_dataset(
    dataset: str | DatasetSpec,
    root: str | Path,
    mirror: str | Path | None = None,
    fetch: Fetch = http_get,
    force: bool = False,
) -> Path:
    """Make ``root/<folder>`` hold every file of the dataset with its published hash; returns that folder.

    Files already present with the right hash are kept (unless ``force``). ``mirror`` defaults to
    ``$LPZERO_SR_MIRROR``; without a mirror, files are downloaded with ``fetch``.
    """
    spec = get_dataset(dataset) if isinstance(dataset, str) else dataset
    root = Path(root)
    if mirror is None and os.environ.get(MIRROR_ENV):
        mirror = os.environ[MIRROR_ENV]
    todo = list(spec.files) if force else missing_or_stale(spec, root)
    folder = root / spec.folder
    for file in todo:
        if mirror is not None:
            source = Path(mirror) / spec.folder / file.path
            if not source.is_file():
                raise DataError(
                    f"file missing from mirror {mirror}: {spec.folder}/{file.path} (dataset {spec.name}; "
                    f"without --mirror it is downloaded from {spec.url(file)})"
                )
            data = source.read_bytes()
            origin = str(source)
        else:
            origin = spec.url(file)
            try:
                data = fetch(origin)
            except DataError as exc:
                raise DataError(f"{exc}; {OFFLINE_HINT}") from None
        got = sha256_of(data)
        if got != file.sha256:
            raise DataError(
                f"checksum mismatch for {spec.folder}/{file.path} from {origin}: "
                f"expected sha256 {file.sha256}, got {got}"
            )
        _write_atomic(folder / file.path, data)
    return folder


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        atomic_write_bytes(path, data)
    except FileWriteError as exc:
        raise DataError(str(exc)) from None
