"""``lpzero-sr label SPACE --n N --steps S``: train sampled architectures briefly and record validation loss."""

from __future__ import annotations

from pathlib import Path

import click

from lpzero_sr.commands.interrupt import kept_on_interrupt
from lpzero_sr.commands.options import device_option
from lpzero_sr.errors import ConfigError
from lpzero_sr.fsutil import run_lock


@click.command("label")
@click.argument("space")
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Number of architectures to sample.")
@click.option(
    "--steps",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Training steps each (0: evaluate only, for spaces whose models inherit trained weights).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the architecture sample only: which N architectures are drawn (each model's initialisation and "
    "training batches come from --train-seeds).",
)
@click.option(
    "--train-seeds",
    "--train-seed",
    "train_seeds",
    default="0",
    show_default=True,
    help="Comma-separated seeds of initialisation and batches; each architecture is trained once per seed and "
    "labelled with the mean validation loss.",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--seq-len", type=click.IntRange(min=2), default=64, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=2e-3, show_default=True)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default runs/labels/SPACE); a rerun resumes it.",
)
@click.option(
    "--corpus",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Text file to train on (default: Python's documentation topics).",
)
@device_option("the models are trained")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads (default: torch's).")
def command(
    space: str,
    n: int,
    steps: int,
    seed: int,
    train_seeds: str,
    batch_size: int,
    seq_len: int,
    lr: float,
    out: Path | None,
    corpus: Path | None,
    device: str,
    threads: int | None,
) -> None:
    """Sample N architectures of SPACE, train each for S steps on a local corpus, record validation loss.

    SPACE is a registered space or a sub-network space YAML (``lpzero_sr.spaces.subnet``)."""
    seeds = parse_seeds(train_seeds)
    # torch, pandas and the spaces: after the arguments are read
    from lpzero_sr.features.extract import resolve_device
    from lpzero_sr.labeling import TrainSettings, label_space
    from lpzero_sr.spaces import get_space
    from lpzero_sr.spaces.labels import read_labels

    chosen = get_space(space)
    settings = TrainSettings(steps=steps, batch_size=batch_size, seq_len=seq_len, lr=lr, warmup=max(1, steps // 10))
    out = out or Path("runs") / "labels" / chosen.name
    with run_lock(out, "labelling run"), kept_on_interrupt(lambda: _kept(out)):
        path = label_space(chosen, n, out, seed, settings, corpus, resolve_device(device), threads, train_seeds=seeds)
    labels = read_labels(path)
    loss = labels["val_loss"]
    seed_names = ",".join(c.removeprefix("val_loss_seed") for c in labels.columns if c.startswith("val_loss_seed"))
    click.echo(
        f"{len(labels)} labelled architectures in {path} (training seeds {seed_names}): val_loss "
        f"{loss.min():.3f}-{loss.max():.3f} (median {loss.median():.3f})"
    )


def _kept(out: Path) -> str:
    """What an interrupted labelling kept: the finished (architecture, training seed) lines of its labels file."""
    from lpzero_sr.spaces.labels import LABELS_FILE

    path = out / LABELS_FILE
    lines = path.read_text(encoding="utf-8").count("\n") if path.exists() else 0
    return f"{lines} finished (architecture, training seed) run(s) kept in {path}; rerun the same command to resume"


def parse_seeds(text: str) -> list[int]:
    """``"0,1"`` -> ``[0, 1]``; :class:`ConfigError` on anything but comma-separated integers."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--train-seeds must be comma-separated integers, got {text!r}") from None
    if not seeds:
        raise ConfigError("--train-seeds needs at least one seed")
    return seeds
