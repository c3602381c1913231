"""``lpzero-sr nas SPACE --proxy P``: aging evolution (or random search) with a proxy, #params or chance as the
objective, under a parameter budget; resumable through ``--out``."""

from __future__ import annotations

import json
import logging
import math
import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lpzero_sr.commands.interrupt import INTERRUPTED
from lpzero_sr.commands.options import device_option, extraction_options, runner_options
from lpzero_sr.commands.score import warn_if_fitted_elsewhere
from lpzero_sr.errors import ConfigError, DataError, NasError
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.fsutil import atomic_write_text, run_lock
from lpzero_sr.parallel import runner_from_options, session

if TYPE_CHECKING:  # torch and the spaces are imported once the arguments are read
    from lpzero_sr.nas import Config, LabelledDomain, NasCandidate, NasSettings, SearchResult
    from lpzero_sr.spaces import Benchmark, Space

log = logging.getLogger(__name__)


@click.command("nas")
@click.argument("space")
@click.option("--proxy", type=click.Path(dir_okay=False, path_type=Path), help="proxy.json to maximise.")
@click.option(
    "--objective",
    type=click.Choice(["proxy", "params", "random"]),
    default="proxy",
    show_default=True,
    help="proxy: --proxy's score; params: the #params baseline; random: random search (a random pick).",
)
@click.option(
    "--strategy",
    type=click.Choice(["evolution", "random"]),
    default="evolution",
    show_default=True,
    help="Aging evolution, or i.i.d. samples (forced by --objective random).",
)
@click.option(
    "--candidates",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="Children evaluated (the budget, as in NAS-Bench studies): a child whose architecture was already scored "
    "counts but is not scored again, so the distinct architectures scored may be fewer.",
)
@click.option("--population", default=20, show_default=True, help="Aging-evolution population.")
@click.option("--sample", default=5, show_default=True, help="Tournament size.")
@click.option(
    "--children",
    type=click.IntRange(min=1),
    default=None,
    help="Children proposed, then scored together, per cycle (default: --workers, else 1: the sequential loop).",
)
@click.option("--max-params", type=int, default=None, help="Reject candidates with more parameters, unscored.")
@click.option("--within-benchmark", is_flag=True, help="Search only the benchmark's labelled architectures.")
@click.option(
    "--seed",
    default=0,
    show_default=True,
    help="Seed of the search's own random stream: initial samples, tournaments and mutations (models are "
    "initialised and fed from --init-seed).",
)
@click.option("--top-k", default=5, show_default=True, help="Architectures listed and written to top.json.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Journal + top.json (resumable).")
@extraction_options("--init-seed")
@runner_options
@device_option("candidate models are built and scored")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Benchmark data root.")
def command(
    space: str,
    proxy: Path | None,
    objective: str,
    strategy: str,
    candidates: int,
    population: int,
    sample: int,
    children: int | None,
    max_params: int | None,
    within_benchmark: bool,
    seed: int,
    top_k: int,
    out: Path | None,
    extraction: ExtractSettings,
    workers: int | None,
    ray_address: str | None,
    gpus_per_task: float,
    device: str,
    data_dir: Path | None,
) -> None:
    """Search SPACE (a registered benchmark, e.g. tiny-gpt2) for the architecture the objective ranks best.

    With the benchmark's ground truth the true score of each listed architecture is shown (architectures outside
    the labelled set show none; --within-benchmark keeps the whole search inside it).
    """
    if objective == "proxy" and proxy is None:
        raise NasError("--objective proxy needs --proxy PATH (or use --objective params / random)")
    from lpzero_sr.nas import (
        Journal,
        NasSettings,
        ParamsScoring,
        ProxyScoring,
        RandomScoring,
        Scoring,
        SpaceDomain,
        search,
    )
    from lpzero_sr.scorer import Scorer
    from lpzero_sr.spaces import get_space

    scorer = Scorer(proxy, device=device) if objective == "proxy" and proxy is not None else None
    if scorer is not None:
        warn_if_fitted_elsewhere(scorer.proxy, space)
    bench = _benchmark(space, data_dir, within_benchmark)
    builder = bench.space if bench is not None else get_space(space)
    if builder is None:
        raise ConfigError(f"benchmark {space!r} has precomputed tables only; it cannot build models to search")
    labelled = bench.configs if bench is not None else {}
    domain = _labelled_domain(builder, labelled, max_params) if within_benchmark else SpaceDomain(builder, labelled)
    strategy = "random" if objective == "random" else strategy
    batch = children or workers or 1
    settings = NasSettings(candidates, population, sample, max_params, seed, strategy, batch)
    scoring: Scoring
    runner = runner_from_options(workers, ray_address, gpus_per_task) if scorer is not None else None
    if scorer is not None:
        scoring = ProxyScoring(scorer, builder, extraction, runner)
    elif objective == "params":
        scoring = ParamsScoring(domain)
    else:
        scoring = RandomScoring(seed)
    record = {
        "space": space,
        "objective": objective,
        "proxy": scorer.proxy.text() if scorer is not None else None,
        "within_benchmark": within_benchmark,
        "scorer": [extraction.batch_size, extraction.seq_len, extraction.seed],
        **vars(settings),
    }
    with run_lock(out, "nas run") if out is not None else nullcontext():
        journal = Journal(out, record) if out is not None else None
        if journal is not None and journal.previous:
            click.echo(f"resuming from {journal.path}: {len(journal.previous)} evaluated children replayed")
        start = time.perf_counter()
        with session(runner):  # one Ray cluster for all cycles, not one per cycle
            result = search(domain, scoring, settings, journal, progress=True)
        seconds = time.perf_counter() - start
        rows = [_row(c, bench) for c in result.top(top_k)]
        _echo_result(space, settings, objective, result, rows, bench, seconds)
        if out is not None:
            _write_top(out / "top.json", record, result, rows)
            click.echo(f"wrote {out / 'top.json'}")
    if result.interrupted:
        kept = (
            f"{len(result.history)} evaluated children kept in {out / 'candidates.jsonl'} and the best in "
            f"{out / 'top.json'}; rerun the same command to resume"
            if out is not None
            else f"{len(result.history)} children were evaluated (the best are listed above); nothing was written "
            "without --out"
        )
        click.echo(f"interrupted: {kept}", err=True)
        raise SystemExit(INTERRUPTED)


