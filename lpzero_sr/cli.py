"""The ``lpzero-sr`` command line: one click group; each command lives in ``lpzero_sr.commands``."""

from __future__ import annotations

import logging
from typing import Any

import click

from lpzero_sr.errors import LpzeroError


class _Group(click.Group):
    """Turns :class:`LpzeroError` (bad input, missing data) into one ``Error: ...`` line, exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LpzeroError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group)
@click.version_option(package_name="lpzero-sr")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Discover zero-cost proxies for language-model NAS by symbolic regression on rank correlation."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from lpzero_sr import commands

    for command in commands.all_commands():
        main.add_command(command)


_register()
