"""CLI commands, one module each, imported only when the command runs (``lpzero-sr --help`` stays fast).

:data:`COMMANDS` maps each command to the one-line summary shown by ``lpzero-sr --help``.
"""

from __future__ import annotations

import importlib

import click

COMMANDS = {
    "fit": "Search a table or benchmark for a proxy; report it on held-out architectures.",
    "export": "Print a proxy file as sympy, LaTeX, torch source or JSON.",
    "extract": "Extract statistics and classic proxies of model configs or a benchmark.",
    "data": "List and download the public benchmark files (SHA-256 checked, local mirror).",
    "baselines": "Rank correlation of every classic proxy with a benchmark's ground truth.",
    "score": "Score architectures with a proxy file.",
    "label": "Label a space: train sampled architectures briefly, record validation loss.",
    "nas": "Search a space for architectures with a proxy as the objective (aging evolution, resumable).",
    "report": "Write a Markdown/HTML report with plots of a fit or protocol run.",
    "analyze": "Proxy correlation map, size bias and complementarity of one or more tables (figures + Markdown).",
}


def load_command(name: str) -> click.Command:
    return importlib.import_module(f"lpzero_sr.commands.{name}").command
