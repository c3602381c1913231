"""RunDir: the one reader and writer of a run directory; typed, lenient with older runs, strict with bad files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy
from lpzero_sr.rundir import RunDir, RunDirError, load_proxy
from lpzero_sr.settings import to_dict
from lpzero_sr.table import StatTable


def test_what_a_fit_writes_reads_back_typed(arch_table: StatTable, quick, tmp_path: Path) -> None:
    train, test = arch_table.split(30, seed=0)
    settings = quick(additive=0)
    result = fit_table(train, test, settings)
    run = RunDir(tmp_path / "run")
    run.write(result.record())
    back = RunDir(tmp_path / "run")
    assert back.kind == "fit" and back.proxy.formula == result.proxy.formula
    assert [m.formula for m in back.front.candidates] == [c.formula for c in result.front.candidates]
    assert back.front.chosen == result.chosen and back.front.selection == "best"
    assert back.front.candidates[back.front.chosen].heldout == result.proxy.metrics["heldout"]
    assert back.history.history == [tuple(p) for p in result.front.history] and back.history.stopped == "generations"
    assert back.predictions["split"].value_counts().to_dict() == {"train": 30, "test": 10}
    assert back.settings == to_dict(settings)
    member = back.member(0)
    expected = Proxy(member.formula, quantiles=back.front.quantiles).evaluate(test)
    np.testing.assert_array_equal(member.evaluate(test), expected)
    assert load_proxy(tmp_path / "run" / "front.json", 0).formula == result.front.candidates[0].formula
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "front.json",
        "history.json",
        "predictions.csv",
        "proxy.json",
        "settings.json",
    ]  # no temporary file is left behind


def test_an_older_run_loads_with_empty_parts(arch_table: StatTable, quick, tmp_path: Path) -> None:
    result = fit_table(arch_table, None, quick(additive=0))
    result.proxy.save(tmp_path / "proxy.json")  # a run of an older version: only its proxy and a bare front
    (tmp_path / "front.json").write_text(json.dumps({"candidates": [{"tree": {"var": "a"}}]}))
    run = RunDir(tmp_path)
    assert run.front.chosen is None and run.front.report == {} and run.history.history == []
    assert run.predictions is None and run.settings == {}
    assert run.front.candidates[0].complexity == 1
    with pytest.raises(RunDirError, match=r"^member 3 is not in the front of .* \(members 0..0\)$"):
        run.member(3)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("front.json", "{oops", "front.json is not JSON"),
        ("front.json", "[1, 2]", "front.json should hold a JSON object, found list"),
        ("front.json", '{"candidates": [{"tree": {"op": "nope"}}]}', "front.json has a bad member: unknown operator"),
        ("history.json", '{"history": [["x", 1]]}', "history.json has a bad history"),
        ("predictions.csv", "arch,score\na,1\n", "predictions.csv lacks column(s) split, target"),
    ],
)
def test_a_broken_file_is_one_error(tmp_path: Path, name: str, text: str, message: str) -> None:
    Proxy(Node(var="a")).save(tmp_path / "proxy.json")
    (tmp_path / name).write_text(text)
    run = RunDir(tmp_path)
    with pytest.raises(RunDirError, match=re.escape(message)):
        getattr(run, name.split(".")[0])
