"""``lpzero-sr data list|download``: the public benchmark files, checked by SHA-256."""

from __future__ import annotations

from pathlib import Path

import click

from lpzero_sr.spaces.base import dataset_for, resolve_data_dir
from lpzero_sr.spaces.data import datasets, ensure_dataset, missing_or_stale

DATA_DIR_HELP = "Data root (default: $LPZERO_SR_DATA, else ~/.cache/lpzero-sr/data)."


@click.group("data")
def command() -> None:
    """List and download the public benchmark files (origin URLs, SHA-256 checks, local mirror)."""


@command.command("list")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help=DATA_DIR_HELP)
def list_command(data_dir: Path | None) -> None:
    """Each dataset, its file count, license, folder, origin and whether the data root holds it intact."""
    root, _ = resolve_data_dir(data_dir)
    click.echo(f"data root: {root}")
    for name, spec in datasets().items():
        bad = len(missing_or_stale(spec, root))
        status = "ok" if not bad else f"{bad} of {len(spec.files)} files missing or stale"
        click.echo(f"{name}: {len(spec.files)} files in {spec.folder}/, {spec.license}, {status}")
        click.echo(f"  {spec.description}")
        click.echo(f"  origin: {spec.origin}")


@command.command("download")
@click.argument("name")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help=DATA_DIR_HELP)
@click.option(
    "--mirror",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Copy from this local mirror (<mirror>/<folder>/...) instead of downloading; default $LPZERO_SR_MIRROR.",
)
@click.option("--force", is_flag=True, help="Fetch every file again even when present with the right hash.")
def download_command(name: str, data_dir: Path | None, mirror: Path | None, force: bool) -> None:
    """Fetch dataset NAME (a dataset, a benchmark such as nb201-cifar10, or 'all'); verify every SHA-256."""
    root, _ = resolve_data_dir(data_dir)
    specs = list(datasets().values()) if name == "all" else [dataset_for(name)]
    for spec in specs:
        folder = ensure_dataset(spec, root, mirror=mirror, force=force)
        click.echo(f"{spec.name}: {len(spec.files)} files verified in {folder}")
