"""Downloads: manifest hashes, mirror copies, file:// and patched downloads, one-line errors, the data command."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from lpzero_sr.cli import main
from lpzero_sr.errors import DataError
from lpzero_sr.spaces import load_benchmark
from lpzero_sr.spaces.base import dataset_for
from lpzero_sr.spaces.data import DatasetSpec, FileSpec, datasets, ensure_dataset, http_get


def _spec(tmp_path: Path, content: bytes = b"a,b\n1,2\n") -> DatasetSpec:
    origin = tmp_path / "origin" / "sub"
    origin.mkdir(parents=True)
    (origin / "t.csv").write_bytes(content)
    digest = hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    return DatasetSpec(
        "toy",
        "toy data",
        "MIT",
        "here",
        (tmp_path / "origin").as_uri() + "/",
        (FileSpec("t.csv", "sub/t.csv", digest),),
        "toy",
    )


def test_manifest_hashes_match_the_public_files(shared_data):
    absent = []
    for spec in datasets().values():
        for file in spec.files:
            path = shared_data / spec.folder / file.path
            if not path.is_file():
                absent.append(file.path)
                continue
            assert hashlib.sha256(path.read_bytes()).hexdigest() == file.sha256, file.path
    assert absent == ["zc_nasbench301.json", "zc_transbench101_macro.json"]  # carried by hash, not mirrored here
    assert len(datasets()["lts-gpt2"].files) == 202


def test_dataset_names_follow_benchmark_names_with_their_folders():
    folders = {name: spec.folder for name, spec in datasets().items()}
    assert folders == {
        "flexibert": "flexibert",
        "lts-gpt2": "lts_gpt2_wt103",
        "nb101": "nb_suite_zero",
        "nb201": "nb_suite_zero",
        "nb301": "nb_suite_zero",
        "tnb101-micro": "nb_suite_zero",
        "tnb101-macro": "nb_suite_zero",
    }
    assert datasets()["nb301"].files[0].sha256 == "e47e258b95f63f85a6917dfc5814f5b42f793d7ef8f9a00e66689783e43affac"
    assert datasets()["tnb101-macro"].url(datasets()["tnb101-macro"].files[0]) == (
        "https://raw.githubusercontent.com/automl/NASLib/e5a821c2dadf608042e4e046e386006cf6bd0564/"
        "naslib/data/zc_transbench101_macro.json"
    )
    assert datasets()["nb101"].url(datasets()["nb101"].files[0]) == (
        "https://raw.githubusercontent.com/automl/NASLib/benchmarks/naslib/data/zc_nasbench101.json"
    )
    assert dataset_for("nb201-ImageNet16-120").name == "nb201"
    assert dataset_for("tnb101-micro-room_layout").name == "tnb101-micro"
    assert dataset_for("lts-gpt2").folder == "lts_gpt2_wt103"
    with pytest.raises(DataError, match="^benchmark 'tiny-gpt2' ships with the package; it has nothing to download$"):
        dataset_for("tiny-gpt2")


def test_mirror_copy_is_verified_and_kept(tmp_path, shared_data):
    folder = ensure_dataset("flexibert", tmp_path, mirror=shared_data)
    assert sorted(p.name for p in folder.iterdir()) == [
        "BERT_benchmark.json",
        "BERT_results_activation.csv",
        "search_space.json",
    ]
    stamp = (folder / "search_space.json").stat().st_mtime_ns
    ensure_dataset("flexibert", tmp_path, mirror=tmp_path / "nowhere")  # nothing to fetch: mirror not read
    assert (folder / "search_space.json").stat().st_mtime_ns == stamp


def test_bad_checksum_and_missing_file_are_one_line(tmp_path, shared_data):
    mirror = tmp_path / "mirror" / "nb_suite_zero"
    mirror.mkdir(parents=True)
    (mirror / "zc_nasbench201.json").write_text("{}")
    expected = datasets()["nb201"].files[0].sha256
    with pytest.raises(DataError) as err:
        ensure_dataset("nb201", tmp_path / "root", mirror=tmp_path / "mirror")
    assert str(err.value) == (
        f"checksum mismatch for nb_suite_zero/zc_nasbench201.json from {mirror / 'zc_nasbench201.json'}: "
        f"expected sha256 {expected}, got {hashlib.sha256(b'{}').hexdigest()}"
    )
    with pytest.raises(DataError, match=r"^file missing from mirror .*: flexibert/BERT_benchmark.json \(dataset "):
        ensure_dataset("flexibert", tmp_path / "root", mirror=tmp_path / "mirror")
    assert not (tmp_path / "root" / "nb_suite_zero" / "zc_nasbench201.json").exists()


def test_download_over_file_url_and_patched_opener(tmp_path, monkeypatch):
    monkeypatch.delenv("LPZERO_SR_MIRROR", raising=False)
    spec = _spec(tmp_path)
    assert (ensure_dataset(spec, tmp_path / "root") / "t.csv").read_bytes() == b"a,b\n1,2\n"
    urls = []
    with pytest.raises(DataError, match="^checksum mismatch for toy/t.csv from file://"):
        ensure_dataset(spec, tmp_path / "other", fetch=lambda url: urls.append(url) or b"tampered")
    assert urls == [spec.base_url + "sub/t.csv"]
    with pytest.raises(DataError, match="^cannot download file:///.*/missing.csv: "):
        http_get((tmp_path / "missing.csv").as_uri())


def test_load_benchmark_fills_the_cache_from_the_mirror(tmp_path, monkeypatch, shared_data):
    monkeypatch.setenv("LPZERO_SR_CACHE", str(tmp_path))
    monkeypatch.setenv("LPZERO_SR_MIRROR", str(shared_data))
    monkeypatch.delenv("LPZERO_SR_DATA", raising=False)
    bench = load_benchmark("nb201-cifar100")
    assert len(bench) == 491
    assert sorted(p.name for p in (tmp_path / "data" / "nb_suite_zero").iterdir()) == ["zc_nasbench201.json"]
    monkeypatch.setenv("LPZERO_SR_DATA", str(tmp_path / "empty"))
    with pytest.raises(DataError, match="^NAS-Bench-Suite-Zero file not found: "):
        load_benchmark("nb201-cifar100")


def test_absent_mirror_file_is_one_error_line(tmp_path, monkeypatch):
    """NAS-Bench-301 and TNB101-macro are carried by hash only: a mirror without them gives one clear line."""
    monkeypatch.setenv("LPZERO_SR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LPZERO_SR_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.delenv("LPZERO_SR_DATA", raising=False)
    (tmp_path / "mirror").mkdir()
    result = CliRunner().invoke(main, ["fit", "nb301-cifar10"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: file missing from mirror {tmp_path / 'mirror'}: nb_suite_zero/zc_nasbench301.json (dataset nb301; "
        "without --mirror it is downloaded from "
        "https://raw.githubusercontent.com/automl/NASLib/benchmarks/naslib/data/zc_nasbench301.json)\n"
    )


def test_data_command(tmp_path, shared_data):
    runner = CliRunner()
    result = runner.invoke(
        main, ["data", "download", "nb201-cifar10", "--data-dir", str(tmp_path), "--mirror", str(shared_data)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"nb201: 1 files verified in {tmp_path / 'nb_suite_zero'}\n"
    assert [p.name for p in (tmp_path / "nb_suite_zero").iterdir()] == ["zc_nasbench201.json"]
    listing = runner.invoke(main, ["data", "list", "--data-dir", str(tmp_path)]).output
    assert "nb201: 1 files in nb_suite_zero/, Apache-2.0, ok" in listing
    assert "nb101: 1 files in nb_suite_zero/, Apache-2.0, 1 of 1 files missing or stale" in listing
    assert "flexibert: 3 files in flexibert/, CC-BY-4.0 (data), 3 of 3 files missing or stale" in listing
    bad = runner.invoke(main, ["data", "download", "nope", "--data-dir", str(tmp_path)])
    assert bad.exit_code == 1
    assert bad.output.strip() == (
        "Error: unknown dataset 'nope'; known: flexibert, lts-gpt2, nb101, nb201, nb301, tnb101-macro, tnb101-micro"
    )
