"""``lpzero-sr baselines BENCHMARK``: Spearman rho and Kendall tau of every classic proxy vs the ground truth."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lpzero_sr.commands.interrupt import kept_on_interrupt
from lpzero_sr.commands.options import BENCHMARKS, device_option, extraction_options
from lpzero_sr.errors import DataError
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.fsutil import atomic_write_text

if TYPE_CHECKING:
    import pandas as pd

SIGN = (
    "Sign convention: proxies are higher-is-better; a minimised target is negated before correlating, "
    "so a positive correlation means the proxy ranks architectures correctly."
)


@click.command("baselines")
@click.argument("benchmark", type=click.Choice(BENCHMARKS))
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv"]), default="markdown", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the table here (default stdout).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Benchmark data root.")
@extraction_options()
@device_option("the models are built and scored")
@click.option(
    "--stats",
    type=click.Choice(["all", "none"]),
    default="all",
    show_default=True,
    help="Also extract every bank statistic (cached for the search).",
)
@click.option(
    "--proxies",
    type=click.Choice(["all", "single", "extra"]),
    default="all",
    show_default=True,
    help="'single' skips the proxies that need extra passes (synflow, logsynflow, grasp, jacov, jacob_cos); "
    "'extra' runs only those.",
)
@click.option("--limit", type=int, help="Only N architectures, drawn at random with --seed.")
@click.option(
    "--tables",
    type=click.Path(file_okay=False, path_type=Path),
    help="Extraction directory (default ~/.cache/lpzero-sr/tables/<benchmark>/b<B>-t<T>-s<seed>).",
)
@click.option("--published", is_flag=True, help="flexibert: add the authors' published proxy values and agreement.")
def command(
    benchmark: str,
    fmt: str,
    out: Path | None,
    data_dir: Path | None,
    extraction: ExtractSettings,
    device: str,
    stats: str,
    proxies: str,
    limit: int | None,
    tables: Path | None,
    published: bool,
) -> None:
    """Rank correlation of every classic proxy with BENCHMARK's ground truth, over all its architectures."""
    import numpy as np  # numpy, pandas, torch and the spaces: after the arguments are read

    from lpzero_sr import baselines as bl
    from lpzero_sr.spaces import load_benchmark, resolve_data_dir

    bench = load_benchmark(benchmark, data_dir)
    sections: list[tuple[str, pd.DataFrame]] = []
    if bench.features is not None:
        sections.append(
            (f"{benchmark}: precomputed proxies vs {bench.target} ({bench.direction})", bl.baseline_table(bench))
        )
        per_arch = None
    else:
        archs = bench.archs
        if limit is not None:
            archs = [archs[i] for i in np.random.default_rng(extraction.seed).permutation(len(archs))[:limit]]
        settings = replace(extraction, proxies=proxies)
        folder = bl.table_dir(bench.name, settings, tables)
        with kept_on_interrupt(lambda: _kept(folder)):
            per_arch = bl.extract_benchmark(bench, settings, tables, stats=stats, device=device, archs=archs)
        per_arch = per_arch[per_arch["arch"].astype(str).isin(set(archs))]
        table = bl.baseline_table(bench, per_arch)
        sections.append(
            (
                f"{benchmark}: {len(per_arch)} architectures, batch {settings.batch_size}x{settings.seq_len}, "
                f"seed {settings.seed}, "
                f"proxies vs {bench.target} ({bench.direction})",
                table,
            )
        )
        published_lpzero = bl.lpzero_published(table, benchmark)
        if len(published_lpzero):
            sections.append(
                ("LPZero's published proxies: signed here, beside LPZero's reported value", published_lpzero)
            )
    if published:
        if benchmark != "flexibert":
            raise DataError("--published is available for flexibert only")
        root, _ = resolve_data_dir(data_dir)
        theirs = bl.published_flexibert(root / "flexibert" / "BERT_results_activation.csv")
        if per_arch is not None:  # the same architectures as ours, for a like-for-like comparison
            theirs = theirs[theirs.index.isin(set(per_arch["arch"].astype(str)))]
        sections.append(("authors' published proxy values vs glue", bl.correlations(bench, theirs, list(theirs))))
        if per_arch is not None:
            sections.append(
                (
                    "agreement: Spearman rho between our and the published value of each proxy",
                    bl.agreement(per_arch, theirs),
                )
            )
    text = _render(sections, fmt)
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write_text(out, text)


def _kept(folder: Path) -> str:
    """What an interrupted baselines run kept: the extraction records in its cache folder."""
    from lpzero_sr.features.cache import RECORDS, read_records

    done = len({r["arch"] for r in read_records(folder) if not r.get("error")})
    return f"{done} architecture record(s) kept in {folder / RECORDS}; rerun the same command to go on from there"


def _render(sections: list[tuple[str, pd.DataFrame]], fmt: str) -> str:
    import pandas as pd

    from lpzero_sr import baselines as bl

    if fmt == "csv":
        frames = [frame.assign(table=title) for title, frame in sections]
        return pd.concat(frames, ignore_index=True).to_csv(index=False)
    parts = [SIGN, ""]
    for title, frame in sections:
        parts += [f"**{title}**", "", bl.to_markdown(frame), ""]
    return "\n".join(parts)
