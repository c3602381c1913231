"""What an extraction cost, from the wall seconds its cache records hold (``seconds``, one per architecture).

    python benchmarks/extraction_cost.py                      # flexibert and lts-gpt2 at the baseline settings
    python benchmarks/extraction_cost.py --dir PATH [--dir PATH ...]

Prints, per cache folder, the architectures with a current record (the newest one of each), how many succeeded,
how many carry their seconds (records written before seconds were stored carry none: their cost is unknown), and
the total and mean seconds per architecture over those that do. Seconds are one architecture's wall time in its
worker (build, batch, every statistic and proxy); a parallel run's total is the sum over workers, not its wall time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import smoke

from lpzero_sr.baselines import table_dir
from lpzero_sr.features.cache import read_records
from lpzero_sr.features.settings import ExtractSettings

DEFAULTS = (("flexibert", ExtractSettings()), ("lts-gpt2", ExtractSettings(proxies="single")))


def summary(folder: Path) -> str:
    """One line about the records of ``folder``."""
    latest = {str(r["arch"]): r for r in read_records(folder)}
    if not latest:
        return f"{folder}: no records"
    ok = sum(1 for r in latest.values() if not r.get("error"))
    timed = [float(r["seconds"]) for r in latest.values() if r.get("seconds") is not None]
    line = f"{folder}: {len(latest)} architectures ({ok} ok, {len(latest) - ok} errors); "
    if not timed:
        return line + "seconds unknown (records written before seconds were stored)"
    unknown = f", {len(latest) - len(timed)} without seconds" if len(timed) < len(latest) else ""
    return line + f"{len(timed)} timed: total {sum(timed):.1f} s, mean {sum(timed) / len(timed):.2f} s/arch{unknown}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, action="append", help="A cache folder (repeatable).")
    args = smoke.parse(parser)
    folders = args.dir or [table_dir(name, settings) for name, settings in DEFAULTS]
    for folder in folders:
        print(summary(folder))


if __name__ == "__main__":
    main()
