"""``lpzero-sr score PROXY``: score architectures (built from configs) or the rows of a table with a proxy.

PROXY is a ``proxy.json``, a fit run directory, or a ``front.json``; ``--member N`` takes member N of the front
instead of the chosen one. Three sources of what to score:

* ``--benchmark NAME [--archs ...]``: architectures of a registered benchmark, built and scored by the
  :class:`~lpzero_sr.scorer.Scorer`; the ground truth and the rank correlation are printed too;
* ``--config FILE ...``: config files, of ``--benchmark``'s space, or plain Hugging Face configs (JSON/YAML with a
  ``model_type``) as ``extract`` reads them;
* ``--table TABLE``: the rows of a statistics table (a file with ``--target``, or a benchmark name such as
  ``nb201-cifar100``) that holds the proxy's columns: no model is built; rho/tau are printed when it has a target.

The ranking is printed best first. ``--workers N`` / ``--ray [auto|ADDRESS]`` score one architecture per Ray task
(:mod:`lpzero_sr.parallel`); the scores are the same as in-process.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lpzero_sr.commands.extract import echo_error_rows, read_config_files
from lpzero_sr.commands.interrupt import nothing_kept
from lpzero_sr.commands.options import BENCHMARKS, device_option, extraction_options, runner_options
from lpzero_sr.errors import ConfigError
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.fsutil import atomic_write_text
from lpzero_sr.parallel import map_archs, runner_from_options

if TYPE_CHECKING:  # numpy, pandas, torch and the spaces are imported once the arguments are read
    import pandas as pd

    from lpzero_sr.proxy import Proxy

log = logging.getLogger(__name__)


def read_config(path: Path) -> dict[str, Any]:
    """An architecture config from a JSON or YAML file (a mapping)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML is a superset of JSON
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} is not a mapping of architecture fields")
    return data


