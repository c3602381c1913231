import numpy as np
import pytest

import lpzero_sr.spaces as spaces
from lpzero_sr.errors import TableError
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.table_sources import benchmark_table, resolve_table


@pytest.fixture
def small_tiny_gpt2(monkeypatch, tmp_path):
    """tiny-gpt2 restricted to 8 architectures, extracted into a temporary cache."""
    monkeypatch.setenv("LPZERO_SR_CACHE", str(tmp_path))
    full = spaces.load_benchmark("tiny-gpt2")
    keep = full.archs[:8]
    full.targets = full.targets.loc[keep]
    full.configs = {a: full.configs[a] for a in keep}
    monkeypatch.setattr(spaces, "load_benchmark", lambda name, data_dir=None: full)
    return full


def test_benchmark_name_extracts_per_arch_and_per_layer_tables(small_tiny_gpt2):
    settings = ExtractSettings(batch_size=2, seq_len=16, proxies="single")
    per_arch = benchmark_table("tiny-gpt2", settings=settings)
    assert sorted(per_arch.archs) == sorted(small_tiny_gpt2.archs)
    assert per_arch.direction == "minimize" and "params" in per_arch.features
    np.testing.assert_allclose(per_arch.y, -small_tiny_gpt2.targets.loc[per_arch.archs, "val_loss"].to_numpy())

    per_layer = benchmark_table("tiny-gpt2", layer_col="layer", settings=settings)
    layers = {a: int(c["n_layer"]) for a, c in small_tiny_gpt2.configs.items()}
    assert per_layer.per_layer and len(per_layer.frame) == sum(layers.values())
    # the per-architecture value of a statistic is its mean over layers
    name = "grad.sqr.mean"
    means = per_layer.frame.groupby("arch")[name].mean()
    np.testing.assert_allclose(per_arch.frame.set_index("arch").loc[means.index, name], means, rtol=1e-9)


def test_precomputed_benchmark_by_name(shared_data):
    table = resolve_table("nb201-cifar10", shared_data)
    assert len(table.archs) == 491 and table.target == "val_accuracy" and "synflow" in table.features
    with pytest.raises(TableError, match="ships per-architecture features only"):
        resolve_table("nb201-cifar10", shared_data, layer_col="layer")


@pytest.mark.slow
def test_extra_proxies_join_the_per_arch_table(small_tiny_gpt2):
    single = ExtractSettings(batch_size=2, seq_len=16, proxies="single")
    extra = ExtractSettings(batch_size=2, seq_len=16, proxies="extra")
    table = benchmark_table("tiny-gpt2", settings=single, extra=extra)
    assert {"synflow", "grasp", "jacov", "snip"} <= set(table.features)
    assert len(table.archs) == 8
    alone = benchmark_table("tiny-gpt2", settings=extra)
    np.testing.assert_allclose(
        table.frame.set_index("arch").loc[alone.archs, "synflow"], alone.frame.set_index("arch")["synflow"]
    )
