"""Options shared by several commands, defined once: the extraction settings of a zero-cost batch, where
per-architecture work runs (``--workers``/``--ray``), on which device (``--device``), and the registered benchmark
names that a choice lists (:data:`BENCHMARKS`).

Defaults come from :class:`lpzero_sr.features.settings.ExtractSettings`, so ``baselines``, ``extract``, ``score``
and ``fit`` build the same batch (and share the same cached tables) unless told otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from lpzero_sr.features.settings import ExtractSettings

DEFAULTS = ExtractSettings()
POSITIVE = click.IntRange(min=1)
SEED_HELP = "Seed of each model's initialisation and of the token batch."


def extraction_options(seed_flag: str = "--seed") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--batch-size``, ``--seq-len`` and the init/batch seed (``seed_flag``; ``fit`` and ``nas`` name it
    ``--init-seed`` because their ``--seed`` draws the split or the search), handed to the command as ONE parameter,
    ``extraction``: the :class:`ExtractSettings` they make (its ``proxies`` left at the default)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def command(*args: Any, extract_batch_size: int, extract_seq_len: int, extract_seed: int, **kwargs: Any) -> Any:
            extraction = ExtractSettings(extract_batch_size, extract_seq_len, extract_seed)
            return fn(*args, extraction=extraction, **kwargs)

        options = (  # flag, parameter, default, type, help; listed by --help in this order
            ("--batch-size", "extract_batch_size", DEFAULTS.batch_size, POSITIVE, "Sequences in the zero-cost batch."),
            ("--seq-len", "extract_seq_len", DEFAULTS.seq_len, POSITIVE, "Tokens per sequence of the zero-cost batch."),
            (seed_flag, "extract_seed", DEFAULTS.seed, int, SEED_HELP),
        )
        decorated: Callable[..., Any] = command
        for flag, param, default, kind, text in reversed(options):
            decorated = click.option(flag, param, default=default, show_default=True, type=kind, help=text)(decorated)
        return decorated

    return decorate


def runner_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--workers``, ``--ray [auto|ADDRESS]`` and ``--gpus-per-task``: where per-architecture work runs
    (:func:`lpzero_sr.parallel.runner_from_options`; the parameters are ``workers``, ``ray_address``,
    ``gpus_per_task``)."""
    fn = click.option(
        "--gpus-per-task", default=0.0, show_default=True, help="GPUs Ray reserves for each architecture."
    )(fn)
    fn = click.option(
        "--ray",
        "ray_address",
        is_flag=False,
        flag_value="auto",
        metavar="[auto|ADDRESS]",
        help="One Ray task per architecture: 'auto' (bare --ray) starts a local cluster, else a cluster address.",
    )(fn)
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        help="Architectures processed at once; N > 1 without --ray starts a local Ray cluster of N workers.",
    )(fn)


DEVICES = ("auto", "cpu", "cuda")


def device_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--device auto|cpu|cuda`` (parameter ``device``; ``auto`` = CUDA when available): where ``what`` runs."""
    return click.option(
        "--device",
        type=click.Choice(DEVICES),
        default="auto",
        show_default=True,
        help=f"Where {what} (auto: CUDA when available).",
    )


# The names in lpzero_sr.spaces.SPACES, in its order: importing the spaces imports torch and transformers, too slow for
# `--help`; tests/test_cli_startup.py checks that the two agree.
BENCHMARKS = (
    "flexibert", "flexibert-electra", "lts-gpt2", "nb101-cifar10", "nb201-ImageNet16-120", "nb201-cifar10",
    "nb201-cifar100", "nb301-cifar10", "tiny-gpt2", "tiny-llama", "tiny-llama-subnets", "tnb101-macro-autoencoder",
    "tnb101-macro-class_object", "tnb101-macro-class_scene", "tnb101-macro-jigsaw", "tnb101-macro-normal",
    "tnb101-macro-room_layout", "tnb101-macro-segmentsemantic", "tnb101-micro-autoencoder",
    "tnb101-micro-class_object", "tnb101-micro-class_scene", "tnb101-micro-jigsaw", "tnb101-micro-normal",
    "tnb101-micro-room_layout", "tnb101-micro-segmentsemantic",
)  # fmt: skip
