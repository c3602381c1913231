"""Bank statistics against hand computations, and every closed form against the direct transform."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import native

from lpzero_sr.features import bank
from lpzero_sr.features.hooks import Record
from lpzero_sr.features.recipes import detect_recipe


def _record(tensors: dict[str, list[list[torch.Tensor]]]) -> Record:
    model = native()
    specs = detect_recipe(model).layers(model)
    return Record(specs=specs, kinds=frozenset(tensors), tensors=tensors)


@pytest.fixture
def record() -> Record:
    return _record(
        {
            "weight": [[torch.tensor([[1.0, -2.0], [3.0, 4.0]])], [torch.tensor([0.5, -0.5]), torch.tensor([2.0])]],
            "grad": [[torch.tensor([[0.1, 0.2], [0.3, 0.4]])], [torch.tensor([1.0, 1.0]), torch.tensor([1.0])]],
            "act": [[], [torch.tensor([[-1.0, 0.0, 2.0]])]],
        }
    )


def test_sample_of_statistics_by_hand(record: Record) -> None:
    # layer 0 weight x = [1, -2, 3, 4]; layer 1 weight x = [0.5, -0.5, 2]
    e = [math.exp(v) for v in (1, -2, 3, 4)]
    expected = {
        "weight.identity.mean": [1.5, 2 / 3],
        "weight.identity.std": [math.sqrt(7), math.sqrt(((0.5 - 2 / 3) ** 2 + (-0.5 - 2 / 3) ** 2 + (4 / 3) ** 2) / 2)],
        "weight.identity.fro": [math.sqrt(30), math.sqrt(4.5)],
        "weight.abs.l1": [10, 3],
        "weight.sqr.mean": [7.5, 1.5],
        "weight.negate.mean": [-1.5, -2 / 3],
        "weight.log_abs.mean": [math.log(24) / 4, (2 * math.log(0.5) + math.log(2)) / 3],
        "weight.sqrt_abs.l1": [1 + math.sqrt(2) + math.sqrt(3) + 2, 2 * math.sqrt(0.5) + math.sqrt(2)],
        "weight.relu.l1": [8, 2.5],
        "weight.minmax.mean": [(3 + 0 + 5 + 6) / 6 / 4, (0.4 + 0 + 1) / 3],
        "weight.normalise.l1": [8 / math.sqrt(7), None],
        "weight.softmax.mean": [0.25, 1 / 3],
        "weight.softmax.fro": [math.sqrt(sum(v * v for v in e)) / sum(e), None],
        "weight.exp.mean": [sum(e) / 4, None],
        "weight.sigmoid.mean": [sum(1 / (1 + math.exp(-v)) for v in (1, -2, 3, 4)) / 4, None],
        "weight.invert.mean": [(1 - 0.5 + 1 / 3 + 0.25) / 4, (2 - 2 + 0.5) / 3],
        "weight*grad.identity.l1": [0.1 + 0.4 + 0.9 + 1.6, 0.5 + 0.5 + 2],
        "weight*grad.identity.mean": [0.55, 2 / 3],
        "act.identity.mean": [math.nan, 1 / 3],
    }
    stats = bank.compute_stats(record, list(expected))
    for name, values in expected.items():
        for layer, value in enumerate(values):
            if value is not None:
                assert stats[name][layer] == pytest.approx(value, rel=2e-6, abs=1e-7, nan_ok=True), (name, layer)
    assert bank.per_arch(stats)["weight.identity.mean"] == pytest.approx((1.5 + 2 / 3) / 2)
    assert bank.per_arch(stats)["act.identity.mean"] == pytest.approx(1 / 3)  # the layer without act is ignored
    frame = bank.per_layer_frame(stats)
    assert list(frame["layer"]) == [0, 1] and frame.shape == (2, 1 + len(expected))


REDUCE = {
    "mean": lambda y: y.mean(),
    "std": lambda y: y.std(ddof=1),
    "l1": lambda y: np.abs(y).sum(),
    "fro": lambda y: np.sqrt((y**2).sum()),
}


def test_every_column_equals_direct_computation() -> None:
    """Closed forms and the shared scratch buffer give the numbers of applying each transform directly."""
    gen = torch.Generator().manual_seed(0)
    weights = [[torch.randn(7, 9, generator=gen) * 0.5 + 0.2], [torch.randn(50, generator=gen) * 2 - 0.3]]
    grads = [[torch.randn(7, 9, generator=gen)], [torch.rand(50, generator=gen)]]
    record = _record({"weight": weights, "grad": grads})
    names = bank.column_names(["weight", "weight*grad"])
    assert len(names) == 2 * 13 * 4
    stats = bank.compute_stats(record, names)
    for name in names:
        kind, tname, rname = bank.parse_column(name)
        for layer in range(2):
            x = weights[layer][0].reshape(1, -1)
            if kind == "weight*grad":
                x = x * grads[layer][0].reshape(1, -1)
            y = bank.TRANSFORMS.get(tname)(x.double()).numpy()[0]
            assert stats[name][layer] == pytest.approx(REDUCE[rname](y), rel=1e-4, abs=1e-6), name


def test_names_parse_or_fail_with_one_line() -> None:
    assert bank.parse_column("weight*grad.log_abs.l1") == ("weight*grad", "log_abs", "l1")
    assert bank.required_kinds(["weight*grad.abs.mean", "act.exp.std"]) == {"weight", "grad", "act"}
    with pytest.raises(bank.StatError, match=r"^statistic 'grad\.sqr' is not of the form kind\.transform\.reduction$"):
        bank.parse_column("grad.sqr")
    with pytest.raises(bank.StatError, match=r"^statistic 'grad\.cube\.mean': unknown transform 'cube'; known: abs,"):
        bank.parse_column("grad.cube.mean")
    with pytest.raises(bank.StatError, match=r"^statistic 'bias\.abs\.mean': unknown kind 'bias'; known: act, head,"):
        bank.parse_column("bias.abs.mean")


def test_adding_a_transform_is_one_decorator(record: Record) -> None:
    @bank.transform("cube_test")
    def cube(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        return torch.pow(x, 3, out=out)

    try:
        assert bank.compute_stats(record, ["weight.cube_test.l1"])["weight.cube_test.l1"][0] == pytest.approx(100.0)
        assert "weight.cube_test.mean" in bank.column_names()
    finally:
        bank.TRANSFORMS._items.pop("cube_test")
