"""StatTable validation (one clear line per defect), orientation, aggregation, splits and file formats."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from lpzero_sr.errors import TableError
from lpzero_sr.table import StatTable


def frame(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arch": [f"a{i}" for i in range(n)],
            "x": np.arange(n, dtype=float) + 1.0,
            "z": np.arange(n, dtype=float) ** 2,
            "acc": [0.5, 0.1, 0.9, 0.3, 0.7, 0.2][:n],
        }
    )


def test_valid_table_views() -> None:
    t = StatTable.from_frame(frame(), "acc")
    assert t.features == ("x", "z")
    assert list(t.archs) == [f"a{i}" for i in range(6)]
    np.testing.assert_allclose(t.y, [0.5, 0.1, 0.9, 0.3, 0.7, 0.2])
    np.testing.assert_allclose(t.X[:, 1], [0, 1, 4, 9, 16, 25])


def test_leaking_columns_are_left_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    leaky = frame().assign(**{"Unnamed: 0": np.arange(6), "row": np.arange(6.0), "acc_copy": frame()["acc"]})
    with caplog.at_level(logging.WARNING):
        t = StatTable.from_frame(leaky, "acc")
    assert t.features == ("x", "z")
    assert "ignoring column 'Unnamed: 0': it is a CSV row index" in caplog.text
    assert "ignoring column 'row': it is a row index (0..n-1 in order)" in caplog.text
    assert "ignoring column 'acc_copy': it is a copy of the target 'acc'" in caplog.text
    with pytest.raises(TableError, match=r"^feature column 'acc_copy' is a copy of the target 'acc': it would rank"):
        StatTable.from_frame(leaky, "acc", features=["x", "acc_copy"])


def test_a_column_with_the_targets_ranking_is_a_leak(caplog: pytest.LogCaptureFixture) -> None:
    acc = frame()["acc"]
    leaky = frame().assign(glue_copy=2 * acc + 1, model_id=acc.rank().astype(int), reverse=-(acc**3))
    with caplog.at_level(logging.WARNING):
        t = StatTable.from_frame(leaky, "acc")
    assert t.features == ("x", "z")
    for col in ("glue_copy", "model_id", "reverse"):
        assert f"ignoring column {col!r}: it is the ranking of the target 'acc' (|Spearman rho| = 1 on the rows)" in (
            caplog.text
        )
    with pytest.raises(TableError, match=r"^feature column 'model_id' is the ranking of the target 'acc'"):
        StatTable.from_frame(leaky, "acc", features=["x", "model_id"])
    almost = frame().assign(near=acc.rank().to_numpy()[[1, 0, 2, 3, 4, 5]])  # two rows swapped: rho < 1, kept
    assert "near" in StatTable.from_frame(almost, "acc").features


def test_non_numeric_cell_names_its_row() -> None:
    bad = frame().astype({"z": object})
    bad.loc[3, "z"] = "n/a"
    with pytest.raises(TableError, match=r"^column 'z' has a non-numeric value 'n/a' in row 3 \(arch a3\)$"):
        StatTable.from_frame(bad, "acc")
    named = frame().assign(name=[f"model {i}" for i in range(6)])  # text only: not a feature, no error
    assert StatTable.from_frame(named, "acc").features == ("x", "z")


def test_minimized_target_is_negated_once() -> None:
    t = StatTable.from_frame(frame(), "acc", "minimize")
    np.testing.assert_allclose(t.y, -t.y_raw)
    np.testing.assert_allclose(t.y_raw, frame()["acc"])


def test_missing_target() -> None:
    with pytest.raises(TableError, match=r"^target column 'ppl' not in table; columns: arch, x, z, acc$"):
        StatTable.from_frame(frame(), "ppl")


def test_a_nonfinite_feature_costs_its_column_not_the_rows(caplog: pytest.LogCaptureFixture) -> None:
    f = frame()
    f.loc[2, "z"] = np.nan
    f.loc[4, "z"] = -np.inf
    with caplog.at_level(logging.WARNING):
        t = StatTable.from_frame(f.assign(w=np.sqrt(np.arange(6.0)) * [1, -1, 1, -1, 1, -1]), "acc")
    assert t.features == ("x", "w") and len(t.archs) == 6
    assert "ignoring 1 column(s) with NaN/inf values: z" in caplog.text


def test_a_nonfinite_target_costs_rows_or_names_the_first() -> None:
    f = pd.concat([frame(), frame().assign(arch=lambda d: d.arch + "b")], ignore_index=True)
    f.loc[2, "acc"] = np.nan
    f.loc[4, "acc"] = np.inf
    msg = r"^2 row\(s\) have NaN/inf values \(first: arch=a2, column 'acc'\); pass --drop-invalid to drop them$"
    with pytest.raises(TableError, match=msg):
        StatTable.from_frame(f, "acc")
    assert len(StatTable.from_frame(f, "acc", drop_invalid=True).archs) == 10


def test_drop_invalid_never_drops_every_row_for_an_all_nan_column(caplog: pytest.LogCaptureFixture) -> None:
    f = pd.concat([frame()] * 14, ignore_index=True).assign(arch=[f"a{i}" for i in range(84)], empty=np.nan)
    f = f.iloc[:80]
    with caplog.at_level(logging.WARNING):
        t = StatTable.from_frame(f, "acc", drop_invalid=True)
    assert len(t.archs) == 80 and "empty" not in t.features
    assert "ignoring 1 column(s) with NaN/inf values: empty" in caplog.text
    with pytest.raises(TableError, match=r"^column 'empty' has no finite value \(NaN/inf on all 80 rows\)$"):
        StatTable.from_frame(f, "acc", features=["x", "empty"], drop_invalid=True)


def test_a_named_feature_with_nan_is_an_error_or_costs_its_rows(caplog: pytest.LogCaptureFixture) -> None:
    f = pd.concat([frame(), frame().assign(arch=lambda d: d.arch + "b")], ignore_index=True)
    f.loc[3, "x"] = np.nan
    msg = r"^1 row\(s\) have NaN/inf values \(first: arch=a3, column 'x'\); pass --drop-invalid to drop them$"
    with pytest.raises(TableError, match=msg):
        StatTable.from_frame(f, "acc", features=["x", "z"])
    with caplog.at_level(logging.WARNING):
        t = StatTable.from_frame(f, "acc", features=["x", "z"], drop_invalid=True)
    assert len(t.archs) == 11
    assert "dropped 1 row(s) with NaN/inf values" in caplog.text


def test_every_feature_nonfinite_is_one_line() -> None:
    with pytest.raises(TableError, match=r"^every feature column has NaN/inf values$"):
        StatTable.from_frame(frame().assign(x=np.nan, z=np.inf), "acc")


def test_duplicate_ids() -> None:
    f = frame()
    f.loc[5, "arch"] = "a1"
    with pytest.raises(TableError, match=r"^1 duplicate id\(s\) in \['arch'\] \(first: \['a1'\]\)$"):
        StatTable.from_frame(f, "acc")


def test_too_few_architectures() -> None:
    with pytest.raises(TableError, match=r"^only 4 architectures; rank correlation needs at least 5$"):
        StatTable.from_frame(frame(4), "acc")


def test_constant_column_dropped_and_all_constant_rejected(caplog: pytest.LogCaptureFixture) -> None:
    f = frame().assign(c=1.0)
    with caplog.at_level(logging.INFO):
        t = StatTable.from_frame(f, "acc")
    assert t.features == ("x", "z")
    assert "dropping 1 constant feature column(s): c" in caplog.text
    with pytest.raises(TableError, match=r"^every feature column is constant$"):
        StatTable.from_frame(f, "acc", features=["c"])
    with pytest.raises(TableError, match=r"^target 'acc' is constant$"):
        StatTable.from_frame(frame().assign(acc=0.5), "acc")


def test_unknown_feature_and_non_numeric_column() -> None:
    with pytest.raises(TableError, match=r"^unknown feature columns: nope$"):
        StatTable.from_frame(frame(), "acc", features=["nope"])
    with pytest.raises(TableError, match=r"^column 'name' has a non-numeric value 'u' in row 0 \(arch a0\)$"):
        StatTable.from_frame(frame().assign(name="u"), "acc", features=["x", "name"])


def test_per_layer_table_aggregates_per_architecture() -> None:
    f = pd.DataFrame(
        {
            "arch": ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"],
            "layer": [0, 1] * 5,
            "s": [1.0, 3.0, 2.0, 2.0, 0.0, 5.0, 4.0, 4.0, 1.0, 1.0],
            "acc": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
        }
    )
    t = StatTable.from_frame(f, "acc", layer_col="layer")
    np.testing.assert_allclose(t.aggregate(t.column("s"), "sum"), [4, 4, 5, 8, 2])
    np.testing.assert_allclose(t.aggregate(t.column("s"), "mean"), [2, 2, 2.5, 4, 1])
    np.testing.assert_allclose(t.y, [1, 2, 3, 4, 5])
    bad = f.copy()
    bad.loc[1, "acc"] = 9
    with pytest.raises(TableError, match=r"^target 'acc' differs between layers of the same architecture$"):
        StatTable.from_frame(bad, "acc", layer_col="layer")


def test_split_is_seeded_and_disjoint() -> None:
    t = StatTable.from_frame(frame(6).pipe(lambda d: pd.concat([d, d.assign(arch=d.arch + "b")])), "acc")
    train, test = t.split(6, seed=1)
    assert len(train.archs) == 6 and len(test.archs) == 6
    assert not set(train.archs) & set(test.archs)
    assert list(t.split(6, seed=1)[0].archs) == list(train.archs)
    with pytest.raises(TableError, match=r"^train size 10 leaves fewer than 5 architectures on one side of 12$"):
        t.split(10)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_roundtrip_files(tmp_path, suffix: str) -> None:
    t = StatTable.from_frame(frame(), "acc")
    path = t.write(tmp_path / f"t{suffix}")
    back = StatTable.read(path, "acc")
    assert back.features == t.features
    np.testing.assert_allclose(back.X, t.X)
    assert list(back.archs) == list(t.archs)


def test_read_errors(tmp_path) -> None:
    with pytest.raises(TableError, match=r"^table file not found: "):
        StatTable.read(tmp_path / "none.csv", "acc")
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(TableError, match=r"unsupported table format '\.txt'"):
        StatTable.read(tmp_path / "t.txt", "acc")


def test_a_file_without_rows_is_one_line_naming_it(tmp_path) -> None:
    files = {
        "header.csv": "arch,x,acc\n",
        "empty.csv": "",
        "index.csv": pd.DataFrame(index=range(3)).to_csv(),
        "blank.csv": "\n\n",
        "empty.json": "[]",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    frame().iloc[:0].to_parquet(tmp_path / "zero.parquet")
    for name in [*files, "zero.parquet"]:
        with pytest.raises(TableError, match=rf"^{tmp_path / name} has no rows"):
            StatTable.read(tmp_path / name, "acc")
    with pytest.raises(TableError, match=r"^table has no rows$"):
        StatTable.from_frame(frame().iloc[:0], "acc")


def test_ids_that_look_like_numbers_stay_text(tmp_path) -> None:
    """Hex config ids such as ``0012`` or ``1e5`` (labelling's ``config_id`` gives them) are ids, not numbers."""
    path = tmp_path / "t.csv"
    path.write_text("arch,x,y\n0012,1,3\n1e5,2,1\n7,3,2\n0x1,4,5\n5e0,5,4\n")
    table = StatTable.read(path, "y")
    assert list(table.archs) == ["0012", "1e5", "7", "0x1", "5e0"]
