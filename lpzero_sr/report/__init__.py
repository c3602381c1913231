"""Reports of a run directory: ``report.md`` and a self-contained ``report.html`` with plots.

A fit run directory (``proxy.json`` at its top, see :mod:`lpzero_sr.report.fit_report`) or a protocol run
directory (``summary.json`` and ``seed_<k>/`` folders, see :mod:`lpzero_sr.report.protocol_report`). Formulas are
drawn offline with matplotlib's mathtext (:mod:`lpzero_sr.report.mathtext`): the HTML needs no network.
"""

from __future__ import annotations

from pathlib import Path

from lpzero_sr.report.document import to_html, to_markdown
from lpzero_sr.report.fit_report import FitRun, fit_blocks
from lpzero_sr.report.protocol_report import protocol_blocks, seed_dirs
from lpzero_sr.report.runfiles import ReportError

__all__ = ["ReportError", "write_report"]


def write_report(run_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (and their PNG plots) into ``run_dir``; returns both paths."""
    run = Path(run_dir)
    if not run.is_dir():
        raise ReportError(f"run directory not found: {run}")
    if (run / "proxy.json").is_file():
        blocks = fit_blocks(FitRun.load(run))
    elif seeds := seed_dirs(run):
        blocks = protocol_blocks(run, seeds)
    else:
        raise ReportError(f"{run} holds no proxy.json (neither a fit nor a protocol run directory)")
    md, page = run / "report.md", run / "report.html"
    md.write_text(to_markdown(blocks))
    page.write_text(to_html(blocks, f"lpzero-sr report: {run.name}"))
    return md, page