@click.command("score")
@click.argument("proxy", type=click.Path(path_type=Path))
@click.option("--member", type=click.IntRange(min=0), help="Front member N instead of the chosen proxy.")
@click.option(
    "--benchmark",
    help="Benchmark (or sub-network space YAML) whose architectures (or whose space, with --config) are scored.",
)
@click.option("--archs", default=None, help="Comma-separated architecture ids of the benchmark (default: all).")
@click.option(
    "--config",
    "config_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Architecture config file (JSON/YAML) or a folder of them: of --benchmark's space, or Hugging Face configs; "
    "repeatable.",
)
@click.option("--table", "table_spec", help="Score the rows of this table (file or benchmark name) instead.")
@click.option("--target", help="Target column of a --table file.")
@click.option("--maximize/--minimize", default=True, help="Direction of --target.")
@extraction_options()
@runner_options
@device_option("the models are built and scored")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the scores as CSV.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Benchmark data root.")
@nothing_kept("the ranking is printed, and written with --out, at the end")
def command(
    proxy: Path,
    member: int | None,
    benchmark: str | None,
    archs: str | None,
    config_files: tuple[Path, ...],
    table_spec: str | None,
    target: str | None,
    maximize: bool,
    extraction: ExtractSettings,
    workers: int | None,
    ray_address: str | None,
    gpus_per_task: float,
    device: str,
    out: Path | None,
    data_dir: Path | None,
) -> None:
    """Score architectures or table rows with PROXY (proxy.json, a fit run dir or front.json); higher is better."""
    from lpzero_sr.rundir import load_proxy

    chosen_proxy = load_proxy(proxy, member)
    if sum(map(bool, (table_spec, config_files, benchmark and not config_files))) != 1:
        raise ConfigError("give exactly one of --table, --config FILE... or --benchmark NAME")
    warn_if_fitted_elsewhere(chosen_proxy, table_spec or benchmark)
    truth, direction, unusable = None, "maximize", {}
    if table_spec:
        from lpzero_sr.table_sources import resolve_table  # refuses a missing file before pandas is imported

        direction = "maximize" if maximize else "minimize"
        table = resolve_table(table_spec, data_dir, target=target, direction=direction, screen=False)
        import pandas as pd

        scores = chosen_proxy.evaluate(table)
        frame = pd.DataFrame({"arch": table.archs, "score": scores, table.target: table.y_raw})
        truth, direction = table.target, table.direction
    else:
        import pandas as pd
        from tqdm import tqdm

        from lpzero_sr.scorer import Scorer  # torch
        from lpzero_sr.spaces.base import check_seq_len

        scorer = Scorer(chosen_proxy, device=device)
        space, configs, truth_values, direction, unusable = _architectures(benchmark, archs, config_files, data_dir)
        if not configs:
            echo_error_rows(unusable, "config files could not be read")
            raise ConfigError(f"none of the {len(unusable)} config file(s) could be read; nothing to score")
        check_seq_len(space, configs, extraction.seq_len)
        runner = runner_from_options(workers, ray_address, gpus_per_task)

        def score_one(arch: str) -> float:
            return scorer.score_configs(space, [configs[arch]], extraction)[0]

        done = dict(tqdm(map_archs(score_one, list(configs), runner), total=len(configs), desc="score", unit="arch"))
        scores = [done[arch] for arch in configs]
        frame = pd.DataFrame({"arch": list(configs), "score": scores})
        if truth_values is not None:
            truth = str(truth_values.name)
            frame[truth] = truth_values.to_numpy()
    frame = frame.sort_values("score", ascending=False, na_position="last", kind="stable").reset_index(drop=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    click.echo(f"proxy: {chosen_proxy.text()}")
    click.echo(frame.to_string(index=False))
    if truth is not None:
        _echo_correlation(frame, truth, direction)
    if not table_spec and unusable:
        click.echo(f"{len(unusable)} config file(s) could not be read and were not scored:", err=True)
        echo_error_rows(unusable, "config files could not be read")
    if out is not None:
        atomic_write_text(out, frame.to_csv(index=False))
        click.echo(f"wrote {out}")


def _architectures(
    benchmark: str | None, archs: str | None, config_files: tuple[Path, ...], data_dir: Path | None
) -> tuple[Any, dict[str, dict[str, Any]], pd.Series | None, str, dict[str, str]]:
    """(space, configs by id, ground truth or None, direction, unusable config files by id with their error) for
    --benchmark and/or --config. A config file that cannot be read is listed, not scored, as ``extract`` makes it
    an error row; the others are scored."""
    from lpzero_sr.spaces import get_space, load_benchmark

    if config_files:
        if benchmark is None:  # plain Hugging Face configs, as `lpzero-sr extract` reads them
            from lpzero_sr.spaces.generic import GenericSpace

            configs, errors = read_config_files(list(config_files))
            space = GenericSpace("configs", configs) if configs else None
            return space, configs, None, "maximize", errors
        space = get_space(benchmark)
        files = [f for p in config_files for f in (sorted(p.iterdir()) if p.is_dir() else [p])]
        configs, errors = {}, {}
        for path in files:
            try:
                configs[path.stem] = read_config(path)
            except ConfigError as exc:
                errors[path.stem] = str(exc)
        return space, configs, None, "maximize", errors
    bench = load_benchmark(str(benchmark), data_dir)
    if bench.space is None:
        raise ConfigError(f"benchmark {benchmark!r} has no model builder; score its table with --table {benchmark}")
    chosen = bench.archs if archs is None else [a.strip() for a in archs.split(",") if a.strip()]
    unknown = [a for a in chosen if a not in bench.configs]
    if unknown:
        raise ConfigError(f"architecture(s) not in {benchmark}: {', '.join(unknown[:5])}")
    truth = bench.targets.loc[chosen, bench.target]
    return bench.space, {a: bench.configs[a] for a in chosen}, truth, bench.direction, {}


def warn_if_fitted_elsewhere(proxy: Proxy, source: str | None) -> None:
    """One warning when ``proxy`` was fitted on another table than the registered benchmark or space ``source``
    it now scores: its training CDFs (``q(x)`` terminals) and metrics describe the architectures of that table."""
    if not proxy.fitted_on or source is None or source not in BENCHMARKS or proxy.fitted_on == source:
        return
    cdfs = (
        f"; its q(x) terminals read the training CDFs of {proxy.fitted_on}'s architectures (clamped outside their "
        f"range), not quantiles among {source}'s: refit on {source} for a proxy calibrated there"
        if proxy.quantiles
        else ""
    )
    log.warning("the proxy was fitted on %s, not on %s%s", proxy.fitted_on, source, cdfs)


def _echo_correlation(frame: pd.DataFrame, target: str, direction: str) -> None:
    import numpy as np

    from lpzero_sr.ranking import kendall, spearman

    valid = frame[np.isfinite(frame["score"])]
    if len(valid) < 3:
        return
    oriented = valid[target].to_numpy() * (-1.0 if direction == "minimize" else 1.0)
    score = valid["score"].to_numpy()
    note = " (target negated: lower is better)" if direction == "minimize" else ""
    click.echo(
        f"{len(valid)} scored architectures: spearman {spearman(score, oriented):.4f}, "
        f"kendall {kendall(score, oriented):.4f} vs {target}{note}"
    )
