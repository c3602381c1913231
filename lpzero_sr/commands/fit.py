"""``lpzero-sr fit``: search a statistics table for a ranking formula, report it on held-out architectures.

The options build one :class:`lpzero_sr.settings.FitSettings` (several TABLES: :class:`MultiFitSettings`), on top
of ``--config FILE`` when given; an option left out keeps the settings' default, written once in
:mod:`lpzero_sr.settings`. A bad value is one ``Error:`` line naming its flag. Heavy libraries are imported only
once the arguments are read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lpzero_sr.commands.options import device_option, extraction_options
from lpzero_sr.errors import LpzeroError
from lpzero_sr.settings import (
    AGGREGATIONS,
    DEFAULT_GENERATIONS,
    ENGINE_NAMES,
    ENSEMBLE,
    LOSSES,
    MULTI_LOSSES,
    SELECTION_RULES,
    TERMINAL_MODES,
    FitSettings,
    MultiFitSettings,
    SearchSettings,
    SettingsError,
    field_defaults,
    from_dict,
    read_toml,
    with_changes,
)

if TYPE_CHECKING:
    from lpzero_sr.fit.pipeline import FitResult, MultiFitResult
    from lpzero_sr.search.engine import Front

SEARCH, FIT = field_defaults(SearchSettings), field_defaults(FitSettings)
# each option's settings field, and back (errors name the flag the user typed)
FIELDS = {
    "engine": "search.engine", "rules_spec": "search.rules", "loss": "search.loss", "aggregate": "search.aggregation",
    "population": "search.population", "generations": "search.generations", "evaluations": "search.evaluations",
    "time_limit": "search.time_limit", "seed": "search.seed", "jobs": "search.jobs", "train_size": "train_size",
    "terminals": "terminals", "selection": "selection", "bag": "bag", "share": "subspace", "additive": "additive",
    "multi_loss": "multi_loss",
}  # fmt: skip
FLAGS = {
    "search.rules": "--rules", "search.aggregation": "--aggregate", "search.time_limit": "--time-limit",
    "train_size": "--train-size", "selection": "--select", "subspace": "--subspace", "multi_loss": "--multi-loss",
}  # fmt: skip


def flag(field_name: str) -> str:
    """The command-line flag of a settings field (``search.population`` -> ``--population``)."""
    return FLAGS.get(field_name, "--" + field_name.rpartition(".")[2].replace("_", "-"))


def parse_train_size(value: str) -> float | int | None:
    """``N`` architectures, a fraction ``0 < f < 1``, or ``1.0`` for all (no held-out rows)."""
    try:
        number = float(value)
    except ValueError:
        raise SettingsError("train_size", f"must be a count or a fraction, got {value!r}") from None
    if "." not in value and number >= 1:
        return int(number)
    return None if number == 1.0 else number


def parse_terminals(value: str) -> tuple[str, ...]:
    """``quantile`` or a comma-separated list (``quantile,raw``) of terminal modes."""
    return tuple(m.strip() for m in value.split(","))


# why a one-table setting has no meaning for several TABLES (and the other way round)
WHY_ONE_TABLE = {
    "terminals": "a quantile is one table's training CDF, so several TABLES search raw columns",
    "bag": "several TABLES run one search", "subspace": "several TABLES run one search",
    "additive": "the additive formula is fitted on one table's training ranks",
    "multi_loss": "it reduces the rank losses of several tables",
}  # fmt: skip
PARSERS = {"train_size": parse_train_size, "terminals": parse_terminals}


def build_settings(
    tables: tuple[str, ...], config: Path | None, given: dict[str, Any], ensemble: bool = False
) -> FitSettings | MultiFitSettings:
    """The settings of this run: ``--config`` (or the defaults), then every option given on the command line.

    ``given`` maps option names to values the user typed; a value out of range is a usage error naming its flag.
    ``ensemble`` applies :data:`lpzero_sr.settings.ENSEMBLE` before them. With several TABLES the run is one search
    over all of them; an option that only a one-table fit has is refused with one line, and the other way round."""
    cls = FitSettings if len(tables) == 1 else MultiFitSettings
    try:
        settings = from_dict(cls, read_toml(config)) if config is not None else cls()
    except SettingsError as exc:
        raise LpzeroError(f"{config}: {exc}") from None
    if ensemble and cls is MultiFitSettings:
        raise LpzeroError("--ensemble applies to a fit of one table only: several TABLES run one search")
    try:
        settings = with_changes(settings, ENSEMBLE) if ensemble else settings
        changes = {FIELDS[name]: PARSERS.get(FIELDS[name], lambda v: v)(value) for name, value in given.items()}
        for name in changes:
            if name.partition(".")[0] not in cls.__dataclass_fields__:
                scope = "several TABLES" if cls is FitSettings else "a fit of one table"
                raise LpzeroError(f"{flag(name)} applies to {scope} only: {WHY_ONE_TABLE.get(name, 'one search')}")
        return with_changes(settings, changes)
    except SettingsError as exc:
        raise click.BadParameter(exc.detail, param_hint=f"'{flag(exc.field)}'") from None


def check_writable(out: Path) -> None:
    """One clear error before any work when ``out`` cannot be created or written."""
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise LpzeroError(f"--out {out} is not writable ({probe} is not a writable directory)")


def _default(name: str) -> str:
    return f"default: {name}"


@click.command("fit")
@click.argument("tables", nargs=-1, required=True)
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="Settings file (TOML): fields of "
              "FitSettings at the top, a [search] table; options given here override it.")  # fmt: skip
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
@click.option("--aggregate", type=click.Choice(AGGREGATIONS), help=_default(SEARCH["aggregation"]))
@click.option("--features", default=None, help="Comma-separated feature columns (default: every numeric column).")
@click.option("--drop-invalid", is_flag=True, help="Drop rows with NaN/inf instead of failing.")
@click.option("--engine", type=click.Choice(ENGINE_NAMES), help=_default(SEARCH["engine"]))
@click.option(
    "--rules",
    "rules_spec",
    help="A packaged rule set (default; minmax: with max/min; no_pruning) or a .toml file "
    f"({_default(SEARCH['rules'])}).",
)
@click.option("--loss", type=click.Choice(LOSSES), help=_default(SEARCH["loss"]))
@click.option(
    "--multi-loss",
    type=click.Choice(MULTI_LOSSES),
    help="With several TABLES: search for the best mean rank loss over the tasks, or the best worst-task one "
    "(default: mean).",
)
@click.option(
    "--train-size", help=f"Training architectures: N, a fraction, or 1.0 for all ({_default(FIT['train_size'])})."
)
@click.option(
    "--seed",
    type=int,
    help="Seeds two streams: the train/held-out split and the search (a bag's k-th search: seed + k; "
    f"{_default(SEARCH['seed'])}). The models' initialisation and batch take --init-seed.",
)
@click.option(
    "--generations",
    type=int,
    help=f"Stop after N generations (default {DEFAULT_GENERATIONS}; none when --time-limit or --evaluations is given).",
)
@click.option("--evaluations", type=int, help="Stop after N formula evaluations.")
@click.option("--population", type=int, help=_default(SEARCH["population"]))
@click.option(
    "--time-limit",
    type=float,
    help="Search for this many seconds (the search's budget when given; best so far is kept). Extracting a "
    "benchmark's statistics comes before and is not counted.",
)
@click.option(
    "--select",
    "selection",
    type=click.Choice(SELECTION_RULES),
    help="How one formula is chosen from the front, on training rows only: score (PySR's: log-loss drop per "
    f"node), parsimony (loss + 0.005/node), best (lowest loss; chosen on dev splits); {_default(FIT['selection'])}.",
)
@click.option(
    "--terminals",
    metavar="[" + "|".join(TERMINAL_MODES) + "][,...]",
    help="What the search reads of each column: raw values, q(x) = its centred quantile among the training "
    "architectures (scale-free; the proxy stores the training CDF), or both. Default: "
    f"{','.join(FIT['terminals'])} (chosen on dev splits); raw with several TABLES. With --bag, several modes "
    "(quantile,raw) take turns over the searches.",
)
@click.option(
    "--bag",
    type=int,
    help="Run N searches (seeds --seed, --seed + 1, ...; each with the whole budget) and rank-average their "
    f"chosen formulas: q(f1) + q(f2) + ..., still one formula. One table with one row per architecture "
    f"({_default(FIT['bag'])}).",
)
@click.option(
    "--subspace",
    "share",
    type=float,
    metavar="SHARE",
    help="Each search (of a --bag) sees its own random SHARE of the columns, drawn by its seed (the random "
    f"subspace method); 1: all columns ({_default(FIT['subspace'])}).",
)
@click.option(
    "--additive",
    type=float,
    metavar="SHARE",
    help="Rank-average the searches' formulas with the additive formula, sum of a*q(x) + b*q(x)**2 over the "
    "columns fitted by ridge regression on the training ranks, which gets this SHARE of the weight "
    f"({_default(FIT['additive'])}: none; --ensemble: {ENSEMBLE['additive']}). One row per architecture.",
)
@click.option(
    "--ensemble",
    is_flag=True,
    help=f"Return an ensemble instead of one short formula: the rank average of {ENSEMBLE['bag']} searches "
    f"({','.join(ENSEMBLE['terminals'])} terminals in turn) and the additive formula (share {ENSEMBLE['additive']}); "
    "the first search's formula is reported beside it. Options given here override its parts.",
)
@click.option("--checkpoint", type=click.Path(file_okay=False, path_type=Path), help="Resume from / save to DIR.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/fit"), show_default=True)
@click.option("--jobs", type=int, help="Evaluation processes (default: every core; results do not depend on it).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Benchmark data for shorthands.")
@extraction_options("--init-seed")
@device_option("a benchmark's statistics are extracted (when not cached yet)")
@click.pass_context
def command(
    ctx: click.Context, tables: tuple[str, ...], config: Path | None, ensemble: bool, out: Path, **options: Any
) -> None:
    """Search TABLES (CSV/Parquet/JSON files, benchmarks such as tiny-gpt2, flexibert, nb201-cifar10, or a
    sub-network space YAML that names its labels) for a proxy ranking architectures by the target; write proxy.json,
    front.json, history.json, predictions.csv and settings.json to --out.

    With several TABLES (sharing column names), each is split by --train-size/--seed, one search runs on all the
    training parts (--multi-loss: their mean or worst rank loss) and each task's held-out rows are reported;
    proxy.json, front.json and settings.json are written."""
    given = {name: value for name, value in options.items() if name in FIELDS and value is not None}
    settings = build_settings(tables, config, given, ensemble)
    check_writable(out)
    from lpzero_sr.fsutil import run_lock
    from lpzero_sr.rules.ruleset import RuleSet
    from lpzero_sr.table_sources import refuse_missing_file

    for spec in tables:  # before run_lock creates --out: a missing table leaves no folder behind
        refuse_missing_file(spec)

    RuleSet.load(settings.search.rules)  # an unknown rule set is refused before any table is read

    from lpzero_sr.commands.interrupt import kept_on_interrupt

    with run_lock(out, "fit"), kept_on_interrupt(lambda: f"nothing was written to {out} (the search had not begun)"):
        run(tables, settings, out, options)


def run(tables: tuple[str, ...], settings: FitSettings | MultiFitSettings, out: Path, options: dict[str, Any]) -> None:
    """Load the tables, search, print, write the run directory (exit status 130 when Ctrl-C cut the search)."""
    from lpzero_sr.commands.interrupt import INTERRUPTED
    from lpzero_sr.table_sources import resolve_table  # refuses a missing file before the fit's libraries are imported

    maximize, target = options["maximize"], options["target"]
    features = options["features"]
    stat_tables = [
        resolve_table(
            spec,
            options["data_dir"],
            target=target,
            direction="minimize" if maximize is False else "maximize",
            arch_col=options["arch_col"],
            layer_col=options["layer_col"],
            features=[f.strip() for f in features.split(",")] if features else None,
            drop_invalid=options["drop_invalid"],
            device=options["device"],
            settings=options["extraction"],
            labels=options["labels"],
        )  # fmt: skip
        for spec in tables
    ]
    from lpzero_sr.fit.pipeline import fit_table, fit_tables, split
    from lpzero_sr.rundir import RunDir

    if target is not None and maximize is None and stat_tables[0].target == target:
        click.echo(f"note: assuming --maximize (higher {target} is better); pass --minimize for a loss or perplexity")
    splits = [split(t, settings.train_size, settings.search.seed) for t in stat_tables]
    for name, table, (train, test) in zip(tables, stat_tables, splits, strict=True):
        n_test = len(test.archs) if test is not None else 0
        click.echo(
            (f"{name}: " if len(tables) > 1 else "")
            + f"{len(train.archs)} training / {plural(n_test, 'held-out architecture')}, "
            f"{plural(len(table.features), 'feature')}, target {table.target} ({table.direction})"
        )
    checkpoint = options["checkpoint"]
    if checkpoint is not None and any(checkpoint.rglob("*_state.*")):
        click.echo(f"resuming the search saved in {checkpoint} (same table, rules, loss and seed required)")
    with progress_bar(settings) as progress:
        if isinstance(settings, FitSettings):
            result = fit_table(*splits[0], settings, checkpoint=checkpoint, progress=progress)
        else:
            result = fit_tables(stat_tables, settings, names=list(tables), checkpoint=checkpoint, progress=progress)
    result.proxy.fitted_on = ",".join(tables)
    if isinstance(settings, FitSettings):
        print_result(result)
    else:
        print_multi(result)
    paths = RunDir(out).write(result.record())
    click.echo("wrote " + ", ".join(str(p) for p in paths))
    if result.front.stopped == "interrupted":
        click.echo(f"interrupted: kept the front found so far in {out}", err=True)
        raise SystemExit(INTERRUPTED)  # files are written; the exit status still says the run was cut short


STAT_LABEL = {"spearman": "rho", "kendall": "tau"}


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@contextmanager
def progress_bar(settings: FitSettings | MultiFitSettings) -> Iterator[Callable[[int, int, float], None]]:
    """A tqdm bar over the generations of every search (or the seconds of a time limit) and its callback."""
    import time

    from tqdm import tqdm

    search = settings.search
    generations = search.budgeted_generations
    total = generations if generations is not None else (int(search.time_limit) if search.time_limit else None)
    total = total * getattr(settings, "bag", 1) if total is not None else None
    unit = "gen" if generations is not None or search.time_limit is None else "s"
    label = STAT_LABEL[search.loss]
    with tqdm(total=total, desc="search", unit=unit, mininterval=1.0) as bar:
        start = time.monotonic()

        shown = [0.0]

        def progress(generation: int, n_evals: int, best: float) -> None:  # generation: over all searches of a bag
            now = time.monotonic()
            last = unit == "gen" and total is not None and generation >= total  # always drawn
            if now - shown[0] < 0.25 and not last:  # the compiled engine reports hundreds of generations a second
                return
            shown[0] = now
            done = generation if unit == "gen" else min(int(now - start), total or 0)
            bar.update(done - bar.n)
            bar.set_postfix({f"best_{label}": f"{1 - best:.4f}", "evals": n_evals, "gen": generation})

        yield progress


def print_result(result: FitResult) -> None:
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
        rows = [("proxy", p)]
        if result.chosen is None:  # an ensemble: the compact formula it is reported beside
            size = result.front.candidates[result.compact].complexity
            rows.append((f"first search's formula ({size} nodes)", result.members[result.compact]["heldout"]))
        rows += [(name, b), *((f"peer {k}", v) for k, v in result.report.get("peers", {}).items())]
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
    print_search_end([run.front for run in result.runs])


def print_multi(result: MultiFitResult) -> None:
    """The front (mean train statistic over the tasks), the chosen proxy and each task's held-out rows."""
    label = STAT_LABEL[result.proxy.loss]
    click.echo(f"\nPareto front (multi-task train loss as {label}; * = chosen by --select {result.proxy.selection}):")
    click.echo(f"  {'size':>5} {'train':>7}  formula")
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
    print_search_end([result.front])


def print_search_end(searches: Sequence[Front]) -> None:
    """What every search of the fit cost, then the first search's rejections and why it stopped early (a bag's
    first front says so when Ctrl-C ended the bag)."""
    front = searches[0]
    generations, evals = sum(f.generations for f in searches), sum(f.evaluations for f in searches)
    seconds = sum(f.seconds for f in searches)
    what = f"{len(searches)} searches" if len(searches) > 1 else "search"
    counts = f"{generations:,} generations, {evals:,} formulas evaluated in " if evals else ""  # PySR counts neither
    click.echo(f"{what}: {counts}{seconds:.1f} s")
    if front.rejections:
        click.echo("rejections per rule: " + ", ".join(f"{k}={v}" for k, v in front.rejections.items()))
    if front.stopped in ("time limit", "interrupted"):
        click.echo(f"search stopped early: {front.stopped} (generation {front.generations})")
