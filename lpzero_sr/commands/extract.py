"""``lpzero-sr extract``: statistics and classic proxies for many architectures, written as resumable tables."""

from __future__ import annotations

import json
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lpzero_sr.commands.interrupt import kept_on_interrupt
from lpzero_sr.commands.options import device_option, extraction_options, runner_options
from lpzero_sr.errors import ConfigError, DataError
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.fsutil import FileWriteError, run_lock
from lpzero_sr.parallel import runner_from_options

if TYPE_CHECKING:  # torch, yaml and the spaces are imported once the arguments are read
    import torch
    from torch import nn

CONFIG_SUFFIXES = (".json", ".yaml", ".yml")


def read_config_files(paths: list[Path]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Configs by architecture id (file stem) from JSON/YAML files and directories of them, and the files that
    cannot be used (a syntax error, not a mapping, an unknown ``model_type``) by id with a message naming the file:
    those become error rows of the extraction, like an architecture that fails to build."""
    import yaml

    from lpzero_sr.spaces.generic import model_type

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(f for f in path.iterdir() if f.suffix in CONFIG_SUFFIXES)
        elif path.is_file():
            _check_config_file(path)
            files.append(path)
        else:
            raise DataError(f"config path not found: {path}")
    configs: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for file in files:
        if file.stem in configs or file.stem in errors:
            raise DataError(f"two configs named {file.stem!r}")
        try:
            text = file.read_text(encoding="utf-8")
            config = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
            if not isinstance(config, dict):
                raise ConfigError("does not hold a config mapping")
            model_type(config)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError, ConfigError) as exc:
            errors[file.stem] = f"{file}: {exc}"
            continue
        configs[file.stem] = config
    if not configs and not errors:
        raise DataError("no config files (.json, .yaml, .yml) given")
    return configs, errors


def _check_config_file(path: Path) -> None:
    """One :class:`DataError` line for a file that is no config file at all (a ``labels.jsonl``, a table)."""
    if path.suffix in CONFIG_SUFFIXES:
        return
    from lpzero_sr.spaces.labels import META_FILE

    meta = path.parent / META_FILE
    if path.suffix == ".jsonl" and meta.is_file():
        try:
            space = json.loads(meta.read_text(encoding="utf-8")).get("space", "SPACE")
        except (OSError, ValueError, AttributeError):
            space = "SPACE"
        raise DataError(
            f"{path} holds the labels of `lpzero-sr label {space}`, not a model config; to fit a proxy to them: "
            f"lpzero-sr fit {space} --labels {path}"
        )
    raise DataError(f"{path} is not a config file (JSON or YAML: {', '.join(CONFIG_SUFFIXES)})")


class _Unusable:
    """The space of config files that could not be read: building one raises its error (an error row)."""

    def __init__(self, space: Any, errors: dict[str, str]) -> None:
        self.space, self.errors = space, errors
        self.name = space.name if space is not None else "configs"

    def build(self, config: dict[str, Any]) -> nn.Module:
        if "__unusable__" in config:
            raise ConfigError(config["__unusable__"])
        return self.space.build(config)

    def vocab_size(self, config: dict[str, Any]) -> int:
        return 2 if "__unusable__" in config else self.space.vocab_size(config)

    def max_positions(self, config: dict[str, Any]) -> int | None:
        from lpzero_sr.spaces.base import positions_limit

        return None if "__unusable__" in config else positions_limit(self.space, config)


def _space(configs: tuple[Path, ...], benchmark: str | None, data_dir: Path | None) -> tuple[list[str], Any, dict]:
    """(architecture ids, space with build/vocab_size, configs by id) for config files or a named benchmark."""
    if bool(configs) == bool(benchmark):
        raise ConfigError("give config files/directories or --benchmark NAME (exactly one of them)")
    if benchmark:
        from lpzero_sr.spaces import load_benchmark

        bench = load_benchmark(benchmark, data_dir)
        if bench.space is None:
            raise ConfigError(f"benchmark {benchmark!r} ships precomputed tables only; it cannot build models")
        return bench.archs, bench.space, bench.configs
    from lpzero_sr.spaces.generic import GenericSpace

    found, errors = read_config_files(list(configs))
    space = GenericSpace("configs", found) if found else None
    by_arch = {**found, **{arch: {"__unusable__": message} for arch, message in errors.items()}}
    return sorted(by_arch), _Unusable(space, errors), by_arch


def families(by_arch: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The ``model_type`` of each readable config (a table records it; a folder may mix families)."""
    return {arch: str(config["model_type"]) for arch, config in by_arch.items() if "__unusable__" not in config}


def _split(value: str) -> str | list[str]:
    return value if value in ("all", "single", "none") else [v.strip() for v in value.split(",") if v.strip()]


@click.command("extract")
@click.argument("configs", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--benchmark",
    help="A registered benchmark (flexibert, lts-gpt2, tiny-gpt2, ...) or a labelled sub-network space YAML instead "
    "of configs.",
)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Data root for --benchmark.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder: records.jsonl, per_arch.parquet, per_layer.parquet, errors.csv.",
)
@click.option("--limit", type=int, help="Only the first N architectures.")
@extraction_options()
@device_option("the models are built and their statistics extracted")
@click.option("--stats", default="all", show_default=True, help="'all', 'none' or comma-separated column names.")
@click.option(
    "--proxies",
    default="all",
    show_default=True,
    help="'all', 'single' (no extra passes), 'none' or comma-separated proxy names.",
)
@runner_options
@click.option("--progress/--no-progress", default=True)
def command(
    configs: tuple[Path, ...],
    benchmark: str | None,
    data_dir: Path | None,
    out_dir: Path,
    limit: int | None,
    extraction: ExtractSettings,
    device: str,
    stats: str,
    proxies: str,
    workers: int | None,
    ray_address: str | None,
    gpus_per_task: float,
    progress: bool,
) -> None:
    """Extract statistics and proxies of every architecture in CONFIGS (HF config JSON/YAML files or folders of
    them) or in --benchmark; reruns reuse records of the same config and settings, recompute the others and retry
    failures, which become rows of errors.csv. --workers/--ray spread architectures over Ray workers (pip install
    'lpzero-sr[ray]'); the table is the same as a serial run's."""
    runner = runner_from_options(workers, ray_address, gpus_per_task)
    archs, space, by_arch = _space(configs, benchmark, data_dir)
    import torch  # torch and the spaces: after the arguments are read

    from lpzero_sr.baselines import extract_inputs
    from lpzero_sr.features.extract import ExtractError, extract_space
    from lpzero_sr.features.inputs import make_batch
    from lpzero_sr.spaces.base import check_seq_len

    archs = archs[:limit] if limit is not None else archs
    check_seq_len(space, {a: by_arch[a] for a in archs if "__unusable__" not in by_arch[a]}, extraction.seq_len)

    def build(arch: str) -> nn.Module:
        torch.manual_seed(extraction.seed)
        return space.build(by_arch[arch])

    def batch(arch: str, model: nn.Module) -> torch.Tensor:
        return make_batch(
            space.vocab_size(by_arch[arch]), extraction.batch_size, extraction.seq_len, seed=extraction.seed
        )

    inputs = extract_inputs(space, extraction)
    kinds = families(by_arch) if configs else None
    if kinds and len(set(kinds.values())) > 1:
        click.echo(
            f"note: the configs mix model families ({_count(kinds)}); each model is extracted on its own and the "
            "tables' model_type column tells them apart (to fit one family, extract its configs into their own --out)"
        )
    with _hold(out_dir), kept_on_interrupt(lambda: _kept(out_dir, len(archs))):
        frame = extract_space(
            archs,
            build,
            batch,
            out_dir,
            stats=_split(stats),
            proxies=_split(proxies),
            device=device,
            progress=progress,
            configs=by_arch,
            inputs=inputs,
            runner=runner,
            families=kinds,
        )
    errors = len(archs) - len(frame)
    click.echo(f"{len(frame)} architectures in {out_dir / 'per_arch.parquet'}, {errors} errors in errors.csv")
    if errors:
        import pandas as pd

        rows = pd.read_csv(out_dir / "errors.csv", dtype=str).fillna("")
        echo_error_rows(dict(zip(rows["arch"], rows["error"], strict=True)), f"in {out_dir / 'errors.csv'}")
    if frame.empty:
        raise ExtractError(f"no architecture was extracted: all {len(archs)} failed ({out_dir / 'errors.csv'})")


