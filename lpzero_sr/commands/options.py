"""Options shared by several commands, defined once: the extraction settings of a zero-cost batch.

Defaults come from :class:`lpzero_sr.baselines.ExtractSettings`, so ``baselines``, ``extract``, ``score`` and ``fit``
build the same batch (and share the same cached tables) unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from lpzero_sr.baselines import ExtractSettings

DEFAULTS = ExtractSettings()


def extraction_options(
    seed_flag: str = "--seed", seed_param: str = "seed"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--batch-size``, ``--seq-len`` and the init/batch seed (``seed_flag``; ``fit`` names it ``--init-seed``
    because its ``--seed`` draws the split and the search)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option(
            seed_flag,
            seed_param,
            default=DEFAULTS.seed,
            show_default=True,
            type=int,
            help="Seed of each model's initialisation and of the token batch.",
        )(fn)
        fn = click.option(
            "--seq-len",
            default=DEFAULTS.seq_len,
            show_default=True,
            type=click.IntRange(min=1),
            help="Tokens per sequence of the zero-cost batch.",
        )(fn)
        return click.option(
            "--batch-size",
            default=DEFAULTS.batch_size,
            show_default=True,
            type=click.IntRange(min=1),
            help="Sequences in the zero-cost batch.",
        )(fn)

    return decorate
