"""``lpzero-sr report RUN_DIR``: Markdown and HTML report with plots of a fit or protocol run."""

from __future__ import annotations

from pathlib import Path

import click

from lpzero_sr.report import write_report


@click.command("report")
@click.argument("run_dir", type=click.Path(path_type=Path))
def command(run_dir: Path) -> None:
    """Write RUN_DIR/report.md and RUN_DIR/report.html (scatter, Pareto front, convergence, baselines)."""
    md, page = write_report(run_dir)
    click.echo(f"wrote {md} and {page}")
