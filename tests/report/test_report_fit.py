"""Fit-run reports: what the sections say, with numbers from the run files and from scipy."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from report_fixtures import CHOSEN, FRONT
from scipy import stats

from lpzero_sr.cli import main
from lpzero_sr.report import write_report
from lpzero_sr.report.pagecheck import check_page, parse_page
from lpzero_sr.rundir import RunDirError


def test_full_fit_report_names_direction_statistic_and_aligns_proxy_with_best_column(fit_run):
    run = fit_run(direction="minimize", loss="kendall")
    md, page = write_report(run)
    text = md.read_text()
    assert "`val_loss` is minimised (lower is better), so the report **negates** it" in text
    assert "| split | metric | found proxy | best single column `−grad.sqr.mean` | `synflow` |" in text
    assert "|:---|:---|---:|---:|---:|" in text
    # kendall was fitted: it is named so; held-out row: proxy 0.74-0.1, best column 0.52-0.1, peer 0.33-0.1
    assert "| held-out | Kendall tau (fitted) | 0.6400 | 0.4200 | 0.2300 |" in text
    assert "| train | Spearman rho | 0.8100 | — | — |" in text
    assert "Kendall tau (fitted)" in text and "Spearman rho (fitted)" not in text
    for name in ("scatter.png", "front.png", "convergence.png"):
        assert (run / name).stat().st_size > 5000
    assert "Note:" not in text
    assert "so the report <b>negates</b> it" in page.read_text()


def test_scatter_caption_is_scipy_on_the_held_out_rows(fit_run):
    for loss, method in (("kendall", stats.kendalltau), ("spearman", stats.spearmanr)):
        run = fit_run(loss=loss)
        test = pd.read_csv(run / "predictions.csv").query("split == 'test'")
        value = method(test["score"], test["target"]).statistic
        label = {"kendall": "Kendall tau", "spearman": "Spearman rho"}[loss]
        text = write_report(run)[0].read_text()
        assert f"Held-out: {label} = {value:.3f} (n = {len(test)})" in text


def test_front_marks_the_chosen_member_with_train_and_held_out_values(fit_run):
    run = fit_run(loss="spearman")
    md, page = write_report(run)
    expr, size, train, held = FRONT[CHOSEN]
    assert f"| **→** | **{size}** | **{train:.4f}** | **{held:.4f}** |" in md.read_text()
    html = page.read_text()
    chosen_row = html[html.index('<tr class="chosen">') :].split("</tr>")[0]
    assert f">{train:.4f}<" in chosen_row and f">{held:.4f}<" in chosen_row
    assert "Train and held-out Spearman rho of each Pareto member" in md.read_text()
    assert "train Spearman rho" in parse_page(html).headers and "held-out Spearman rho" in parse_page(html).headers


def test_run_without_held_out_rows_degrades_with_notes(fit_run):
    run = fit_run(heldout=False, loss="spearman")
    md, page = write_report(run)
    text = md.read_text()
    assert "no held-out architectures in this run" in text
    assert "no held-out rows in predictions.csv" in text
    assert "no best-single-column comparison" in text
    assert "| held-out |" not in text and "| train | Spearman rho (fitted) | 0.8100 |" in text
    assert not (run / "scatter.png").exists()
    assert check_page(page.read_text(), run) == []


def test_old_front_and_missing_optional_files_degrade_with_notes(fit_run):
    run = fit_run(modern_front=False, history=False, predictions=False, loss="spearman")
    text = write_report(run)[0].read_text()
    assert "does not say which member was chosen" in text
    assert "no held-out values per member" in text
    assert "no history.json" in text
    # train values of an old front come from its loss (1 - rho)
    assert f"| 1 | {FRONT[0][2]:.4f} | — |" in text
    assert "**→**" not in text


def test_no_peers_is_a_note(fit_run):
    text = write_report(fit_run(peers=False))[0].read_text()
    assert "no peer proxies were scored" in text
    assert "| found proxy | best single column `−grad.sqr.mean` |" in text


def test_broken_run_directories_raise_one_line_errors(tmp_path, fit_run):
    with pytest.raises(RunDirError, match="run directory not found"):
        write_report(tmp_path / "nope")
    run = fit_run()
    (run / "front.json").write_text("{oops")
    with pytest.raises(RunDirError, match="front.json is not JSON"):
        write_report(run)
    run = fit_run()
    (run / "history.json").write_text(json.dumps([1, 2]))
    with pytest.raises(RunDirError, match="should hold a JSON object"):
        write_report(run)
    run = fit_run()
    pd.DataFrame({"arch": ["a"], "score": [1.0]}).to_csv(run / "predictions.csv", index=False)
    with pytest.raises(RunDirError, match="lacks column"):
        write_report(run)


def test_cli_writes_the_report_and_reports_errors_in_one_line(tmp_path, fit_run):
    run = fit_run()
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 0 and "report.html" in result.output
    result = CliRunner().invoke(main, ["report", str(tmp_path / "missing")])
    assert result.exit_code == 1 and result.output.startswith("Error: run directory not found")


def test_a_bagged_fit_says_what_its_proxy_is_and_lists_its_formulas(tmp_path, quick):
    import numpy as np

    from lpzero_sr.fit.pipeline import fit_table
    from lpzero_sr.rundir import RunDir
    from lpzero_sr.table import StatTable

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(40)], "s": rng.normal(size=40), "t": rng.normal(size=40)})
    frame["y"] = frame["s"] - frame["t"] ** 2 + 0.1 * rng.normal(size=40)
    train, test = StatTable.from_frame(frame, "y").split(30, seed=0)
    result = fit_table(train, test, quick(generations=3, population=20, bag=2, additive=0, peers=True))
    RunDir(tmp_path).write(result.record())
    text = write_report(tmp_path)[0].read_text()
    parts = "; ".join(f"f{i} = `{p['text']}`" for i, p in enumerate(result.parts, start=1))
    assert "The rank average of 2 searches' best members (`fit --bag 2`): each `q(f)` is formula" in text
    assert f"The proxy is no front member: it is the rank average of 2 searches' best members ({parts})." in text
    assert "Picked from" not in text and "older format" not in text
    compact = result.front.candidates[result.compact]
    assert f"| first search's formula ({compact.complexity} nodes) |" in text  # the ensemble beside its first formula


def test_a_fit_with_the_additive_formula_names_it(tmp_path, quick):
    import numpy as np

    from lpzero_sr.fit.pipeline import fit_table
    from lpzero_sr.rundir import RunDir
    from lpzero_sr.table import StatTable

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(40)], "s": rng.normal(size=40), "t": rng.normal(size=40)})
    frame["y"] = frame["s"] - frame["t"] ** 2 + 0.1 * rng.normal(size=40)
    train, test = StatTable.from_frame(frame, "y").split(30, seed=0)
    result = fit_table(train, test, quick(generations=3, population=20, additive=0.4, peers=True))
    RunDir(tmp_path).write(result.record())
    text = write_report(tmp_path)[0].read_text()
    head = "The rank average of 1 search's best member and the additive formula (`fit --bag 1`, `--additive`): "
    assert head in text and f"f2 = `{result.parts[1]['text']}`" in text


def test_the_report_says_the_proxy_is_higher_is_better_and_a_minimised_target_negated(fit_run):
    text = write_report(fit_run(direction="minimize"))[0].read_text()
    assert (
        "The proxy is higher-is-better: a higher value predicts a lower `val_loss` (the minimised target is negated, "
        "so the proxy ranks by −`val_loss`). Statistics it reads: "
    ) in text
    maximised = write_report(fit_run(direction="maximize"))[0].read_text()
    assert "The proxy is higher-is-better: a higher value predicts a higher `val_loss`. Statistics" in maximised
    assert "`q(" not in text  # no quantile terminal, no words about one


def test_q_is_explained_for_statistics_and_for_formulas():
    import numpy as np

    from lpzero_sr.formula import Node
    from lpzero_sr.quantile import Quantile
    from lpzero_sr.report.fit_report import RANK_WORDS, quantile_words

    column = {"q(a)": Quantile.fit("a", np.arange(7.0))}
    formula = {"q[f1]": Quantile.fit("", np.arange(4.0), Node(var="a"))}
    (words,) = quantile_words(column)
    assert (
        words.text == f"`q(x)` is statistic `x`'s {RANK_WORDS}; `proxy.json` stores each training CDF (up to 7 knots)."
    )
    assert RANK_WORDS.startswith("mid-rank among the training architectures, centred on their median (-1/2 lowest")
    (words,) = quantile_words(formula)
    assert words.text.startswith(f"`q(f)` is formula `f`'s {RANK_WORDS}; ")
    (words,) = quantile_words(column | formula)
    assert f"`q(x)` is statistic `x`'s {RANK_WORDS}; `q(f)` is the same for a formula `f`; " in words.text
    assert quantile_words({}) == []


def test_a_fit_with_quantile_terminals_explains_them(tmp_path, quick):
    import numpy as np

    from lpzero_sr.fit.pipeline import fit_table
    from lpzero_sr.report.fit_report import RANK_WORDS
    from lpzero_sr.rundir import RunDir
    from lpzero_sr.table import StatTable

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(40)], "s": rng.normal(size=40), "t": rng.normal(size=40)})
    frame["y"] = frame["s"] - frame["t"] ** 2 + 0.1 * rng.normal(size=40)
    train, test = StatTable.from_frame(frame, "y").split(30, seed=0)
    result = fit_table(train, test, quick(generations=3, population=20, terminals=("quantile",)))
    assert result.proxy.quantiles and all(q.source is None for q in result.proxy.quantiles.values())
    RunDir(tmp_path).write(result.record())
    text = write_report(tmp_path)[0].read_text()
    assert f"`q(x)` is statistic `x`'s {RANK_WORDS}; `proxy.json` stores each training CDF" in text
    assert "`q(f)`" not in text and "first search's own formula" not in text


def test_an_ensemble_report_draws_the_first_search_formula_beside_it(tmp_path, quick):
    import numpy as np

    from lpzero_sr.fit.pipeline import fit_table
    from lpzero_sr.rundir import RunDir
    from lpzero_sr.table import StatTable

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"arch": [f"a{i}" for i in range(40)], "s": rng.normal(size=40), "t": rng.normal(size=40)})
    frame["y"] = frame["s"] - frame["t"] ** 2 + 0.1 * rng.normal(size=40)
    train, test = StatTable.from_frame(frame, "y").split(30, seed=0)
    result = fit_table(train, test, quick(generations=3, population=20, bag=2, terminals=("raw",), additive=0))
    RunDir(tmp_path).write(result.record())
    md, page = write_report(tmp_path)
    compact = result.front.candidates[result.compact]
    text = md.read_text()
    assert f"The first search's own formula ({compact.complexity} nodes), the one formula a fit without" in text
    assert f"`{compact.text}`" in text and f"`{result.proxy.text()}`" in text
    assert "`q(f)` is formula `f`'s mid-rank" in text and "`q(x)` is statistic" not in text  # raw terminals
    assert f"<pre><code>{compact.text}</code></pre>" in page.read_text()
