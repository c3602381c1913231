"""The proxy as a torch nn.Module and as standalone torch source: equal numbers, guards, gradients, aggregation,
knots and constants as buffers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lpzero_sr.export.torch import ProxyModule, torch_source
from lpzero_sr.formula import Node, evaluate_numpy
from lpzero_sr.operators import EXP_MAX, TINY
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import Quantile

NAMES = ["grad.sqr.mean", "weight*grad", "softmax.identity.std"]
# log|g| * w^2 + sqrt|s| * sigmoid(w) - div(g, s), as the search writes it
FORMULA = Node.from_tokens(
    ("sub", "add", "mul", "log", 0, "square", 1, "mul", "sqrt", 2, "sigmoid", 1, "div", 0, 2), NAMES
)


def stats(n: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "grad.sqr.mean": rng.uniform(0.1, 5, n) * rng.choice([-1, 1], n),
        "weight*grad": rng.normal(size=n),
        "softmax.identity.std": rng.uniform(0.5, 3, n),
    }


def tensors(values: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(v) for k, v in values.items()}


def test_torch_and_numpy_agree_with_a_hand_computation() -> None:
    values = stats()
    g, w, s = values.values()
    by_hand = np.log(np.abs(g)) * w * w + np.sqrt(s) / (1 + np.exp(-w)) - g / s
    np.testing.assert_allclose(evaluate_numpy(FORMULA, values), by_hand, rtol=1e-13)
    module = ProxyModule(FORMULA)
    np.testing.assert_allclose(module(tensors(values)).numpy(), by_hand, rtol=1e-13)
    assert isinstance(module, torch.nn.Module)
    assert module.required == ("grad.sqr.mean", "softmax.identity.std", "weight*grad")


def test_gradients_flow() -> None:
    x = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    module = ProxyModule(Node.from_tokens(("add", "log", 0, "square", 0), ["g"]))
    module({"g": x}).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / x.detach().numpy() + 2 * x.detach().numpy())


def test_guards_are_the_same_in_numpy_and_torch() -> None:
    x = np.array([0.0, -0.0, 1e-40, -1e-40, 200.0, np.nan])
    node = Node.from_tokens(("add", "add", "log", 0, "inv", 0, "exp", 0), ["g"])
    denominators = np.array([TINY, -TINY, TINY, -TINY, 200.0, np.nan])  # sign bit of x, -0.0 included
    expected = np.log(np.maximum(np.abs(x), TINY)) + 1 / denominators + np.exp(np.minimum(x, EXP_MAX))
    np.testing.assert_array_equal(evaluate_numpy(node, {"g": x}), expected)
    np.testing.assert_array_equal(ProxyModule(node)({"g": torch.tensor(x)}).numpy(), expected)


def test_max_and_min_of_two_formulas() -> None:
    a = np.array([1.0, -2.0, 3.0, 0.25, np.nan, 5.0])
    b = np.array([2.0, -3.0, 3.0, 0.5, 1.0, np.nan])
    node = Node.from_tokens(("sub", "max", 0, 1, "min", 0, 1), ["a", "b"])
    expected = np.maximum(a, b) - np.minimum(a, b)  # NaN in either argument gives NaN
    np.testing.assert_array_equal(evaluate_numpy(node, {"a": a, "b": b}), expected)
    np.testing.assert_array_equal(ProxyModule(node)({"a": torch.tensor(a), "b": torch.tensor(b)}).numpy(), expected)
    x = torch.tensor([1.0, 4.0], dtype=torch.float64, requires_grad=True)
    ProxyModule(node)({"a": x, "b": torch.tensor([2.0, 3.0], dtype=torch.float64)}).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, 1.0])  # |a - b|: the sign of a - b


def test_constant_subexpressions() -> None:
    # sqrt(add(x, x)) used to become sqrt(2)*sqrt(|x|) and crash torch.pow(float, float)
    node = Node.from_tokens(("add", "sqrt", "add", 0, 0, "log", 2.0), ["g"])
    x = np.array([0.5, 8.0, -3.0])
    expected = np.sqrt(np.abs(x + x)) + np.log(2.0)
    np.testing.assert_allclose(ProxyModule(node)({"g": torch.tensor(x)}).numpy(), expected, rtol=1e-15)
    constant = ProxyModule(Node(const=3.0))({"g": torch.ones(4)})
    assert constant.dtype == torch.float64 and float(constant) == 3.0
    with pytest.raises(KeyError, match="missing statistics for proxy: g"):
        ProxyModule(node)({"other": torch.ones(2)})


def test_per_layer_aggregation() -> None:
    node = Node.from_tokens(("mul", 0, 1), ["a", "b"])
    layers = {"a": torch.tensor([1.0, 2.0, 3.0]), "b": torch.tensor([2.0, 2.0, 0.5])}
    assert float(ProxyModule(node, aggregation="sum")(layers)) == 7.5
    assert float(ProxyModule(node, aggregation="mean")(layers)) == 2.5
    with pytest.raises(ValueError, match="unknown aggregation 'max'; use one of sum, mean, nanmean"):
        ProxyModule(node, aggregation="max")  # type: ignore[arg-type]


def _bagged() -> Proxy:
    source = Node(op="add", args=(Node(var="q(a)"), Node(op="mul", args=(Node(const=-0.5), Node(var="b")))))
    quantiles = {
        "q(a)": Quantile("a", (-1.0, 0.0, 2.0), (-0.5, 0.0, 0.5)),
        "q[f1]": Quantile("", (-3.0, 0.5, 1.0, 4.0), (-0.5, -0.25, 0.25, 0.5), source),
    }
    root = Node(op="add", args=(Node(var="q[f1]"), Node(op="mul", args=(Node(const=2.0), Node(var="q(a)")))))
    return Proxy(root, aggregation="sum", quantiles=quantiles)


def test_knots_levels_and_constants_are_buffers_in_the_state_dict() -> None:
    module = _bagged().to_torch()
    state = module.state_dict()
    assert set(state) == {"knots_0", "levels_0", "knots_1", "levels_1", "const_0", "const_1"}
    assert module.quantile_buffers == {"q(a)": ("knots_0", "levels_0"), "q[f1]": ("knots_1", "levels_1")}
    assert state["knots_1"].tolist() == [-3.0, 0.5, 1.0, 4.0] and state["levels_0"].tolist() == [-0.5, 0.0, 0.5]
    assert sorted(float(state[name]) for name in module.constant_buffers.values()) == [-0.5, 2.0]
    layers = {"a": torch.tensor([-2.0, 0.5, 1.0]), "b": torch.tensor([1.0, -4.0, 0.25])}
    before = module(layers)
    fresh = _bagged().to_torch()
    fresh.get_buffer("knots_0").add_(10.0)  # the buffers are what the module computes with
    assert float(fresh(layers)) != float(before)
    fresh.load_state_dict(state)  # ... and a saved state restores them
    assert float(fresh(layers)) == float(before)


def test_buffers_move_with_the_module() -> None:
    module = _bagged().to_torch().to("meta")
    assert {b.device.type for b in module.buffers()} == {"meta"}


def test_the_module_and_the_source_compute_the_same_bits() -> None:
    proxy = _bagged()
    layers = {"a": torch.linspace(-3, 3, 11, dtype=torch.float64), "b": torch.linspace(-5, 5, 11, dtype=torch.float64)}
    namespace: dict = {}
    exec(compile(proxy.torch_source(), "<proxy>", "exec"), namespace)  # our own generated code, checked here
    assert float(namespace["proxy"](layers)) == float(proxy.to_torch()(layers))
    leaves = {"a": layers["a"].numpy(), "b": layers["b"].numpy()}
    assert float(proxy.to_torch()(layers)) == pytest.approx(float(proxy.row_values(leaves).sum()), rel=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda_with_the_cpu_numbers() -> None:
    module = _bagged().to_torch().to("cuda")
    assert {b.device.type for b in module.buffers()} == {"cuda"}
    layers = {"a": torch.linspace(-3, 3, 11, dtype=torch.float64), "b": torch.linspace(-5, 5, 11, dtype=torch.float64)}
    on_gpu = module({k: v.cuda() for k, v in layers.items()})
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), _bagged().to_torch()(layers), rtol=1e-12, atol=0)
    values = {k: torch.tensor(v, device="cuda") for k, v in stats().items()}
    assert ProxyModule(FORMULA)(values).device.type == "cuda"


@pytest.mark.parametrize("aggregation", [None, "sum"])
def test_generated_torch_source_is_standalone_and_matches(aggregation: str | None) -> None:
    src = torch_source(FORMULA, aggregation)
    assert src.startswith("import torch\n") and "lpzero_sr" not in src
    assert "stats['weight*grad']" in src and "def lpz_log(x):" in src
    assert src.rstrip().endswith(".sum()") == (aggregation == "sum")
    namespace: dict = {}
    exec(compile(src, "<proxy>", "exec"), namespace)  # our own generated code, checked here
    values = tensors(stats(seed=1))
    expected = ProxyModule(FORMULA, aggregation=aggregation)(values)
    np.testing.assert_array_equal(namespace["proxy"](values).numpy(), expected.numpy())
