"""``lpzero-sr score PROXY --benchmark NAME [--archs ...] | --config FILE ...``: score architectures with a proxy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
import yaml

from lpzero_sr.baselines import ExtractSettings
from lpzero_sr.commands.options import extraction_options
from lpzero_sr.errors import ConfigError
from lpzero_sr.ranking import kendall, spearman
from lpzero_sr.scorer import Scorer
from lpzero_sr.spaces import SPACES, load_benchmark


def read_config(path: Path) -> dict[str, Any]:
    """An architecture config from a JSON or YAML file (a mapping)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML is a superset of JSON
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} is not a mapping of architecture fields")
    return data


@click.command("score")
@click.argument("proxy", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--benchmark", required=True, help="Benchmark (its space builds the models), e.g. tiny-gpt2.")
@click.option("--archs", default=None, help="Comma-separated architecture ids of the benchmark (default: all).")
@click.option(
    "--config",
    "config_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Architecture config file (JSON/YAML) of the benchmark's space; repeatable. Replaces --archs.",
)
@extraction_options()
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the scores as CSV.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Benchmark data root.")
def command(
    proxy: Path,
    benchmark: str,
    archs: str | None,
    config_files: tuple[Path, ...],
    batch_size: int,
    seq_len: int,
    seed: int,
    device: str,
    out: Path | None,
    data_dir: Path | None,
) -> None:
    """Score architectures with PROXY (a proxy.json from `lpzero-sr fit`); higher is better.

    With benchmark architectures the ground truth is shown too, with the rank correlation of the scores.
    """
    scorer = Scorer(proxy, device=device)
    settings = ExtractSettings(batch_size=batch_size, seq_len=seq_len, seed=seed)
    if config_files:
        try:
            space = SPACES.get(benchmark)
        except KeyError as exc:
            raise ConfigError(exc.args[0]) from None
        configs = {path.stem: read_config(path) for path in config_files}
        truth = None
    else:
        bench = load_benchmark(benchmark, data_dir)
        space = bench.space
        if space is None:
            raise ConfigError(f"benchmark {benchmark!r} has no model builder; it cannot be scored")
        chosen = bench.archs if archs is None else [a.strip() for a in archs.split(",") if a.strip()]
        unknown = [a for a in chosen if a not in bench.configs]
        if unknown:
            raise ConfigError(f"architecture(s) not in {benchmark}: {', '.join(unknown[:5])}")
        configs = {a: bench.configs[a] for a in chosen}
        truth = bench.targets.loc[chosen, bench.target]
    scores = scorer.score_configs(space, list(configs.values()), settings, progress=len(configs) > 1)
    frame = pd.DataFrame({"arch": list(configs), "score": scores})
    if truth is not None:
        frame[truth.name] = truth.to_numpy()
    click.echo(frame.to_string(index=False))
    if truth is not None:
        _echo_correlation(frame, str(truth.name), bench.direction)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False)
        click.echo(f"wrote {out}")


def _echo_correlation(frame: pd.DataFrame, target: str, direction: str) -> None:
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
