"""CLI start-up: seconds until each ``lpzero-sr`` subcommand answers ``--help``, and an argument or missing-file error.

    .venv/bin/python benchmarks/cli_startup.py [--repeats 5] [--smoke]

Goal: every number under 1 s on the 2-core machine (issue 23, item 7). Each run is a fresh process of the installed
``lpzero-sr`` entry point, in an empty folder; a number is the median wall time of ``--repeats`` runs, the cases
taken in turn so that a change of load hits all alike. One more run of each case under ``-X importtime`` says which
top-level packages it imported: the last line names every heavy library any case imported (none is the goal;
``tests/test_cli_startup.py`` asserts it), with the load average so a reader can judge how shared the CPUs were.
Prints one line per subcommand::

    cli-startup <command> help_s=<seconds> error_s=<seconds>
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import smoke

from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy

HEAVY = ("torch", "pandas", "scipy", "sympy", "transformers", "ray", "sklearn", "lightgbm", "xgboost", "numba",
         "matplotlib")  # fmt: skip
# each subcommand's error case: a missing file where it reads one, else arguments it refuses before any work
ERRORS = {
    "fit": ["fit", "nosuch.csv", "--out", "x"],
    "export": ["export", "nosuch.json"],
    "score": ["score", "proxy.json", "--table", "nosuch.csv"],
    "extract": ["extract", "--out", "x"],
    "nas": ["nas", "tiny-gpt2"],
    "label": ["label", "tiny-gpt2", "--n", "2", "--train-seeds", "a"],
    "report": ["report", "nosuch"],
    "analyze": ["analyze", "nosuch.csv"],
    "data": ["data", "download"],
    "baselines": ["baselines", "nosuch"],
}


def entry_point() -> list[str]:
    """The installed ``lpzero-sr`` script beside this interpreter (what a user runs), else the same through ``-c``."""
    script = Path(sys.executable).with_name("lpzero-sr")
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "import sys; from lpzero_sr.cli import main; sys.argv[0] = 'lpzero-sr'; main()"]


def run(args: list[str], folder: Path, importtime: bool = False) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"} if importtime else None
    start = time.perf_counter()
    done = subprocess.run([*entry_point(), *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    return time.perf_counter() - start, done


def imported(stderr: str) -> set[str]:
    """Top-level packages named by the ``import time:`` lines of ``-X importtime``."""
    lines = (line.rpartition("|")[2].strip() for line in stderr.splitlines() if line.startswith("import time:"))
    return {name.split(".")[0] for name in lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="Runs of each case; the median is printed.")
    parser.add_argument("--commands", default=",".join(ERRORS), help="Comma-separated subcommands to time.")
    args = smoke.parse(parser, repeats=1, commands="fit,export")
    commands = [c.strip() for c in args.commands.split(",")]
    with tempfile.TemporaryDirectory(prefix="lpzero-cli-startup-") as scratch:
        folder = Path(scratch)
        Proxy(Node(var="synflow")).save(folder / "proxy.json")
        times, heavy = measure(commands, args.repeats, folder)
    for command in commands:
        help_s, error_s = (statistics.median(times[command, kind]) for kind in ("help", "error"))
        print(f"cli-startup {command} help_s={help_s:.2f} error_s={error_s:.2f}")
    named = "; ".join(f"{argv}: {', '.join(sorted(found))}" for argv, found in heavy.items()) or "none"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"heavy libraries imported: {named} (median of {args.repeats} run(s) each; load average {load})")


def measure(
    commands: list[str], repeats: int, folder: Path
) -> tuple[dict[tuple[str, str], list[float]], dict[str, set[str]]]:
    """Wall times of each (command, help|error) case, and the heavy libraries each case imported (if any)."""
    cases = {(c, kind): [c, "--help"] if kind == "help" else ERRORS[c] for c in commands for kind in ("help", "error")}
    times: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
    for _ in range(repeats):
        for (command, kind), argv in cases.items():
            seconds, done = run(argv, folder)
            expected = (0,) if kind == "help" else (1, 2)  # an error: one Error: line, status 1 (ours) or 2 (click's)
            if done.returncode not in expected or "Traceback" in done.stderr:
                raise SystemExit(f"lpzero-sr {' '.join(argv)}: exit status {done.returncode}\n{done.stderr}")
            times[command, kind].append(seconds)
    heavy: dict[str, set[str]] = {}
    for argv in cases.values():
        found = imported(run(argv, folder, importtime=True)[1].stderr) & set(HEAVY)
        if found:
            heavy[" ".join(argv)] = found
    return times, heavy


if __name__ == "__main__":
    main()
