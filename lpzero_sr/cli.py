"""The ``lpzero-sr`` command line: one click group; each command lives in ``lpzero_sr.commands``."""

from __future__ import annotations

import logging
from typing import Any

import click

from lpzero_sr.commands import COMMANDS, load_command
from lpzero_sr.commands.interrupt import INTERRUPTED
from lpzero_sr.errors import LpzeroError


class _Group(click.Group):
    """Loads each command on first use; turns :class:`LpzeroError` (bad input, missing data) into one
    ``Error: ...`` line, exit code 1, and Ctrl-C into exit code 130."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(sorted(COMMANDS.items()))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LpzeroError as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:  # commands that keep work say what (lpzero_sr.commands.interrupt); same status
            click.echo("interrupted", err=True)
            raise SystemExit(INTERRUPTED) from None


@click.group(cls=_Group)
@click.version_option(package_name="lpzero-sr")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Discover zero-cost proxies for language-model NAS by symbolic regression on rank correlation."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
