"""Ray extraction equals the serial one; a worker killed mid-run loses nothing and a rerun redoes only its arch."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from lpzero_sr.baselines import benchmark_keys, extract_benchmark, extract_inputs
from lpzero_sr.cli import main
from lpzero_sr.features.extract import extract_space
from lpzero_sr.features.inputs import make_batch
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.parallel import ParallelError, Runner, map_archs, runner_from_options, session
from lpzero_sr.spaces import load_benchmark

ray = pytest.importorskip("ray")
SETTINGS = ExtractSettings(batch_size=2, seq_len=16, seed=5, proxies="single")
RAY = Runner(ray="auto", workers=2, max_retries=0)


@pytest.fixture(scope="module")
def cluster():
    """One small local cluster for the module (runners reuse a cluster this process is connected to)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("tiny-gpt2")


def test_runner_from_options() -> None:
    assert runner_from_options(None, None) == Runner()
    assert runner_from_options(1, None) == Runner(workers=1)
    assert runner_from_options(3, None) == Runner(ray="auto", workers=3)
    assert runner_from_options(None, "10.0.0.1:6379", 0.5) == Runner(ray="10.0.0.1:6379", gpus_per_task=0.5)
    with pytest.raises(ParallelError, match=r"^--workers must be at least 1, got 0$"):
        runner_from_options(0, None)
    with pytest.raises(ParallelError, match=r"^--gpus-per-task needs --ray or --workers N > 1$"):
        runner_from_options(None, None, 1.0)


def test_map_archs_in_process_keeps_order_and_routes_errors() -> None:
    def inverse(x: int) -> float:
        return 1 / x

    pairs = list(map_archs(inverse, [4, 0, 2], on_error=lambda item, exc: type(exc).__name__))
    assert pairs == [(4, 0.25), (0, "ZeroDivisionError"), (2, 0.5)]
    with pytest.raises(ZeroDivisionError):
        list(map_archs(inverse, [0]))


@pytest.mark.slow
def test_a_session_keeps_one_cluster_up_across_maps() -> None:
    assert not ray.is_initialized()  # runs before the module's cluster fixture starts one
    with session(RAY):
        assert sorted(map_archs(abs, [-1, 2], RAY)) == [(-1, 1), (2, 2)]
        assert ray.is_initialized()  # map_archs did not shut down the session's cluster
        assert list(map_archs(abs, [-3], RAY)) == [(-3, 3)]
    assert not ray.is_initialized()
    with session(Runner()):  # in-process: no cluster
        assert not ray.is_initialized()


@pytest.mark.slow
def test_map_archs_on_ray_returns_every_result(cluster) -> None:
    pairs = sorted(map_archs(lambda x: (x * x, os.getpid()), list(range(6)), RAY))
    assert [(item, square) for item, (square, _) in pairs] == [(i, i * i) for i in range(6)]
    assert os.getpid() not in {pid for _, (_, pid) in pairs}  # the work ran in Ray's worker processes


@pytest.mark.slow
def test_ray_extraction_equals_the_serial_table(tmp_path: Path, cluster, bench) -> None:
    archs = bench.archs[:4]
    serial = extract_benchmark(bench, SETTINGS, tmp_path / "serial", archs=archs, progress=False)
    parallel = extract_benchmark(bench, SETTINGS, tmp_path / "ray", archs=archs, progress=False, runner=RAY)
    assert len(serial) == 4 and len(serial.columns) == 1 + 312 + 19
    by_arch = [frame.sort_values("arch").reset_index(drop=True) for frame in (serial, parallel)]
    pd.testing.assert_frame_equal(by_arch[0], by_arch[1], check_exact=True)
    layers = [
        pd.read_parquet(tmp_path / d / "per_layer.parquet").sort_values(["arch", "layer"]) for d in ("serial", "ray")
    ]
    pd.testing.assert_frame_equal(*(f.reset_index(drop=True) for f in layers), check_exact=True)
    records = [json.loads(line) for line in (tmp_path / "ray" / "records.jsonl").open()]
    assert {r["arch"]: r["key"] for r in records} == benchmark_keys(bench, SETTINGS, archs=archs)


