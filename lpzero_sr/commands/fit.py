"""``lpzero-sr fit``: search a statistics table for a ranking formula, report it on held-out architectures."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click
from tqdm import tqdm

from lpzero_sr.baselines import ExtractSettings
from lpzero_sr.commands.options import device_option, extraction_options
from lpzero_sr.errors import TableError
from lpzero_sr.quantile import DEFAULT_TERMINALS, TERMINALS, Terminals
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.additive import DEFAULT_ADDITIVE
from lpzero_sr.search.bagging import DEFAULT_SUBSPACE
from lpzero_sr.search.engine import Budget, SearchError
from lpzero_sr.search.fitting import DEFAULT_BAG, FitResult, MultiFitResult, fit_multi, fit_proxy
from lpzero_sr.search.selection import DEFAULT_SELECTION, SELECTIONS
from lpzero_sr.table import StatTable
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


def parse_terminals(value: str) -> tuple[Terminals, ...]:
    """``quantile`` or a comma-separated list (``quantile,raw``) of the modes of :mod:`lpzero_sr.quantile`."""
    modes = tuple(m.strip() for m in value.split(","))
    bad = [m for m in modes if m not in TERMINALS]
    if bad:
        raise SearchError(f"--terminals takes {', '.join(TERMINALS)} (comma-separated with --bag), got {bad[0]!r}")
    return modes  # type: ignore[return-value]


DEFAULT_GENERATIONS = 100
STAT_LABEL = {"spearman": "rho", "kendall": "tau"}


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _print_result(result: FitResult) -> None:
    label = STAT_LABEL[result.proxy.loss]
    head = f"* = chosen by --select {result.proxy.selection}" if result.chosen is not None else "the first search's"
    click.echo(f"\nPareto front (train {label}; {head}):")
    held = "heldout" in (result.members[0] if result.members else {})
    click.echo(f"  {'size':>5} {'train':>7}" + (f" {'held-out':>8}" if held else "") + "  formula")
    for i, (c, member) in enumerate(zip(result.front.candidates, result.members, strict=True)):
        mark = "*" if i == result.chosen else " "
        cells = f"{c.complexity:>5} {1 - c.loss:>7.4f}"
        if held:
            cells += f" {member['heldout'][result.proxy.loss]:>8.4f}"
        click.echo(f"{mark} {cells}  {c.text}")
    proxy = result.proxy
    if result.parts:
        seeds = [part["seed"] for part in result.parts if "seed" in part]
        click.echo(f"\n{proxy.selection}, seeds {seeds[0]}..{seeds[-1]}:")
        for i, part in enumerate(result.parts, start=1):
            what = f"share {part['additive']:g}" if "additive" in part else f"size {part['complexity']:>2}"
            click.echo(f"  f{i}: train {label} {1 - part['loss']:.4f}  {what}  {part['text']}")
    click.echo(f"\nchosen proxy: {proxy.text()}\nLaTeX: {proxy.latex()}")
    train = proxy.metrics["train"]
    click.echo(f"train: spearman {train['spearman']:.4f}  kendall {train['kendall']:.4f}  top10% {train['topk']:.3f}")
    if result.report:
        p, b = result.report["proxy"], result.report["baseline"]
        name = f"best column ({'-' if b['sign'] < 0 else ''}{b['column']})"
        rows = [("proxy", p), (name, b), *((f"peer {k}", v) for k, v in result.report.get("peers", {}).items())]
        head = f"held-out ({plural(result.report['n_test'], 'architecture')})"
        width = max(max(len(r) for r, _ in rows) + 2, len(head) - 1)
        click.echo(head.ljust(width + 2) + "spearman  kendall  top10%")
        for row, m in rows:
            click.echo(f"  {row.ljust(width)}{m['spearman']:8.4f} {m['kendall']:8.4f} {m['topk']:7.3f}")
        gap = p[proxy.loss] - b[proxy.loss]
        verdict = "beats" if gap > 0 else "does NOT beat"
        click.echo(
            f"verdict: on held-out rows the chosen proxy {verdict} the best single column "
            f"({label} {p[proxy.loss]:.4f} vs {b[proxy.loss]:.4f}, {gap:+.4f})"
        )
    if result.front.rejections:
        click.echo("rejections per rule: " + ", ".join(f"{k}={v}" for k, v in result.front.rejections.items()))
    if result.front.stopped in ("time limit", "interrupted"):
        click.echo(f"search stopped early: {result.front.stopped} (generation {result.front.generations})")


def _print_multi(result: MultiFitResult) -> None:
    """The front (mean train statistic over the tasks), the chosen proxy and each task's held-out rows."""
    label = STAT_LABEL[result.proxy.loss]
    click.echo(f"\nPareto front (multi-task train loss as {label}; * = chosen by --select {result.proxy.selection}):")
    for i, c in enumerate(result.front.candidates):
        click.echo(f"{'*' if i == result.chosen else ' '} {c.complexity:>5} {1 - c.loss:>7.4f}  {c.text}")
    proxy = result.proxy
    click.echo(f"\nchosen proxy: {proxy.text()}\nLaTeX: {proxy.latex()}")
    if result.reports:
        width = max(len(n) for n in [*result.names, "mean"]) + 2
        click.echo(f"held-out {label} per task".ljust(width + 2) + f"{'proxy':>8} {'best column':>12}  column")
        proxies, columns = [], []
        for name, report in zip(result.names, result.reports, strict=True):
            p, b = report["proxy"][proxy.loss], report["baseline"]
            proxies.append(p)
            columns.append(b[proxy.loss])
            column = f"{'-' if b['sign'] < 0 else ''}{b['column']}"
            click.echo(f"  {name.ljust(width)}{p:8.4f} {b[proxy.loss]:12.4f}  {column} ({report['n_test']} held out)")
        mean_p, mean_b = sum(proxies) / len(proxies), sum(columns) / len(columns)
        click.echo(f"  {'mean'.ljust(width)}{mean_p:8.4f} {mean_b:12.4f}")
    if result.front.rejections:
        click.echo("rejections per rule: " + ", ".join(f"{k}={v}" for k, v in result.front.rejections.items()))
    if result.front.stopped in ("time limit", "interrupted"):
        click.echo(f"search stopped early: {result.front.stopped} (generation {result.front.generations})")


