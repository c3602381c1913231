"""CLI commands, one module each; :func:`all_commands` lists them for the click group."""

from __future__ import annotations

import click


def all_commands() -> list[click.Command]:
    from lpzero_sr.commands import baselines, data, export, extract, fit, label, report, score

    return [module.command for module in (fit, export, extract, data, baselines, score, label, report)]
