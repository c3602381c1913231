"""Proxy analyses: correlation map, size bias within strata, mutual information of proxies and pairs; the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lpzero_sr.analyze import (
    analyze_table,
    complementarity,
    correlation_matrix,
    entropy_bits,
    mutual_information,
    rank_bins,
    size_bias,
)
from lpzero_sr.cli import main


def test_mutual_information_of_a_column_with_itself_is_its_entropy():
    bins = rank_bins(np.arange(8.0), 4)
    assert bins.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert mutual_information(bins, bins) == pytest.approx(entropy_bits(bins)) == pytest.approx(2.0)
    uneven = np.array([0, 0, 0, 1])  # entropy -(3/4 log2 3/4 + 1/4 log2 1/4) = 0.8113
    assert mutual_information(uneven, uneven) == pytest.approx(0.8112781244591328)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=6, max_size=40), st.lists(st.floats(-1e3, 1e3), min_size=6, max_size=40))
def test_mutual_information_laws(x, z):
    n = min(len(x), len(z))
    a, b = rank_bins(np.array(x[:n]), 3), rank_bins(np.array(z[:n]), 3)
    mi = mutual_information(a, b)
    assert mi == pytest.approx(mutual_information(b, a))
    assert -1e-9 <= mi <= min(entropy_bits(a), entropy_bits(b)) + 1e-9


def test_correlation_matrix_is_symmetric_with_unit_diagonal():
    frame = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [5, 4, 3, 2, 1], "c": [2, 1, 4, 3, 5]})
    corr = correlation_matrix(frame)
    np.testing.assert_allclose(corr.to_numpy(), corr.to_numpy().T)
    np.testing.assert_allclose(np.diag(corr), 1.0)
    assert corr.at["a", "b"] == pytest.approx(-1.0)
    assert corr.at["a", "c"] == pytest.approx(0.8)  # d = (1, 1, 1, 1, 0): 1 - 6*4/(5*24)


def test_size_bias_within_strata_by_hand():
    size = np.array([1, 1, 1, 1, 2, 2, 2, 2], dtype=float)
    y = np.arange(1.0, 9.0)
    frame = pd.DataFrame({"x": [4, 3, 2, 1, 8, 7, 6, 5], "size": size})  # follows size, reversed within each size
    bias = size_bias(frame, y, size, n_bins=2)
    assert bias.at["x", "target_rho"] == pytest.approx(1 - 6 * 40 / (8 * 63))  # d = (3, 1, -1, -3) twice
    assert bias.at["x", "within_size_rho"] == pytest.approx(-1.0)
    assert bias.at["size", "size_rho"] == pytest.approx(1.0)
    assert np.isnan(bias.at["size", "within_size_rho"])  # size is constant within each stratum


def test_complementary_pair_xor():
    a = np.tile([0.0, 0.0, 1.0, 1.0], 4)
    b = np.tile([0.0, 1.0, 0.0, 1.0], 4)
    y = np.logical_xor(a, b).astype(float)  # neither proxy alone says anything; together they say everything
    single, pairs = complementarity(pd.DataFrame({"a": a, "b": b}), y, n_bins=2, shuffles=10)
    assert single.tolist() == pytest.approx([0.0, 0.0])
    row = pairs.iloc[0]
    assert (row.mi_pair, row.gain) == pytest.approx((1.0, 1.0))
    assert 0.0 <= row.null < 0.5 and row.excess == pytest.approx(1.0 - row.null)


def test_benchmark_analysis_size_bias_of_params_is_one(shared_data):
    from lpzero_sr.table_sources import resolve_table

    table = resolve_table("nb201-cifar10", shared_data, features=["params", "flops", "jacov", "synflow"])
    result = analyze_table("nb201-cifar10", table)
    assert result.size == "params" and result.bias.at["params", "size_rho"] == pytest.approx(1.0)
    assert result.bias.at["flops", "size_rho"] > 0.99
    assert result.bias.at["flops", "within_size_rho"] < result.bias.at["jacov", "within_size_rho"]
    assert len(result.pairs) == 6


def _table_file(tmp_path, with_size: bool = True):
    rng = np.random.default_rng(0)
    n = 40
    frame = pd.DataFrame({"arch": [f"m{i}" for i in range(n)], "p": rng.normal(size=n), "q": rng.normal(size=n)})
    frame["loss"] = -frame["p"] + 0.1 * rng.normal(size=n)
    if with_size:
        frame["params"] = frame["p"] + rng.normal(size=n)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return path


def test_analyze_command(tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    args = ["analyze", str(_table_file(tmp_path)), "--target", "loss", "--minimize", "--out", str(out)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    stem = "t"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{stem}-correlation.png", f"{stem}-size-bias.png", f"{stem}-complementarity.png", "summary.md"]
    )
    assert "best Spearman with the target: p 0.9" in result.output
    assert "| p |" in (out / "summary.md").read_text()
    (tmp_path / "x").mkdir()
    bad = runner.invoke(main, ["analyze", str(_table_file(tmp_path / "x", with_size=False)), "--target", "loss"])
    assert bad.exit_code == 1
    assert bad.output == (
        "Error: table has none of the size columns params, flops, params_nonemb; name one with --size COL\n"
    )


def test_two_tables_add_a_cross_table_figure(tmp_path):
    first = _table_file(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["analyze", str(first), str(first), "--target", "loss", "--size", "q", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "tables-target-correlation.png").stat().st_size > 1000
    assert "equal-q strata" in result.output


def test_wide_tables_default_to_the_classic_proxies(tmp_path):
    rng = np.random.default_rng(1)
    n = 30
    frame = pd.DataFrame({f"stat{i}": rng.normal(size=n) for i in range(25)})
    frame = frame.assign(params=rng.normal(size=n), snip=rng.normal(size=n), synflow=rng.normal(size=n))
    frame["acc"] = frame["snip"] + 0.1 * rng.normal(size=n)
    frame.to_csv(tmp_path / "wide.csv", index=False)
    result = CliRunner().invoke(
        main, ["analyze", str(tmp_path / "wide.csv"), "--target", "acc", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"{tmp_path / 'wide.csv'}: 3 classic proxy columns of 28 (choose with --features)\n"
    )
    assert "best Spearman with the target: snip 0.9" in result.output
