"""``--smoke``, the tiny mode of every script in ``benchmarks/``: it runs the script's whole code path on tiny sizes
in seconds, so CI (``.ci/run``) notices a script that no longer runs; the numbers it prints mean nothing.

    args = smoke.parse(parser, n=2, generations=1)   # instead of parser.parse_args()
    for seed in smoke.first(args, split_seeds(args.split)): ...
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

HELP = "Tiny sizes: check in seconds that the script still runs (CI runs every script so); its numbers mean nothing."
T = TypeVar("T")


def parse(parser: argparse.ArgumentParser, **tiny: Any) -> argparse.Namespace:
    """``parser.parse_args()`` with a ``--smoke`` flag; with it, each option named in ``tiny`` takes that value (a
    callable is called: e.g. :func:`scratch` for a fresh temporary folder)."""
    parser.add_argument("--smoke", action="store_true", help=HELP)
    args = parser.parse_args()
    if args.smoke:
        vars(args).update({k: v() if callable(v) else v for k, v in tiny.items()})
    return args


def first(args: argparse.Namespace, items: Sequence[T]) -> list[T]:
    """``items``, or only the first of them with ``--smoke``."""
    return list(items)[:1] if args.smoke else list(items)


def scratch(prefix: str = "lpzero-smoke-") -> Callable[[], Path]:
    """A callable giving a fresh temporary folder (for the outputs of a smoke run: never the docs or runs/)."""
    return lambda: Path(tempfile.mkdtemp(prefix=prefix))