def _hold(folder: Path) -> ExitStack:
    """The extraction folder held (:func:`run_lock`) while records are appended; a folder that cannot be written is
    not held, since then nothing is written there (a complete cache is only read; else one error line follows)."""
    stack = ExitStack()
    with suppress(FileWriteError):
        stack.enter_context(run_lock(folder, "extraction"))
    return stack


def _count(kinds: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for kind in kinds.values():
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


MAX_ERROR_LINES = 5


def echo_error_rows(errors: dict[str, str], where: str) -> None:
    """Error rows in short, on stderr: each architecture and the first line of its error, at most
    :data:`MAX_ERROR_LINES` of them (the rest are counted, ``where`` says where they are)."""
    for arch, error in list(errors.items())[:MAX_ERROR_LINES]:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "(no message)"
        click.echo(f"  {arch}: {first[:200]}", err=True)
    if len(errors) > MAX_ERROR_LINES:
        click.echo(f"  ... {len(errors) - MAX_ERROR_LINES} more {where}", err=True)


def _kept(out_dir: Path, total: int) -> str:
    """What an interrupted extraction kept: its records (read back, as a rerun would)."""
    from lpzero_sr.features.cache import RECORDS, read_records

    done = len({r["arch"] for r in read_records(out_dir) if not r.get("error")})
    return (
        f"{done} architecture record(s) kept in {out_dir / RECORDS} (of {total} asked); rerun the same command to "
        "extract the rest"
    )
