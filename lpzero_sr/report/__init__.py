"""Reports of a run directory: ``report.md`` and a self-contained ``report.html`` with plots.

A fit run directory (``proxy.json`` at its top, see :mod:`lpzero_sr.report.fit_report`) or a protocol run
directory (``summary.json`` and ``seed_<k>/`` folders, see :mod:`lpzero_sr.report.protocol_report`). Formulas are
drawn offline with matplotlib's mathtext (:mod:`lpzero_sr.report.mathtext`): the HTML needs no network. A formula is
shown at its drawn size in lines no wider than the page (:mod:`lpzero_sr.report.layout`), and
:mod:`lpzero_sr.report.pagecheck` checks that in headless Chromium.
"""

from __future__ import annotations

from pathlib import Path

from lpzero_sr.fsutil import atomic_write_text
from lpzero_sr.rundir import RunDir, RunDirError

__all__ = ["write_report"]


def write_report(run_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (and their PNG plots) into ``run_dir``; returns both paths."""
    run = RunDir(run_dir)
    if not run.path.is_dir():
        raise RunDirError(f"run directory not found: {run.path}")
    kind = run.kind
    if kind not in ("fit", "protocol"):
        raise RunDirError(f"{run.path} holds no proxy.json (neither a fit nor a protocol run directory)")
    # pandas and matplotlib: once the run directory is known to hold a run
    from lpzero_sr.report.document import to_html, to_markdown

    if kind == "fit":
        from lpzero_sr.report.fit_report import fit_blocks

        blocks = fit_blocks(run)
    else:
        from lpzero_sr.report.protocol_report import protocol_blocks

        blocks = protocol_blocks(run)
    md = atomic_write_text(run.path / "report.md", to_markdown(blocks))
    page = atomic_write_text(run.path / "report.html", to_html(blocks, f"lpzero-sr report: {run.path.name}"))
    return md, page
