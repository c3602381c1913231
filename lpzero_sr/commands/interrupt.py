"""Ctrl-C, one convention for every command: exit status 130 and one line on stderr saying what was kept.

A command whose work survives an interrupt (a journal, a cache, files written so far) says where it is and how to
go on; :func:`kept_on_interrupt` wraps such a body, and :func:`nothing_kept` decorates a command that writes only at
its end. ``lpzero_sr.cli`` gives any other command the same exit status with a plain ``interrupted`` line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a process ended by Ctrl-C


@contextmanager
def kept_on_interrupt(kept: Callable[[], str]) -> Iterator[None]:
    """Turn Ctrl-C (``KeyboardInterrupt``) in the body into ``interrupted: <kept()>`` on stderr and exit status
    :data:`INTERRUPTED`; ``kept`` is asked only then, so it can count what was written."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo(f"interrupted: {kept()}", err=True)
        raise SystemExit(INTERRUPTED) from None


def nothing_kept(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A command decorator (below ``@click.command``'s options) for a command that writes only at its end: Ctrl-C
    says ``interrupted: nothing was written (<what>)``, exit status :data:`INTERRUPTED`."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with kept_on_interrupt(lambda: f"nothing was written ({what})"):
                return fn(*args, **kwargs)

        return wrapper

    return decorate
