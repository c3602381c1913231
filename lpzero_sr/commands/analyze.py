"""``lpzero-sr analyze TABLE...``: proxy correlation map, size bias and complementarity of one or more tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from lpzero_sr.analysis_settings import MI_BINS, SIZE_COLUMNS, STRATA
from lpzero_sr.commands.interrupt import nothing_kept

if TYPE_CHECKING:
    from lpzero_sr.table import StatTable

MAX_DEFAULT_FEATURES = 24


def default_features(table: StatTable) -> list[str] | None:
    """A readable default for wide tables (statistics banks): the classic proxies the table holds."""
    if len(table.features) <= MAX_DEFAULT_FEATURES:
        return None
    from lpzero_sr.features.proxies import PROXIES

    classic = [name for name in PROXIES.names() if name in table.features]
    return classic or None


@click.command("analyze")
@click.argument("tables", nargs=-1, required=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("analysis"),
    show_default=True,
    help="Folder for the figures and summary.md.",
)
@click.option("--features", help="Comma-separated proxy columns (default: all; wide tables: the classic proxies).")
@click.option("--size", help="Size column for the size bias (default: params, flops or params_nonemb).")
@click.option("--bins", default=MI_BINS, show_default=True, help="Quantile bins of the ranks for mutual information.")
@click.option("--strata", default=STRATA, show_default=True, help="Quantile bins of size for the within-size rho.")
@click.option("--target", help="Ground-truth column of a table file.")
@click.option("--minimize", is_flag=True, help="A table file's target is lower-is-better.")
@click.option("--arch-col", help="Architecture id column of a table file.")
@click.option("--layer-col", help="Layer column of a per-layer table file (columns are averaged over layers).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Benchmark data root.")
@nothing_kept("figures and summary.md are written at the end")
def command(
    tables: tuple[str, ...],
    out: Path,
    features: str | None,
    size: str | None,
    bins: int,
    strata: int,
    target: str | None,
    minimize: bool,
    arch_col: str | None,
    layer_col: str | None,
    data_dir: Path | None,
) -> None:
    """Analyse TABLE... (benchmark names such as nb201-cifar10, or table files): figures and summary.md in --out."""
    from lpzero_sr.table_sources import resolve_table

    chosen = [f.strip() for f in features.split(",")] if features else None
    named = []  # every table is read (and a missing one refused) before any is analysed
    for spec in tables:
        table = resolve_table(
            spec, data_dir, target=target, direction="minimize" if minimize else "maximize", arch_col=arch_col,
            layer_col=layer_col, features=chosen,
        )  # fmt: skip
        narrowed = None if chosen else default_features(table)
        if narrowed:
            from lpzero_sr.table import StatTable

            keep = sorted({*narrowed, *(c for c in SIZE_COLUMNS if c in table.frame.columns)})
            click.echo(f"{spec}: {len(keep)} classic proxy columns of {len(table.features)} (choose with --features)")
            table = StatTable.from_frame(
                table.frame, table.target, table.direction, arch_col=table.arch_col, layer_col=table.layer_col,
                features=keep,
            )  # fmt: skip
        named.append((Path(spec).stem if Path(spec).is_file() else spec, table))
    from lpzero_sr.analyze import analyze_table, key_lines, write_analysis  # matplotlib, scikit-learn

    results = []
    for name, table in named:
        result = analyze_table(name, table, size=size, n_bins=bins, strata_bins=strata)
        results.append(result)
        for line in key_lines(result):
            click.echo(line)
    figures, summary = write_analysis(results, out)
    click.echo(f"wrote {len(figures)} figures and {summary}")
