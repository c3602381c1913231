"""Formula trees -> torch callables and standalone torch source: equal numbers, guards, gradients, aggregation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lpzero_sr.compile import to_torch, torch_source
from lpzero_sr.formula import Node, evaluate_numpy, formula_latex, formula_text
from lpzero_sr.operators import EXP_MAX, TINY

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


def test_torch_and_numpy_agree_with_a_hand_computation() -> None:
    values = stats()
    g, w, s = values.values()
    by_hand = np.log(np.abs(g)) * w * w + np.sqrt(s) / (1 + np.exp(-w)) - g / s
    np.testing.assert_allclose(evaluate_numpy(FORMULA, values), by_hand, rtol=1e-13)
    fn = to_torch(FORMULA)
    out = fn({k: torch.tensor(v) for k, v in values.items()})
    np.testing.assert_allclose(out.numpy(), by_hand, rtol=1e-13)
    assert fn.required == ("grad.sqr.mean", "softmax.identity.std", "weight*grad")


def test_gradients_flow() -> None:
    x = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    fn = to_torch(Node.from_tokens(("add", "log", 0, "square", 0), ["g"]))
    fn({"g": x}).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / x.detach().numpy() + 2 * x.detach().numpy())


def test_guards_are_the_same_in_numpy_and_torch() -> None:
    x = np.array([0.0, -0.0, 1e-40, -1e-40, 200.0, np.nan])
    node = Node.from_tokens(("add", "add", "log", 0, "inv", 0, "exp", 0), ["g"])
    denominators = np.array([TINY, -TINY, TINY, -TINY, 200.0, np.nan])  # sign bit of x, -0.0 included
    expected = np.log(np.maximum(np.abs(x), TINY)) + 1 / denominators + np.exp(np.minimum(x, EXP_MAX))
    np.testing.assert_array_equal(evaluate_numpy(node, {"g": x}), expected)
    np.testing.assert_array_equal(to_torch(node)({"g": torch.tensor(x)}).numpy(), expected)


def test_max_and_min_of_two_formulas() -> None:
    a = np.array([1.0, -2.0, 3.0, 0.25, np.nan, 5.0])
    b = np.array([2.0, -3.0, 3.0, 0.5, 1.0, np.nan])
    node = Node.from_tokens(("sub", "max", 0, 1, "min", 0, 1), ["a", "b"])
    expected = np.maximum(a, b) - np.minimum(a, b)  # NaN in either argument gives NaN
    np.testing.assert_array_equal(evaluate_numpy(node, {"a": a, "b": b}), expected)
    np.testing.assert_array_equal(to_torch(node)({"a": torch.tensor(a), "b": torch.tensor(b)}).numpy(), expected)
    assert formula_text(node) == "max(a, b) - min(a, b)"
    assert formula_latex(node) == r"\max\left(\mathrm{a}, \mathrm{b}\right) - \min\left(\mathrm{a}, \mathrm{b}\right)"
    x = torch.tensor([1.0, 4.0], dtype=torch.float64, requires_grad=True)
    to_torch(node)({"a": x, "b": torch.tensor([2.0, 3.0], dtype=torch.float64)}).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, 1.0])  # |a - b|: the sign of a - b


def test_constant_subexpressions_compile() -> None:
    # sqrt(add(x, x)) used to become sqrt(2)*sqrt(|x|) and crash torch.pow(float, float)
    node = Node.from_tokens(("add", "sqrt", "add", 0, 0, "log", 2.0), ["g"])
    x = np.array([0.5, 8.0, -3.0])
    expected = np.sqrt(np.abs(x + x)) + np.log(2.0)
    np.testing.assert_allclose(to_torch(node)({"g": torch.tensor(x)}).numpy(), expected, rtol=1e-15)
    constant = to_torch(Node(const=3.0))({"g": torch.ones(4)})
    assert constant.dtype == torch.float64 and float(constant) == 3.0
    with pytest.raises(KeyError, match="missing statistics for proxy: g"):
        to_torch(node)({"other": torch.ones(2)})


def test_per_layer_aggregation_is_compiled() -> None:
    node = Node.from_tokens(("mul", 0, 1), ["a", "b"])
    layers = {"a": torch.tensor([1.0, 2.0, 3.0]), "b": torch.tensor([2.0, 2.0, 0.5])}
    assert float(to_torch(node, aggregation="sum")(layers)) == 7.5
    assert float(to_torch(node, aggregation="mean")(layers)) == 2.5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda() -> None:
    values = {k: torch.tensor(v, device="cuda") for k, v in stats().items()}
    assert to_torch(FORMULA)(values).device.type == "cuda"


@pytest.mark.parametrize("aggregation", [None, "sum"])
def test_generated_torch_source_is_standalone_and_matches(aggregation: str | None) -> None:
    src = torch_source(FORMULA, aggregation)
    assert src.startswith("import torch\n") and "lpzero_sr" not in src
    assert "stats['weight*grad']" in src and "def lpz_log(x):" in src
    assert src.rstrip().endswith(".sum()") == (aggregation == "sum")
    namespace: dict = {}
    exec(compile(src, "<proxy>", "exec"), namespace)  # our own generated code, checked here
    values = {k: torch.tensor(v) for k, v in stats(seed=1).items()}
    torch.testing.assert_close(namespace["proxy"](values), to_torch(FORMULA, aggregation=aggregation)(values))


@pytest.mark.parametrize(
    ("tokens", "text"),
    [
        (("add", "add", 0, 1, 2), "a + b + c"),  # a left operand's sum needs no brackets
        (("add", 0, "add", 1, 2), "a + (b + c)"),  # a right one keeps them: the text shows the tree
        (("sub", "sub", 0, 1, 2), "a - b - c"),
        (("sub", 0, "add", 1, 2), "a - (b + c)"),
        (("sub", 0, "sub", 1, 2), "a - (b - c)"),
        (("sub", 0, "neg", 1), "a - (-b)"),
        (("add", "mul", -0.5, 0, 1), "-0.5*a + b"),
        (("add", 0, "mul", -0.5, 1), "a - 0.5*b"),
        (("mul", "add", 0, 1, 2), "(a + b)*c"),
        (("neg", "add", 0, 1), "-(a + b)"),
    ],
)
def test_the_text_of_a_sum_brackets_only_what_the_tree_needs(tokens: tuple, text: str) -> None:
    assert formula_text(Node.from_tokens(tokens, ["a", "b", "c"])) == text
