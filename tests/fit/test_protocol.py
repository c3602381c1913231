import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lpzero_sr.fit.protocol import baseline_metrics, run_protocol, write_protocol
from lpzero_sr.report import write_report
from lpzero_sr.rundir import RunDirError
from lpzero_sr.settings import FitSettings, SearchSettings
from lpzero_sr.table import StatTable


@pytest.fixture(scope="module")
def table() -> StatTable:
    rng = np.random.default_rng(0)
    n = 60
    a, b = rng.lognormal(size=n), rng.lognormal(size=n)
    frame = pd.DataFrame({"a": a, "b": b, "noise": rng.normal(size=n), "loss": -np.log(a) - 0.3 * np.log(b)})
    return StatTable.from_frame(frame, "loss", "minimize")


@pytest.fixture(scope="module")
def results(table: StatTable):
    settings = FitSettings(search=SearchSettings(generations=3, population=30, jobs=1), peers=False)
    return run_protocol(table, 20, [0, 1], settings=settings)


def test_heldout_metrics_are_scipy_on_the_unseen_architectures(table, results):
    for r in results:
        test = r.predictions[r.predictions["split"] == "test"]
        train = r.predictions[r.predictions["split"] == "train"]
        assert len(test) == 40 and set(test["arch"]).isdisjoint(train["arch"])
        assert r.heldout["spearman"] == pytest.approx(stats.spearmanr(test["score"], test["target"]).statistic)
        assert r.heldout["kendall"] == pytest.approx(stats.kendalltau(test["score"], test["target"]).statistic)
        lo, hi = r.ci["spearman"]
        assert lo <= r.heldout["spearman"] <= hi


def test_baselines_use_the_natural_sign_on_the_same_rows(table):
    _, test = table.split(20, 0)
    metrics = baseline_metrics(test, ["a"])
    # the target is a minimised loss that falls with a: after orientation, a correlates positively
    assert metrics["a"]["spearman"] == pytest.approx(stats.spearmanr(test.column("a"), test.y).statistic)
    assert metrics["a"]["spearman"] > 0.8


def test_summary_and_report(tmp_path, results):
    summary = write_protocol(tmp_path, results, {"benchmark": "synthetic", "n_train": 20, "n_test": 40})
    rhos = [r.heldout["spearman"] for r in results]
    assert summary["proxy"]["spearman"]["mean"] == pytest.approx(np.mean(rhos))
    assert summary["proxy"]["spearman"]["std"] == pytest.approx(np.std(rhos))
    assert json.loads((tmp_path / "summary.json").read_text())["seeds"] == [0, 1]
    md, page = write_report(tmp_path)
    text = md.read_text()
    assert "| spearman |" in text and "$$" in text
    for image in ("scatter.png", "front.png", "convergence.png", "baselines.png"):
        assert (tmp_path / image).stat().st_size > 1000
    assert "<table>" in page.read_text()


def test_report_on_a_directory_without_a_run(tmp_path):
    with pytest.raises(RunDirError, match="holds no proxy.json"):
        write_report(tmp_path)
