"""A newcomer's first hour (issue 25): each stumble of the trial, replayed through the command line.

Every test here reproduces one case of the trial and asserts the answer it now gets: the exit status, the one
``Error:`` line or the warning, and that no file was lost. ``.ci/newcomer`` replays the same cases as shell steps in
a fresh install.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from lpzero_sr.cli import main
from lpzero_sr.fsutil import run_lock
from lpzero_sr.nas import ParamsScoring, count_params
from lpzero_sr.spaces import SPACES

README = Path(__file__).resolve().parents[1] / "README.md"
NAS = ["nas", "tiny-gpt2", "--objective", "params", "--within-benchmark", "--population", "4", "--sample", "2"]


def invoke(args: list[str], **kwargs: Any) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def last_line(result: Any) -> str:
    """The last line a command printed (progress bars come before it)."""
    return result.output.strip().splitlines()[-1]


def readme_commands(command: str) -> list[list[str]]:
    """The README's ``lpzero-sr <command> ...`` lines, as argument lists (comments cut)."""
    lines = [line.split("#")[0] for line in README.read_text().splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.strip().startswith(f"lpzero-sr {command} ")]


# ---------------------------------------------------------------------------------------------- 2. nas
def test_every_readme_nas_budget_admits_architectures_of_its_space() -> None:
    nas = [args for args in readme_commands("nas") if "--max-params" in args]
    budgets = [(args[1], int(args[args.index("--max-params") + 1])) for args in nas]
    assert {space for space, _ in budgets} >= {"tiny-gpt2", "flexibert"}
    for space_name, limit in budgets:
        space = SPACES.get(space_name)
        rng = np.random.default_rng(0)
        sizes = [count_params(space, space.sample(rng)) for _ in range(20)]
        assert sum(size <= limit for size in sizes) >= 5, (space_name, limit, sorted(sizes))


def test_a_nas_run_that_scored_nothing_blocks_no_retry(tmp_path: Path) -> None:
    out, whole_space = tmp_path / "nas", [a for a in NAS if a != "--within-benchmark"]
    failed = invoke([*whole_space, "--candidates", "5", "--max-params", "1000", "--out", out])
    assert failed.exit_code == 1 and last_line(failed).startswith("Error: gave up after 250 proposals (250 over the")
    retry = invoke([*whole_space, "--candidates", "5", "--max-params", "300000", "--out", out])
    assert retry.exit_code == 0, retry.output
    assert len((out / "candidates.jsonl").read_text().splitlines()) == 5


class _CtrlCAfter(ParamsScoring):
    """#params, until Ctrl-C arrives while the fourth architecture is scored."""

    calls = 0

    def __call__(self, configs: Any) -> list[float]:
        type(self).calls += len(configs)
        if type(self).calls > 3:
            raise KeyboardInterrupt
        return super().__call__(configs)


def test_ctrl_c_in_nas_exits_130_keeps_each_scored_candidate_and_writes_top_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "nas"
    monkeypatch.setattr("lpzero_sr.commands.nas.ParamsScoring", _CtrlCAfter)
    cut = invoke([*NAS, "--candidates", "12", "--out", out])
    assert cut.exit_code == 130, cut.output
    assert cut.stderr.strip().splitlines()[-1] == (
        f"interrupted: 3 evaluated children kept in {out / 'candidates.jsonl'} and the best in {out / 'top.json'}; "
        "rerun the same command to resume"
    )
    assert len((out / "candidates.jsonl").read_text().splitlines()) == 3
    top = json.loads((out / "top.json").read_text())
    assert top["interrupted"] and top["evaluations"] == 3 and len(top["top"]) == 3
    monkeypatch.undo()
    resumed = invoke([*NAS, "--candidates", "12", "--out", out])
    assert resumed.exit_code == 0 and "3 evaluated children replayed" in resumed.output
    assert json.loads((out / "top.json").read_text())["evaluations"] == 12


def test_a_second_nas_run_on_the_same_folder_is_refused_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "nas"
    with run_lock(out, "nas run"):
        second = invoke([*NAS, "--candidates", "5", "--out", out])
    assert second.exit_code == 1
    assert re.fullmatch(
        rf"Error: {re.escape(str(out))} is in use by pid \d+ on \S+: .*; wait for that nas run to end or choose "
        r"another folder",
        last_line(second),
    )
    assert not (out / "candidates.jsonl").exists()


def test_a_broken_middle_line_of_the_nas_journal_is_one_error_line(tmp_path: Path) -> None:
    out = tmp_path / "nas"
    assert invoke([*NAS, "--candidates", "12", "--out", out]).exit_code == 0
    journal = out / "candidates.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join([*lines[:4], "{garbage\n", *lines[5:]]))
    broken = invoke([*NAS, "--candidates", "12", "--out", out])
    assert broken.exit_code == 1 and last_line(broken).startswith(f"Error: {journal} line 5 is broken (")
    assert journal.read_text().count("\n") == 12  # nothing rewritten
