"""``lpzero-sr fit``: search a statistics table for a ranking formula, report it on held-out architectures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from tqdm import tqdm

from lpzero_sr.errors import TableError
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.engine import Budget
from lpzero_sr.search.fitting import FitResult, fit_proxy
from lpzero_sr.tables import resolve_table


def parse_train_size(value: str) -> float | int | None:
    """``N`` architectures, a fraction ``0 < f < 1``, or ``1.0`` for all (no held-out rows)."""
    try:
        number = float(value)
    except ValueError:
        raise TableError(f"--train-size must be a count or a fraction, got {value!r}") from None
    if "." not in value and number >= 1:
        return int(number)
    if number == 1.0:
        return None
    if not 0 < number < 1:
        raise TableError(f"--train-size fraction must lie in (0, 1], got {value}")
    return number


def _print_result(result: FitResult) -> None:
    click.echo("\nPareto front (train):")
    click.echo(f"{'size':>5} {'rho':>7}  formula")
    for c in result.front.candidates:
        click.echo(f"{c.complexity:>5} {1 - c.loss:>7.4f}  {c.text or c.expr}")
    proxy = result.proxy
    click.echo(f"\nchosen proxy: {proxy.text()}\nLaTeX: {proxy.latex()}")
    train = proxy.metrics["train"]
    click.echo(f"train: spearman {train['spearman']:.4f}  kendall {train['kendall']:.4f}  top10% {train['topk']:.3f}")
    if result.report:
        p, b = result.report["proxy"], result.report["baseline"]
        sign = "-" if b["sign"] < 0 else ""
        click.echo(f"held-out ({result.report['n_test']} archs)    spearman  kendall  top10%")
        click.echo(f"  proxy                       {p['spearman']:8.4f} {p['kendall']:8.4f} {p['topk']:7.3f}")
        click.echo(
            f"  best column ({sign}{b['column']})".ljust(30)
            + f"{b['spearman']:8.4f} {b['kendall']:8.4f} {b['topk']:7.3f}"
        )
    if result.front.rejections:
        click.echo("rejections per rule: " + ", ".join(f"{k}={v}" for k, v in result.front.rejections.items()))


@click.command("fit")
@click.argument("table")
@click.option("--target", help="Ground-truth column (not needed for shorthands like nb201:cifar10).")
@click.option("--maximize/--minimize", default=True, help="Whether a higher target is better (accuracy) or worse.")
@click.option("--arch-col", default=None, help="Architecture id column (default 'arch', or the row number).")
@click.option("--layer-col", default=None, help="Layer column: rows are layers, aggregated per architecture.")
@click.option("--aggregate", type=click.Choice(["sum", "mean"]), default="mean", show_default=True)
@click.option("--features", default=None, help="Comma-separated feature columns (default: every numeric column).")
@click.option("--drop-invalid", is_flag=True, help="Drop rows with NaN/inf instead of failing.")
@click.option("--engine", type=click.Choice(["auto", "deap", "pysr"]), default="auto", show_default=True)
@click.option("--rules", "rules_spec", default="default", show_default=True, help="'default' or a rule set .toml.")
@click.option("--loss", type=click.Choice(["spearman", "kendall"]), default="spearman", show_default=True)
@click.option("--train-size", default="0.8", show_default=True, help="Training architectures: N, a fraction, or 1.0.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--generations", default=100, show_default=True, type=int)
@click.option("--evaluations", default=None, type=int, help="Stop after this many formula evaluations.")
@click.option("--population", default=200, show_default=True, type=int)
@click.option("--time-limit", default=None, type=float, help="Stop after this many seconds (best so far is kept).")
@click.option("--checkpoint", type=click.Path(file_okay=False, path_type=Path), help="Resume from / save to DIR.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/fit"), show_default=True)
@click.option("--jobs", default=os.cpu_count() or 1, show_default=True, type=int, help="Evaluation processes.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Benchmark data for shorthands.")
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where a benchmark's statistics are extracted (when not cached yet).",
)
def command(
    table: str,
    target: str | None,
    maximize: bool,
    arch_col: str | None,
    layer_col: str | None,
    aggregate: str,
    features: str | None,
    drop_invalid: bool,
    engine: str,
    rules_spec: str,
    loss: str,
    train_size: str,
    seed: int,
    generations: int,
    evaluations: int | None,
    population: int,
    time_limit: float | None,
    checkpoint: Path | None,
    out: Path,
    jobs: int,
    data_dir: Path | None,
    device: str,
) -> None:
    """Search TABLE (CSV/Parquet/JSON file or e.g. nb201:cifar10) for a proxy ranking architectures by the target."""
    stat_table = resolve_table(
        table,
        data_dir,
        target=target,
        direction="maximize" if maximize else "minimize",
        arch_col=arch_col,
        layer_col=layer_col,
        features=[f.strip() for f in features.split(",")] if features else None,
        drop_invalid=drop_invalid,
        device=device,
    )
    size = parse_train_size(train_size)
    train, test = (stat_table, None) if size is None else stat_table.split(size, seed)
    rules = RuleSet.load(rules_spec)
    budget = Budget(generations=generations, evaluations=evaluations, time_limit=time_limit)
    click.echo(
        f"{len(train.archs)} training / {len(test.archs) if test else 0} held-out architectures, "
        f"{len(stat_table.features)} features, target {stat_table.target} ({stat_table.direction})"
    )
    with tqdm(total=generations, desc="search", unit="gen", mininterval=1.0) as bar:

        def progress(generation: int, n_evals: int, best: float) -> None:
            bar.update(generation - bar.n)
            bar.set_postfix(best_rho=f"{1 - best:.4f}", evals=n_evals)

        result = fit_proxy(
            train, test, rules, engine=engine, loss=loss, aggregation=aggregate, budget=budget,  # type: ignore[arg-type]
            seed=seed, population=population, checkpoint=checkpoint, jobs=jobs, progress=progress,
        )  # fmt: skip
    _print_result(result)
    out.mkdir(parents=True, exist_ok=True)
    result.proxy.save(out / "proxy.json")
    (out / "front.json").write_text(json.dumps(result.front.to_json({"report": result.report}), indent=2) + "\n")
    history = {"history": result.front.history, "rejections": result.front.rejections, "stopped": result.front.stopped}
    (out / "history.json").write_text(json.dumps(history, indent=2) + "\n")
    click.echo(f"wrote {out / 'proxy.json'}, {out / 'front.json'}, {out / 'history.json'}")