@pytest.mark.slow
def test_killed_worker_loses_nothing_and_rerun_redoes_only_its_arch(tmp_path: Path, cluster, bench) -> None:
    archs, victim = bench.archs[:4], bench.archs[1]
    marker, built = tmp_path / "victim-died", tmp_path / "built.log"

    def build(arch: str) -> torch.nn.Module:  # runs in a Ray worker: the victim's first attempt kills it
        if arch == victim and not marker.exists():
            marker.touch()
            os._exit(1)
        with built.open("a") as log:
            log.write(arch + "\n")
        torch.manual_seed(SETTINGS.seed)
        return bench.build(arch)

    def batch(arch: str, _: torch.nn.Module) -> torch.Tensor:
        return make_batch(2048, SETTINGS.batch_size, SETTINGS.seq_len, seed=SETTINGS.seed)

    def run(runner: Runner) -> pd.DataFrame:
        options = {"configs": bench.configs, "inputs": extract_inputs(bench.space, SETTINGS), "runner": runner}
        return extract_space(archs, build, batch, tmp_path / "out", "all", "single", "cpu", progress=False, **options)

    first = run(RAY)
    assert sorted(first["arch"]) == sorted(a for a in archs if a != victim)
    errors = pd.read_csv(tmp_path / "out" / "errors.csv")
    assert errors["arch"].tolist() == [victim] and errors["error"].str.startswith("WorkerCrashedError").all()
    assert sorted(built.read_text().split()) == sorted(first["arch"])
    built.unlink()
    again = run(RAY)
    assert built.read_text().split() == [victim]  # nothing written before was recomputed
    assert again["arch"].tolist() == archs
    serial = extract_benchmark(bench, SETTINGS, tmp_path / "serial", archs=archs, progress=False)
    pd.testing.assert_frame_equal(again, serial, check_exact=True)


@pytest.mark.slow
def test_ray_retries_a_dead_worker(tmp_path: Path, cluster, bench) -> None:
    archs, marker = bench.archs[:2], tmp_path / "died"

    def build(arch: str) -> torch.nn.Module:
        if not marker.exists():
            marker.touch()
            os._exit(1)
        torch.manual_seed(SETTINGS.seed)
        return bench.build(arch)

    def batch(arch: str, _: torch.nn.Module) -> torch.Tensor:
        return make_batch(2048, 2, 8, seed=0)

    retrying = Runner(ray="auto", workers=2, max_retries=2)
    frame = extract_space(archs, build, batch, tmp_path, [], ["params"], "cpu", progress=False, runner=retrying)
    assert marker.exists() and frame["arch"].tolist() == archs
    assert frame["params"].tolist() == [sum(p.numel() for p in bench.build(a).parameters()) for a in archs]


@pytest.mark.slow
def test_cli_workers_flag_matches_the_serial_run(tmp_path: Path, cluster) -> None:
    args = ["extract", "--benchmark", "tiny-gpt2", "--limit", "3", "--no-progress", "--batch-size", "2"]
    args += ["--seq-len", "8", "--stats", "grad.abs.mean,act.sqr.std", "--proxies", "snip,params"]
    for name, extra in (("serial", []), ("ray", ["--workers", "2"])):
        result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / name), *extra])
        assert result.exit_code == 0, result.output
        assert "3 architectures in" in result.output
    serial, parallel = (pd.read_parquet(tmp_path / d / "per_arch.parquet") for d in ("serial", "ray"))
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)


@pytest.mark.slow
def test_cli_score_on_ray_equals_in_process(tmp_path: Path, cluster, bench) -> None:
    from lpzero_sr.formula import Node
    from lpzero_sr.proxy import Proxy

    proxy = Proxy(Node.from_tokens(("add", "log", 0, 1), ["grad.abs.mean", "snip"])).save(tmp_path / "p.json")
    args = ["score", str(proxy), "--benchmark", "tiny-gpt2", "--archs", ",".join(bench.archs[:3])]
    args += ["--batch-size", "2", "--seq-len", "8", "--device", "cpu"]
    frames = []
    for name, extra in (("serial", []), ("ray", ["--workers", "2"])):
        result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / f"{name}.csv"), *extra])
        assert result.exit_code == 0, result.output
        frames.append(pd.read_csv(tmp_path / f"{name}.csv"))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)


@pytest.mark.slow
def test_nas_proxy_scoring_on_ray_equals_in_process(cluster, bench) -> None:
    from lpzero_sr.formula import Node
    from lpzero_sr.nas import ProxyScoring
    from lpzero_sr.proxy import Proxy
    from lpzero_sr.scorer import Scorer

    scorer = Scorer(Proxy(Node(var="weight.abs.mean")), device="cpu")
    configs = [bench.configs[a] for a in bench.archs[:3]]
    settings = ExtractSettings(batch_size=2, seq_len=8)
    serial = ProxyScoring(scorer, bench.space, settings)(configs)
    assert ProxyScoring(scorer, bench.space, settings, RAY)(configs) == serial
