"""CLI commands, one module each; :func:`all_commands` lists those that exist."""

from __future__ import annotations

import importlib

import click

COMMAND_MODULES = ("fit", "export", "extract", "data", "baselines", "score", "label", "report")


def all_commands() -> list[click.Command]:
    commands = []
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"lpzero_sr.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lpzero_sr.commands.{name}":
                raise
            continue
        commands.append(module.command)
    return commands
