"""``lpzero-sr report RUN_DIR``: Markdown and HTML report with plots of a fit or protocol run."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("run_dir", type=click.Path(path_type=Path))
def command(run_dir: Path) -> None:
    """Write RUN_DIR/report.md and RUN_DIR/report.html for a fit or protocol run directory.

    A fit run gets its target and direction, a train / held-out table of the proxy beside the best single column,
    the formula drawn as math (offline, matplotlib mathtext), a held-out scatter, the Pareto front with the chosen
    member, and convergence. Missing optional files leave their section out with a note.
    """
    from lpzero_sr.report import write_report  # matplotlib and pandas: after the arguments are read

    md, page = write_report(run_dir)
    click.echo(f"wrote {md} and {page}")
