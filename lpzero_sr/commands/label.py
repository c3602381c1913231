"""``lpzero-sr label SPACE --n N --steps S``: train sampled architectures briefly and record validation loss."""

from __future__ import annotations

from pathlib import Path

import click

from lpzero_sr.errors import ConfigError
from lpzero_sr.features.extract import resolve_device
from lpzero_sr.labeling import TrainSettings, label_space, read_labels
from lpzero_sr.spaces import base


@click.command("label")
@click.argument("space")
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Number of architectures to sample.")
@click.option("--steps", type=click.IntRange(min=1), default=200, show_default=True, help="Training steps each.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the architecture sample.")
@click.option("--train-seed", type=int, default=0, show_default=True, help="Seed of initialisation and batches.")
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
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads (default: torch's).")
def command(
    space: str,
    n: int,
    steps: int,
    seed: int,
    train_seed: int,
    batch_size: int,
    seq_len: int,
    lr: float,
    out: Path | None,
    corpus: Path | None,
    device: str,
    threads: int | None,
) -> None:
    """Sample N architectures of SPACE, train each for S steps on a local corpus, record validation loss."""
    try:
        chosen = base.SPACES.get(space)
    except KeyError as exc:
        raise ConfigError(exc.args[0]) from None
    settings = TrainSettings(
        steps=steps, batch_size=batch_size, seq_len=seq_len, lr=lr, warmup=max(1, steps // 10), train_seed=train_seed
    )
    path = label_space(
        chosen, n, out or Path("runs") / "labels" / space, seed, settings, corpus, resolve_device(device), threads
    )
    labels = read_labels(path)
    loss = labels["val_loss"]
    click.echo(
        f"{len(labels)} labelled architectures in {path}: val_loss {loss.min():.3f}-{loss.max():.3f} "
        f"(median {loss.median():.3f})"
    )
