"""``lpzero-sr export``: print a saved proxy as sympy, LaTeX, torch source or its JSON file."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("export")
@click.argument("proxy_file", metavar="PROXY", type=click.Path(path_type=Path))
@click.option("--member", type=click.IntRange(min=0), help="Front member N of the run instead of the chosen proxy.")
@click.option(
    "--format", "fmt", type=click.Choice(["sympy", "latex", "torch", "json"]), default="sympy", show_default=True
)
def command(proxy_file: Path, member: int | None, fmt: str) -> None:
    """Print the proxy in PROXY (a proxy.json, a fit run dir or its front.json; --member N for another member).

    sympy: text that sympy.parse_expr(text, evaluate=False) reads back to the unevaluated expression (statistics as
    Symbol('name'); logabs, sqrtabs, expc, sigmoid, inv, divide, max2, min2 are the guarded operators of
    lpzero_sr.operators); torch: standalone source, including the reduction over layers of a per-layer proxy."""
    from lpzero_sr.rundir import load_proxy  # numpy, pandas, scipy: after the arguments are read

    proxy = load_proxy(proxy_file, member)
    if fmt == "sympy":
        click.echo(proxy.sympy_text())
    elif fmt == "latex":
        click.echo(proxy.latex())
    elif fmt == "torch":
        click.echo(proxy.torch_source(), nl=False)
    else:
        click.echo(json.dumps(proxy.to_json(), indent=2))
