"""The CLI answers fast: every subcommand's ``--help``, and an argument or missing-file error, import no heavy library.

One fresh interpreter runs every case in turn (click's test runner, in process) and reports, after each, which of
:data:`HEAVY` it has imported so far: the first case that pulls one in is the culprit. Wall times are not asserted
here (the machines are shared); ``benchmarks/cli_startup.py`` prints them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lpzero_sr.commands import COMMANDS
from lpzero_sr.commands.options import BENCHMARKS
from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy
from lpzero_sr.table_sources import names_missing_file

HEAVY = ("torch", "pandas", "scipy", "sympy", "transformers", "ray", "sklearn", "lightgbm", "xgboost", "numba",
         "matplotlib")  # fmt: skip

RUN_CASES = """
import json, sys
from click.testing import CliRunner
from lpzero_sr.cli import main

heavy, cases = json.loads(sys.argv[1]), json.loads(sys.argv[2])
answers = []
for args in cases:
    result = CliRunner().invoke(main, args)
    answers.append({"exit": result.exit_code, "output": result.output,
                    "heavy": sorted(name for name in heavy if name in sys.modules)})
print(json.dumps(answers))
"""

# (arguments, exit status, the line the output starts with); PROXY is a proxy file, paths are relative to a fresh folder
HELP = [([command, "--help"], 0, f"Usage: main {command} [OPTIONS]") for command in sorted(COMMANDS)] + [
    (["--help"], 0, "Usage: main [OPTIONS] COMMAND [ARGS]..."),
    (["data", "list", "--help"], 0, "Usage: main data list [OPTIONS]"),
    (["data", "download", "--help"], 0, "Usage: main data download [OPTIONS] NAME"),
]
ERRORS = [
    (["fit", "nosuch.csv", "--out", "x"], 1, "Error: table file not found: nosuch.csv"),
    (["fit", "nosuch.csv", "--target", "y", "--out", "x"], 1, "Error: table file not found: nosuch.csv"),
    (["fit", "runs/nosuch", "--out", "x"], 1, "Error: table file not found: runs/nosuch"),
    (["fit", "nosuch.csv", "--population", "1"], 2, "Error: Invalid value for '--population': must be at least 2"),
    (["fit"], 2, "Error: Missing argument 'TABLES...'."),
    (["export", "nosuch.json"], 1, "Error: proxy file not found: nosuch.json"),
    (["score", "nosuch.json", "--table", "t.csv"], 1, "Error: proxy file not found: nosuch.json"),
    (["score", "PROXY"], 1, "Error: give exactly one of --table, --config FILE... or --benchmark NAME"),
    (["score", "PROXY", "--table", "nosuch.csv"], 1, "Error: table file not found: nosuch.csv"),
    (["extract", "--out", "x"], 1, "Error: give config files/directories or --benchmark NAME (exactly one of them)"),
    (["extract", "nosuch", "--out", "x"], 2, "Error: Invalid value for '[CONFIGS]...': Path 'nosuch' does not exist."),
    (["nas", "tiny-gpt2"], 1, "Error: --objective proxy needs --proxy PATH (or use --objective params / random)"),
    (["nas", "tiny-gpt2", "--objective", "best"], 2, "Error: Invalid value for '--objective': 'best' is not one of"),
    (["label", "tiny-gpt2"], 2, "Error: Missing option '--n'."),
    (["label", "tiny-gpt2", "--n", "2", "--train-seeds", "a"], 1,
     "Error: --train-seeds must be comma-separated integers, got 'a'"),
    (["report", "nosuch"], 1, "Error: run directory not found: nosuch"),
    (["analyze", "nosuch.csv"], 1, "Error: table file not found: nosuch.csv"),
    (["data", "download"], 2, "Error: Missing argument 'NAME'."),
    (["baselines", "nosuch"], 2, "Error: Invalid value for '{flexibert|flexibert-electra|lts-gpt2|"),
]  # fmt: skip


def run_cases(cases: list[tuple[list[str], int, str]], cwd: Path) -> list[dict]:
    """Each case's exit status, output and the heavy libraries imported by then, from one fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN_CASES, json.dumps(HEAVY), json.dumps([args for args, _, _ in cases])],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout)


@pytest.mark.parametrize("cases", [HELP, ERRORS], ids=["help", "errors"])
def test_commands_answer_without_heavy_imports(cases: list[tuple[list[str], int, str]], tmp_path: Path) -> None:
    Proxy(Node(var="synflow"), fitted_on="tiny-gpt2").save(tmp_path / "proxy.json")
    cases = [([str(tmp_path / "proxy.json") if a == "PROXY" else a for a in args], *rest) for args, *rest in cases]
    answers = run_cases(cases, tmp_path)
    for (args, status, line), answer in zip(cases, answers, strict=True):
        lines = answer["output"].splitlines()
        assert answer["exit"] == status and any(x.startswith(line) for x in lines), (args, answer["output"])
        assert not answer["heavy"], f"lpzero-sr {' '.join(args)} imports {', '.join(answer['heavy'])}"
    assert not (tmp_path / "x").exists()  # refused before --out is created or locked


def test_benchmark_choices_are_the_registered_spaces() -> None:
    from lpzero_sr.spaces import SPACES

    assert tuple(SPACES.names()) == BENCHMARKS


def test_missing_table_files_are_refused_before_names_are_looked_up(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("arch,y\n")
    assert names_missing_file("nosuch.csv") and names_missing_file("x.PARQUET") and names_missing_file("runs/extract")
    assert not names_missing_file(str(tmp_path / "t.csv"))  # it exists: read it
    assert not names_missing_file(str(tmp_path))  # an extract --out folder that exists
    for name in ("tiny-gpt2", "tiny_gpt2", "nb201:cifar10", "runs/space.yaml", "data/t.tsv"):
        assert not names_missing_file(name), name  # a name, a space file or an unknown suffix: the spaces say
