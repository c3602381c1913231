"""``lpzero-sr data list|download``: the public benchmark files, checked by SHA-256."""

from __future__ import annotations

from pathlib import Path

import click

from lpzero_sr.commands.interrupt import kept_on_interrupt

DATA_DIR_HELP = "Data root (default: $LPZERO_SR_DATA, else ~/.cache/lpzero-sr/data)."


@click.group("data")
def command() -> None:
    """List and download the public benchmark files (origin URLs, SHA-256 checks, local mirror)."""


@command.command("list")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help=DATA_DIR_HELP)
def list_command(data_dir: Path | None) -> None:
    """Each dataset, its file count, license, folder, origin and whether the data root holds it intact, then each
    file's published SHA-256 and path under the data root (the format of ``sha256sum -c``)."""
    from lpzero_sr.spaces.base import resolve_data_dir  # the spaces package (torch): after the arguments are read
    from lpzero_sr.spaces.data import datasets, missing_or_stale

    root, _ = resolve_data_dir(data_dir)
    click.echo(f"data root: {root}")
    for name, spec in datasets().items():
        stale = {f.path for f in missing_or_stale(spec, root)}
        status = "ok" if not stale else f"{len(stale)} of {len(spec.files)} files missing or stale"
        click.echo(f"{name}: {len(spec.files)} files in {spec.folder}/, {spec.license}, {status}")
        click.echo(f"  {spec.description}")
        click.echo(f"  origin: {spec.origin}")
        for file in spec.files:
            mark = "  (missing or stale)" if file.path in stale else ""
            click.echo(f"  {file.sha256}  {spec.folder}/{file.path}{mark}")


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
    from lpzero_sr.spaces.base import dataset_for, resolve_data_dir  # the spaces package (torch)
    from lpzero_sr.spaces.data import datasets, ensure_dataset

    root, _ = resolve_data_dir(data_dir)
    specs = list(datasets().values()) if name == "all" else [dataset_for(name)]
    with kept_on_interrupt(lambda: f"files fetched and verified so far are kept in {root}; rerun to fetch the rest"):
        for spec in specs:
            folder = ensure_dataset(spec, root, mirror=mirror, force=force)
            click.echo(f"{spec.name}: {len(spec.files)} files verified in {folder}")