def check_writable(out: Path) -> None:
    """One clear error before any work when ``out`` cannot be created or written."""
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise TableError(f"--out {out} is not writable ({probe} is not a writable directory)")


@click.command("fit")
@click.argument("tables", nargs=-1, required=True)
@click.option("--target", help="Ground-truth column of a table file (a benchmark such as nb201-cifar10 has its own).")
@click.option(
    "--maximize/--minimize",
    default=None,
    help="Whether a higher target is better (accuracy) or worse (loss); a file's --target needs it (else maximize).",
)
@click.option(
    "--labels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Targets joined on 'arch': a labels.jsonl of `lpzero-sr label` (target val_loss) or a CSV/Parquet/JSON table; "
    "TABLE may then be an `extract --out` folder.",
)
@click.option("--arch-col", default=None, help="Architecture id column (default 'arch', or the row number).")
@click.option("--layer-col", default=None, help="Layer column: rows are layers, aggregated per architecture.")
@click.option("--aggregate", type=click.Choice(["sum", "mean"]), default="mean", show_default=True)
@click.option("--features", default=None, help="Comma-separated feature columns (default: every numeric column).")
@click.option("--drop-invalid", is_flag=True, help="Drop rows with NaN/inf instead of failing.")
@click.option("--engine", type=click.Choice(["auto", "deap", "pysr"]), default="auto", show_default=True)
@click.option(
    "--rules",
    "rules_spec",
    default="default",
    show_default=True,
    help="A packaged rule set (default; minmax: with max/min; no_pruning) or a .toml file.",
)
@click.option("--loss", type=click.Choice(["spearman", "kendall"]), default="spearman", show_default=True)
@click.option(
    "--multi-loss",
    type=click.Choice(["mean", "min"]),
    default="mean",
    show_default=True,
    help="With several TABLES: search for the best mean rank loss over the tasks, or the best worst-task one.",
)
@click.option("--train-size", default="0.8", show_default=True, help="Training architectures: N, a fraction, or 1.0.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--generations",
    default=None,
    type=click.IntRange(min=1),
    help=f"Stop after N generations (default {DEFAULT_GENERATIONS}; none when --time-limit or --evaluations is given).",
)
@click.option("--evaluations", default=None, type=click.IntRange(min=1), help="Stop after N formula evaluations.")
@click.option("--population", default=200, show_default=True, type=click.IntRange(min=2))
@click.option(
    "--time-limit",
    default=None,
    type=click.FloatRange(min=0, min_open=True),
    help="Search for this many seconds (the budget when given; best so far is kept).",
)
@click.option(
    "--select",
    "selection",
    type=click.Choice(SELECTIONS.names()),
    default=DEFAULT_SELECTION,
    show_default=True,
    help="How one formula is chosen from the front, on training rows only: score (PySR's: log-loss drop per "
    "node), parsimony (loss + 0.005/node), best (lowest loss; chosen on dev splits).",
)
@click.option(
    "--terminals",
    default=None,
    metavar="[" + "|".join(TERMINALS) + "][,...]",
    help="What the search reads of each column: raw values, q(x) = its centred quantile among the training "
    f"architectures (scale-free; the proxy stores the training CDF), or both. Default: {DEFAULT_TERMINALS} "
    "(chosen on dev splits); raw with several TABLES. With --bag, several modes (quantile,raw) take turns over "
    "the searches.",
)
@click.option(
    "--bag",
    default=DEFAULT_BAG,
    show_default=True,
    type=click.IntRange(min=1),
    help="Run N searches (seeds --seed, --seed + 1, ...; each with the whole budget) and rank-average their "
    "chosen formulas: q(f1) + q(f2) + ..., still one formula. One table with one row per architecture.",
)
@click.option(
    "--subspace",
    "share",
    default=DEFAULT_SUBSPACE,
    show_default=True,
    type=click.FloatRange(min=0, max=1, min_open=True),
    metavar="SHARE",
    help="Each search (of a --bag) sees its own random SHARE of the columns, drawn by its seed (the random "
    "subspace method); 1: all columns.",
)
@click.option(
    "--additive",
    default=None,
    type=click.FloatRange(min=0, max=1, max_open=True),
    metavar="SHARE",
    help="Rank-average the searches' formulas with the additive formula, sum of a*q(x) + b*q(x)**2 over the "
    "columns fitted by ridge regression on the training ranks, which gets this SHARE of the weight; 0: none. "
    f"Default: {DEFAULT_ADDITIVE} for one table with one row per architecture (chosen on dev splits), else 0.",
)
@click.option("--checkpoint", type=click.Path(file_okay=False, path_type=Path), help="Resume from / save to DIR.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/fit"), show_default=True)
@click.option(
    "--jobs", default=os.cpu_count() or 1, show_default=True, type=click.IntRange(min=1), help="Evaluation processes."
)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Benchmark data for shorthands.")
@extraction_options("--init-seed", "init_seed")
@device_option("a benchmark's statistics are extracted (when not cached yet)")
def command(
    tables: tuple[str, ...],
    target: str | None,
    maximize: bool | None,
    arch_col: str | None,
    layer_col: str | None,
    aggregate: str,
    features: str | None,
    drop_invalid: bool,
    engine: str,
    rules_spec: str,
    loss: str,
    multi_loss: str,
    train_size: str,
    seed: int,
    generations: int | None,
    evaluations: int | None,
    population: int,
    time_limit: float | None,
    selection: str,
    terminals: str | None,
    bag: int,
    share: float,
    additive: float | None,
    checkpoint: Path | None,
    out: Path,
    jobs: int,
    data_dir: Path | None,
    batch_size: int,
    seq_len: int,
    init_seed: int,
    device: str,
    labels: Path | None,
) -> None:
    """Search TABLES (CSV/Parquet/JSON files, benchmarks such as tiny-gpt2, flexibert, nb201-cifar10, or a
    sub-network space YAML that names its labels) for a proxy ranking architectures by the target; write proxy.json,
    front.json, history.json and predictions.csv to --out.

    With several TABLES (sharing column names), each is split by --train-size/--seed, one search runs on all the
    training parts (--multi-loss: their mean or worst rank loss) and each task's held-out rows are reported;
    proxy.json and front.json are written."""
    check_writable(out)
    rules = RuleSet.load(rules_spec)

    def load(table: str) -> StatTable:
        return resolve_table(
            table,
            data_dir,
            target=target,
            direction="minimize" if maximize is False else "maximize",
            arch_col=arch_col,
            layer_col=layer_col,
            features=[f.strip() for f in features.split(",")] if features else None,
            drop_invalid=drop_invalid,
            device=device,
            settings=ExtractSettings(batch_size=batch_size, seq_len=seq_len, seed=init_seed),
            labels=labels,
        )

    if len(tables) > 1 and terminals not in (None, "raw"):
        raise SearchError(f"--terminals {terminals} fits one training CDF per table; several TABLES need raw")
    modes = parse_terminals(terminals or (DEFAULT_TERMINALS if len(tables) == 1 else "raw"))
    if len(tables) > 1 and bag > 1:
        raise SearchError("--bag rank-averages searches of one table; several TABLES search once")
    if len(tables) > 1 and share < 1:
        raise SearchError("--subspace draws columns for the searches of one table; several TABLES search once")
    if len(tables) > 1 and additive:
        raise SearchError("--additive fits one table's training ranks; several TABLES search once")
    stat_tables = [load(t) for t in tables]
    stat_table = stat_tables[0]
    if target is not None and maximize is None and stat_table.target == target:
        click.echo(f"note: assuming --maximize (higher {target} is better); pass --minimize for a loss or perplexity")
    size = parse_train_size(train_size)
    splits = [(t, None) if size is None else t.split(size, seed) for t in stat_tables]
    if generations is None and time_limit is None and evaluations is None:
        generations = DEFAULT_GENERATIONS
    budget = Budget(generations=generations, evaluations=evaluations, time_limit=time_limit)
    for name, table, (train, test) in zip(tables, stat_tables, splits, strict=True):
        n_test = len(test.archs) if test else 0
        click.echo(
            (f"{name}: " if len(tables) > 1 else "")
            + f"{len(train.archs)} training / {plural(n_test, 'held-out architecture')}, "
            f"{plural(len(table.features), 'feature')}, target {table.target} ({table.direction})"
        )
    label = STAT_LABEL[loss]
    if checkpoint is not None and any(checkpoint.rglob("*_state.json")):
        click.echo(f"resuming the search saved in {checkpoint} (same table, rules, loss and seed required)")
    total = generations if generations is not None else (int(time_limit) if time_limit else None)
    total = total * bag if total is not None else None
    unit = "gen" if generations is not None or time_limit is None else "s"
    with tqdm(total=total, desc="search", unit=unit, mininterval=1.0) as bar:
        start = time.monotonic()

        def progress(generation: int, n_evals: int, best: float) -> None:  # generation: over all searches of a bag
            done = generation if unit == "gen" else min(int(time.monotonic() - start), total or 0)
            bar.update(done - bar.n)
            bar.set_postfix({f"best_{label}": f"{1 - best:.4f}", "evals": n_evals, "gen": generation})

        settings = dict(
            loss=loss, aggregation=aggregate, budget=budget, seed=seed, population=population,
            checkpoint=checkpoint, jobs=jobs, progress=progress, selection=selection,
        )  # fmt: skip
        if len(tables) == 1:
            result: FitResult | MultiFitResult = fit_proxy(
                *splits[0], rules, engine=engine, terminals=modes, bag=bag, share=share, additive=additive,
                **settings,  # type: ignore[arg-type]
            )  # fmt: skip
        else:
            tests = None if size is None else [test for _, test in splits]
            result = fit_multi(
                [train for train, _ in splits], tests, rules, names=list(tables), engine=engine,
                multi_loss=multi_loss, **settings,  # type: ignore[arg-type]
            )  # fmt: skip
    if isinstance(result, FitResult):
        _print_result(result)
    else:
        _print_multi(result)
    paths = result.write(out)
    click.echo("wrote " + ", ".join(str(p) for p in paths))
    if result.front.stopped == "interrupted":
        raise SystemExit(130)  # files are written; the exit status still says the run was cut short