def _echo_result(
    space: str,
    settings: NasSettings,
    objective: str,
    result: SearchResult,
    rows: list[dict[str, Any]],
    bench: Benchmark | None,
    seconds: float,
) -> None:
    stopped = " (interrupted)" if result.interrupted else ""
    click.echo(
        f"{space}: {settings.strategy} with objective {objective}, {len(result.scored)} distinct architectures "
        f"scored in {len(result.history)} evaluations{stopped}, {result.rejected_budget} rejected over the parameter "
        f"budget, {result.rejected_invalid} invalid; {seconds:.1f} s"
    )
    for rank, row in enumerate(rows, 1):
        truth = f"  true {bench.target} {row['true']:.4f}" if bench is not None and row["true"] is not None else ""
        click.echo(f"{rank:2d}. {row['arch']}  score {row['score']:.6g}  params {row['params']:,}{truth}")
    if bench is not None and rows:
        pick = rows[0]["true"]
        better = "lower" if bench.direction == "minimize" else "higher"
        text = "not labelled" if pick is None else f"{pick:.4f} ({better} is better)"
        click.echo(f"pick {rows[0]['arch']}: true {bench.target} {text}")


def _labelled_domain(space: Space, labelled: dict[str, Config], max_params: int | None) -> LabelledDomain:
    """The labelled architectures under ``max_params``: mutations then map to neighbours within the budget."""
    from lpzero_sr.nas import LabelledDomain, count_params

    params = {arch: count_params(space, config) for arch, config in labelled.items()}
    pool = {a: c for a, c in labelled.items() if max_params is None or params[a] <= max_params}
    return LabelledDomain(space, pool, params)


def _benchmark(space: str, data_dir: Path | None, within: bool) -> Benchmark | None:
    """The benchmark of ``space`` (configs + ground truth); None when its data is missing and not required."""
    from lpzero_sr.spaces import load_benchmark

    try:
        return load_benchmark(space, data_dir)
    except DataError:
        if within:
            raise
        log.warning("no ground truth for %s: its data is missing; searching without it", space)
        return None


def _row(candidate: NasCandidate, bench: Benchmark | None) -> dict[str, Any]:
    truth = None
    if bench is not None and candidate.arch in bench.configs:
        truth = float(bench.targets.loc[candidate.arch, bench.target])
    return {
        "arch": candidate.arch,
        "score": candidate.score,
        "params": candidate.params,
        "true": truth if truth is None or math.isfinite(truth) else None,
        "config": candidate.config,
    }


def _write_top(path: Path, settings: dict[str, Any], result: SearchResult, rows: list[dict[str, Any]]) -> None:
    summary = {
        "settings": settings,
        "scored": len(result.scored),
        "evaluations": len(result.history),
        "rejected_budget": result.rejected_budget,
        "rejected_invalid": result.rejected_invalid,
        "interrupted": result.interrupted,
        "top": rows,
    }
    atomic_write_text(path, json.dumps(summary, indent=2) + "\n")
