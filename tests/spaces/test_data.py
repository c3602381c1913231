"""Downloads: manifest hashes, mirror copies, file:// and patched downloads, one-line errors, the data command."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from lpzero_sr.cli import main
from lpzero_sr.errors import DataError
from lpzero_sr.spaces import load_benchmark
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
    )


def test_manifest_hashes_match_the_public_files(shared_data):
    for name, spec in datasets().items():
        for file in spec.files:
            data = (shared_data / name / file.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == file.sha256, file.path
    assert len(datasets()["lts_gpt2_wt103"].files) == 202


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
    expected = datasets()["nb_suite_zero"].files[0].sha256
    with pytest.raises(DataError) as err:
        ensure_dataset("nb_suite_zero", tmp_path / "root", mirror=tmp_path / "mirror")
    assert str(err.value) == (
        f"checksum mismatch for nb_suite_zero/zc_nasbench201.json from {mirror / 'zc_nasbench201.json'}: "
        f"expected sha256 {expected}, got {hashlib.sha256(b'{}').hexdigest()}"
    )
    with pytest.raises(DataError, match="^file missing from mirror .*: flexibert/BERT_benchmark.json$"):
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
    assert len(bench) == 491 and (tmp_path / "data" / "nb_suite_zero" / "zc_nasbench201.json").is_file()
    monkeypatch.setenv("LPZERO_SR_DATA", str(tmp_path / "empty"))
    with pytest.raises(DataError, match="^NAS-Bench-Suite-Zero file not found: "):
        load_benchmark("nb201-cifar100")


def test_data_command(tmp_path, shared_data):
    runner = CliRunner()
    result = runner.invoke(
        main, ["data", "download", "nb_suite_zero", "--data-dir", str(tmp_path), "--mirror", str(shared_data)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"nb_suite_zero: 1 files verified in {tmp_path / 'nb_suite_zero'}\n"
    listing = runner.invoke(main, ["data", "list", "--data-dir", str(tmp_path)]).output
    assert "nb_suite_zero: 1 files, Apache-2.0, ok" in listing
    assert "flexibert: 3 files, CC-BY-4.0 (data), 3 of 3 files missing or stale" in listing
    bad = runner.invoke(main, ["data", "download", "nope", "--data-dir", str(tmp_path)])
    assert bad.exit_code == 1
    assert bad.output.strip() == "Error: unknown dataset 'nope'; known: flexibert, lts_gpt2_wt103, nb_suite_zero"
