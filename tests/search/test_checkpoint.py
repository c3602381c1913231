"""Checkpoints are data: JSON written atomically, never unpickled, one holder at a time, exact on resume."""

from __future__ import annotations

import errno
import json
import os
import pickle
import subprocess
import sys

import pytest

from lpzero_sr.fsutil import FileWriteError, LockError, run_lock
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search import checkpoint as ckpt
from lpzero_sr.search.deap_engine import DeapEngine
from lpzero_sr.search.engine import Front, SearchError
from lpzero_sr.settings import SearchSettings


def summary(front: Front) -> list[tuple[int, float, str]]:
    return [(c.complexity, c.loss, c.text) for c in front.candidates]


def fit(table, checkpoint=None, progress=None, **kw):
    """The engine with small search settings (``kw``: fields of :class:`SearchSettings`), saving every generation."""
    kw = {"generations": 3, "population": 24, "seed": 2, "jobs": 1, "checkpoint_every": 0.0, **kw}
    return DeapEngine().fit(
        table, RuleSet.load("default"), SearchSettings(**kw), checkpoint=checkpoint, progress=progress
    )


class _Touch:
    """Unpickling this runs ``touch`` on a path: a stand-in for the code a crafted checkpoint could run."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_the_state_is_json_data(arch_table, tmp_path) -> None:
    fit(arch_table, checkpoint=tmp_path)
    data = json.loads((tmp_path / "deap_state.json").read_text())
    state = data["state"]
    assert data["format"] == ckpt.FORMAT and state["generation"] == 3
    assert all(isinstance(tok, (str, int, float)) for tokens in state["population"] for tok in tokens)
    assert state["random"]["bit_generator"] == "PCG64" and isinstance(state["random"]["state"]["state"], int)
    assert len(ckpt.decode_array(state["cache"]["keys"], "x")) == state["evaluations"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "deap_state.json"]  # no temporary file left


def test_an_old_pickle_is_refused_unread(arch_table, tmp_path) -> None:
    marker = tmp_path / "PWNED"
    (tmp_path / "deap_state.pkl").write_bytes(pickle.dumps({"format": 2, "state": _Touch(str(marker))}))
    with pytest.raises(SearchError) as err:
        fit(arch_table, checkpoint=tmp_path)
    assert str(err.value) == (
        f"{tmp_path} holds a checkpoint in the old pickle format (deap_state.pkl), which is never loaded: "
        "delete it, or choose another --checkpoint folder"
    )
    assert not marker.exists()


def test_a_damaged_checkpoint_is_one_line(arch_table, tmp_path) -> None:
    fit(arch_table, checkpoint=tmp_path)
    path = tmp_path / "deap_state.json"
    path.write_text(path.read_text()[:-40])
    with pytest.raises(SearchError, match=r"cannot read checkpoint .*deap_state.json: JSONDecodeError; delete it"):
        fit(arch_table, checkpoint=tmp_path, generations=5)
    fit(arch_table, checkpoint=tmp_path / "b")
    good = json.loads((tmp_path / "b" / "deap_state.json").read_text())
    good["state"]["population"][0] = ["add", 0, "no-such-op"]
    (tmp_path / "b" / "deap_state.json").write_text(json.dumps(good))
    with pytest.raises(SearchError, match=r"deap_state.json is damaged \(ValueError\); delete it to start afresh$"):
        fit(arch_table, checkpoint=tmp_path / "b", generations=5)


def test_a_full_disk_keeps_the_previous_checkpoint_and_leaves_no_temporary_file(arch_table, tmp_path, monkeypatch):
    fit(arch_table, checkpoint=tmp_path)
    before = (tmp_path / "deap_state.json").read_text()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(FileWriteError, match=r"deap_state.json: no space left on the device; the previous file"):
        fit(arch_table, checkpoint=tmp_path, generations=5)
    assert (tmp_path / "deap_state.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "deap_state.json"]


def test_a_second_search_on_the_same_folder_is_refused_naming_the_holder(arch_table, tmp_path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from lpzero_sr.fsutil import run_lock\nimport time\nwith run_lock({str(tmp_path)!r}):"
         "\n    print('held', flush=True)\n    time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockError, match=rf"^{tmp_path} is in use by pid {holder.pid} on .*; wait for that search"):
            fit(arch_table, checkpoint=tmp_path)
    finally:
        holder.kill()
        holder.wait()
    with run_lock(tmp_path / "other"):  # a lock held by this process on another folder does not matter
        fit(arch_table, checkpoint=tmp_path)


def test_interrupted_at_a_generation_end_resumes_exactly(arch_table, tmp_path) -> None:
    whole = fit(arch_table, generations=8)

    def stop(generation: int, evaluations: int, best: float) -> None:
        if generation == 5:
            raise KeyboardInterrupt

    cut = fit(arch_table, generations=8, checkpoint=tmp_path, progress=stop)
    assert cut.stopped == "interrupted" and cut.generations == 5
    resumed = fit(arch_table, generations=8, checkpoint=tmp_path)
    assert summary(resumed) == summary(whole)
    assert (resumed.evaluations, resumed.history, resumed.rejections) == (
        whole.evaluations,
        whole.history,
        whole.rejections,
    )


def test_checkpoints_are_written_at_most_every_so_often(arch_table, tmp_path, monkeypatch) -> None:
    saved: list[int] = []
    real = ckpt.save
    monkeypatch.setattr(ckpt, "save", lambda d, e, k, state: saved.append(state["generation"]) or real(d, e, k, state))
    for every in (3600.0, 0.0):
        saved.clear()
        fit(arch_table, generations=6, seed=0, checkpoint=tmp_path / str(every), checkpoint_every=every)
        assert saved == ([6] if every else [1, 2, 3, 4, 5, 6, 6])  # every generation, or only the final save
