"""Reports of a run directory: plots (matplotlib, Agg) and a Markdown + HTML page.

A run directory is what ``lpzero-sr fit --out`` writes (``proxy.json``, ``front.json``, ``history.json``,
``predictions.csv``) or what the protocol writes (``summary.json`` and one such folder per seed,
``seed_<k>/``; optionally ``ablation.json`` with convergence curves with and without the pruning rules).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from lpzero_sr.errors import LpzeroError  # noqa: E402
from lpzero_sr.proxy import Proxy  # noqa: E402


class ReportError(LpzeroError):
    """A run directory without the files a report needs."""


def _seed_dirs(run_dir: Path) -> list[Path]:
    if (run_dir / "proxy.json").is_file():
        return [run_dir]
    dirs = sorted(p for p in run_dir.glob("seed_*") if (p / "proxy.json").is_file())
    if not dirs:
        raise ReportError(f"{run_dir} holds no proxy.json (neither a fit nor a protocol run directory)")
    return dirs


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def plot_scatter(predictions: pd.DataFrame, path: Path, title: str) -> Path:
    test = predictions[predictions["split"] == "test"]
    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    ax.scatter(test["score"].rank(), test["target"].rank(), s=8, alpha=0.6, label="held-out")
    ax.set_xlabel("proxy rank")
    ax.set_ylabel("ground-truth rank (higher is better)")
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def plot_front(fronts: list[list[dict[str, Any]]], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    for i, front in enumerate(fronts):
        xs = [c["complexity"] for c in front]
        ys = [1 - c["loss"] for c in front]
        ax.step(xs, ys, where="post", marker="o", ms=3, label=f"run {i}")
    ax.set_xlabel("complexity (nodes)")
    ax.set_ylabel("train rank correlation")
    ax.set_title("Pareto front", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_convergence(curves: dict[str, list[tuple[float, float]]], path: Path, ylabel: str) -> Path:
    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    for name, points in curves.items():
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker=".", label=name)
    ax.set_xlabel("formula evaluations")
    ax.set_ylabel(ylabel)
    ax.set_title("Convergence", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_baselines(values: dict[str, float], path: Path, highlight: str = "found proxy", top: int = 20) -> Path:
    """Horizontal bars of the ``top`` best columns and the found proxy (per-layer tables have hundreds)."""
    names = sorted(values, key=values.get)[-top:]  # type: ignore[arg-type]
    if highlight in values and highlight not in names:
        names.append(highlight)
    fig, ax = plt.subplots(figsize=(5.0, 0.25 * len(names) + 1.2))
    colors = ["tab:red" if n == highlight else "tab:blue" for n in names]
    ax.barh(names, [values[n] for n in names], color=colors)
    ax.axvline(0, color="black", lw=0.5)
    ax.set_xlabel("held-out Spearman rho")
    ax.tick_params(axis="y", labelsize=7)
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(run_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (with PNG plots) into ``run_dir``; returns both paths."""
    run = Path(run_dir)
    if not run.is_dir():
        raise ReportError(f"run directory not found: {run}")
    seeds = _seed_dirs(run)
    summary = _json(run / "summary.json")
    proxies = [Proxy.load(d / "proxy.json") for d in seeds]
    lines = [f"# lpzero-sr report: {summary.get('benchmark', run.name)}", ""]
    lines += _summary_lines(summary, proxies)
    images: list[tuple[str, Path]] = []
    predictions = seeds[0] / "predictions.csv"
    if predictions.is_file():
        title = f"{seeds[0].name}: {proxies[0].text()}"[:90]
        images.append(("Proxy vs ground truth (held-out)", plot_scatter(pd.read_csv(predictions), run / "scatter.png",
                                                                          title)))  # fmt: skip
    fronts = [_json(d / "front.json").get("candidates", []) for d in seeds]
    if any(fronts):
        images.append(("Pareto front", plot_front(fronts, run / "front.png")))
    ablation = _json(run / "ablation.json")
    if ablation.get("curves"):
        curves = {k: [tuple(p) for p in v] for k, v in ablation["curves"].items()}
        images.append(("Convergence (held-out rho of the chosen formula)",
                       plot_convergence(curves, run / "convergence.png", "held-out Spearman rho")))  # fmt: skip
    else:
        curves = {d.name: [(e, 1 - loss) for e, loss in _json(d / "history.json").get("history", [])] for d in seeds}
        if any(curves.values()):
            images.append(("Convergence (best train rho)", plot_convergence(curves, run / "convergence.png",
                                                                            "train Spearman rho")))  # fmt: skip
    if summary.get("baselines"):
        values = {c: m["spearman"]["mean"] for c, m in summary["baselines"].items()}
        values["found proxy"] = summary["proxy"]["spearman"]["mean"]
        images.append(
            ("Held-out Spearman: found proxy vs every baseline", plot_baselines(values, run / "baselines.png"))
        )
    for caption, image in images:
        lines += [f"## {caption}", "", f"![{caption}]({image.name})", ""]
    md = run / "report.md"
    md.write_text("\n".join(lines) + "\n")
    page = run / "report.html"
    page.write_text(_html(lines))
    return md, page


def _summary_lines(summary: dict[str, Any], proxies: list[Proxy]) -> list[str]:
    lines = []
    if summary:
        direction = summary.get("direction", "")
        lines += [
            f"Target `{summary.get('target', '')}` ({direction}; a minimised target is negated, so every correlation "
            "below is 'higher is better'). "
            f"Trained on {summary.get('n_train', '?')} architectures, evaluated on the {summary.get('n_test', '?')} "
            f"others, seeds {summary.get('seeds', [])}.",
            "",
            "| metric | mean | std | min | max |",
            "|---|---|---|---|---|",
        ]
        for metric, s in summary.get("proxy", {}).items():
            lines.append(f"| {metric} | {s['mean']:.4f} | {s['std']:.4f} | {s['min']:.4f} | {s['max']:.4f} |")
        best = summary.get("best_baseline")
        if best:
            b = summary["baselines"][best]["spearman"]
            lines += [
                "",
                f"Best baseline on the same held-out rows: `{best}`, Spearman {b['mean']:.4f} ± {b['std']:.4f}.",
            ]
        lines.append("")
    lines += ["## Formulas", ""]
    for proxy in proxies:
        held = proxy.metrics.get("heldout", {})
        rho = f" (held-out rho {held['spearman']:.4f})" if "spearman" in held else ""
        lines.append(f"- seed {proxy.seed}{rho}: $${proxy.latex()}$$")
    return [*lines, ""]


def _html(lines: list[str]) -> str:
    """A small Markdown subset (headings, tables, images, paragraphs) as one HTML page."""
    body: list[str] = []
    rows: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("|"):
            if not line.startswith("|---"):
                tag = "th" if not rows else "td"
                rows.append(
                    "<tr>"
                    + "".join(f"<{tag}>{html.escape(c.strip())}</{tag}>" for c in line.strip("|").split("|"))
                    + "</tr>"
                )
            continue
        if rows:
            body.append("<table>" + "".join(rows) + "</table>")
            rows = []
        if line.startswith("!["):
            caption, src = line[2:].split("](")
            body.append(f'<img src="{html.escape(src[:-1])}" alt="{html.escape(caption)}">')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    head = (
        "<!doctype html><meta charset='utf-8'><title>lpzero-sr report</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}td,th{padding:2px 8px}</style>"
    )
    return head + "\n" + "\n".join(body) + "\n"
