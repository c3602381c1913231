"""Protocol run directories (summary.json + seed_*/) keep working with the block-based report."""

from __future__ import annotations

import json

from report_fixtures import build_fit_run

from lpzero_sr.report import write_report
from lpzero_sr.report.pagecheck import check_page


def test_protocol_report_lists_each_seed_and_takes_the_target_from_the_proxies(tmp_path):
    for seed in (0, 1):
        build_fit_run(tmp_path / f"seed_{seed}", loss="spearman", modern_front=False)
    spearman = {"mean": 0.7, "std": 0.05, "min": 0.65, "max": 0.75}
    (tmp_path / "summary.json").write_text(
        json.dumps({"seeds": [0, 1], "n_train": 40, "n_test": 30, "proxy": {"spearman": spearman}})
    )
    md, page = write_report(tmp_path)
    text = md.read_text()
    assert "Target `val_loss` (minimised, so the report negates it" in text
    assert "| spearman | 0.7000 | 0.0500 | 0.6500 | 0.7500 |" in text
    assert text.count("seed_0 (seed 3, held-out Spearman rho 0.7400)") == 1 and "seed_1 (seed 3" in text
    assert check_page(page.read_text(), tmp_path, ["metric", "mean"]) == []
    assert all((tmp_path / f).is_file() for f in ("scatter.png", "front.png", "convergence.png"))
