"""NAS-Bench-Suite-Zero loaders: both file layouts, one benchmark per task, each task's target direction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lpzero_sr.errors import ConfigError, DataError
from lpzero_sr.ranking import spearman
from lpzero_sr.spaces import SPACES, load_benchmark
from lpzero_sr.spaces.nb_suite_zero import TASKS, TNB101_TASKS, load_suite_frame, parse_arch

MICRO = [f"tnb101-micro-{t}" for t in TNB101_TASKS]
NB_PROXIES = {"epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "params", "plain", "snip",
              "synflow"}  # fmt: skip
TNB_PROXIES = NB_PROXIES - {"synflow"} | {"nwot"}
# (min, max) of the stored val_accuracy per micro task: accuracies in %, SSIM in (0, 1), room_layout a negated loss.
MICRO_RANGES = {
    "class_scene": (0, 100), "class_object": (0, 100), "jigsaw": (0, 100), "segmentsemantic": (0, 100),
    "autoencoder": (0, 1), "normal": (0, 1), "room_layout": (-2, 0),
}  # fmt: skip


def test_every_task_is_registered_with_one_naming_scheme():
    names = ["nb101-cifar10", "nb201-cifar10", "nb201-cifar100", "nb201-ImageNet16-120", "nb301-cifar10", *MICRO,
             *(f"tnb101-macro-{t}" for t in TNB101_TASKS)]  # fmt: skip
    assert sorted(TASKS) == sorted(names) and len(names) == 19
    assert all(name in SPACES for name in names)
    assert {SPACES.get(n).dataset for n in names} == {"nb101", "nb201", "nb301", "tnb101-micro", "tnb101-macro"}
    assert SPACES.get("tnb101-macro-jigsaw").dataset == "tnb101-macro"
    assert {t.direction for t in TASKS.values()} == {"maximize"}
    assert TASKS["tnb101-micro-room_layout"].metric == "negated L2 loss [valid_neg_loss]"
    assert TASKS["tnb101-macro-normal"].metric == "SSIM [valid_ssim]"


def test_by_space_layout(shared_data):
    bench = load_benchmark("nb101-cifar10", shared_data)
    assert len(bench) == 500 and set(bench.features.columns) == NB_PROXIES and bench.direction == "maximize"
    raw = json.loads((shared_data / "nb_suite_zero" / "zc_nasbench101.json").read_text())["nasbench101"]["cifar10"]
    arch = next(iter(raw))
    assert bench.features.loc[arch, "snip"] == raw[arch]["snip"]
    assert bench.targets.loc[arch, "val_accuracy"] == raw[arch]["val_accuracy"]
    assert len(bench.configs[arch]["cell"]) == 56  # 7x7 adjacency + 7 ops


def test_nb201_names_still_work(shared_data):
    bench = load_benchmark("nb201-cifar10", shared_data)
    assert bench.features.shape == (491, 11)
    assert bench.configs["(4, 3, 3, 3, 2, 3)"] == {"cell": [4, 3, 3, 3, 2, 3]}
    with pytest.raises(ConfigError, match="^nb201-cifar10 ships precomputed proxies only; its networks are not built"):
        bench.build("(4, 3, 3, 3, 2, 3)")
    with pytest.raises(ConfigError, match="cannot sample new architectures$"):
        bench.space.sample(np.random.default_rng(0))


def test_by_task_layout_takes_the_score_and_drops_bookkeeping(shared_data):
    bench = load_benchmark("tnb101-micro-class_scene", shared_data)
    assert len(bench) == 711 and set(bench.features.columns) == TNB_PROXIES
    assert bench.features.loc["(1, 0, 0, 2, 1, 0)", "snip"] == pytest.approx(39.19337844848633)
    assert bench.targets.loc["(1, 0, 0, 2, 1, 0)", "val_accuracy"] == pytest.approx(34.89251708984375)
    assert bench.configs["(1, 0, 0, 2, 1, 0)"] == {"cell": [1, 0, 0, 2, 1, 0]}


@pytest.mark.parametrize("name", MICRO)
def test_micro_targets_are_oriented_higher_is_better(shared_data, name):
    """Stored ranges match each task's metric; jacov (the suite's most consistent proxy) then correlates > 0."""
    table = load_benchmark(name, shared_data).table()
    low, high = MICRO_RANGES[name.removeprefix("tnb101-micro-")]
    assert low < table.y_raw.min() and table.y_raw.max() <= high
    np.testing.assert_array_equal(table.y, table.y_raw)  # maximised: never negated
    assert spearman(table.column("jacov"), table.y) > 0.15


def test_room_layout_is_a_negated_loss(shared_data):
    table = load_benchmark("tnb101-micro-room_layout", shared_data).table()
    assert table.y_raw.max() == pytest.approx(-0.6094987988471985)  # the smallest L2 loss is the best architecture
    assert spearman(table.column("params"), table.y) == pytest.approx(0.30, abs=0.01)


def test_files_not_mirrored_load_from_either_layout(tmp_path):
    """nb301 (by space) and TNB101-macro (by task) read synthetic files of the published layouts."""
    folder = tmp_path / "nb_suite_zero"
    folder.mkdir()
    archs = {
        f"(({i}, 1), ({i}, 2))": {"snip": float(i), "params": 10.0 - i, "val_accuracy": 90.0 + (2 * i) % 5}
        for i in range(5)
    }
    (folder / "zc_nasbench301.json").write_text(json.dumps({"nasbench301": {"cifar10": archs}}))
    table = SPACES.get("nb301-cifar10").load(tmp_path).table()
    np.testing.assert_array_equal(table.column("snip"), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(table.column("params"), [10, 9, 8, 7, 6])
    np.testing.assert_array_equal(table.y, [90, 92, 94, 91, 93])  # not snip's ranking: that would be a leak
    assert SPACES.get("nb301-cifar10").load(tmp_path).configs["((2, 1), (2, 2))"] == {"cell": [[2, 1], [2, 2]]}
    macro = {
        task: {
            f"({i}, 2)": {
                "idx": str(i),
                "arch": f"({i}, 2)",
                "nwot": {"score": -i, "time": 0.1},
                "val_accuracy": -float(i),
            }
            for i in range(5)
        }  # fmt: skip
        for task in ("room_layout", "jigsaw")
    }
    (folder / "zc_transbench101_macro.json").write_text(json.dumps(macro))
    bench = SPACES.get("tnb101-macro-room_layout").load(tmp_path)
    assert list(bench.features.columns) == ["nwot"] and bench.features["nwot"].tolist() == [0, -1, -2, -3, -4]
    with pytest.raises(DataError, match=r"has no task 'normal'; known: jigsaw, room_layout$"):
        SPACES.get("tnb101-macro-normal").load(tmp_path)


@pytest.mark.parametrize("name", ["nb301-cifar10", "tnb101-macro-class_scene"])
def test_published_files_when_present(shared_data, name):
    if not (shared_data / "nb_suite_zero" / TASKS[name].file.filename).is_file():
        pytest.skip(f"{TASKS[name].file.filename} is not in the local mirror")
    table = load_benchmark(name, shared_data).table()
    assert len(table.archs) > 100 and "params" in table.features


def test_bad_files_are_one_line(tmp_path):
    with pytest.raises(DataError, match="^NAS-Bench-Suite-Zero file not found: "):
        load_suite_frame(tmp_path / "none.json", "cifar10", "nasbench101")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match=r"bad.json is not JSON \("):
        load_suite_frame(tmp_path / "bad.json", "cifar10")
    (tmp_path / "space.json").write_text(json.dumps({"nasbench201": {"cifar10": {}}}))
    with pytest.raises(DataError, match="has no task 'svhn' under 'nasbench201'; known: cifar10$"):
        load_suite_frame(tmp_path / "space.json", "svhn", "nasbench201")


def test_parse_arch():
    assert parse_arch("(0, 1, (2, 3))") == [0, 1, [2, 3]]
    assert parse_arch("64-41414-3_33_333") == ["64-41414-3_33_333"]
