"""sympy -> torch/numpy: one table per backend, equal numbers, guards, gradients, generated source."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from lpzero_sr.compile import EXP_MAX, TINY, symbol, to_numpy, to_torch, torch_source

G, W, S = symbol("grad.sqr.mean"), symbol("weight*grad"), symbol("softmax.identity.std")
EXPR = sympy.log(sympy.Abs(G)) * W**2 + sympy.sqrt(sympy.Abs(S)) / (1 + sympy.exp(-W)) - sympy.Rational(1, 3) * G / S


def stats(n: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "grad.sqr.mean": rng.uniform(0.1, 5, n) * rng.choice([-1, 1], n),
        "weight*grad": rng.normal(size=n),
        "softmax.identity.std": rng.uniform(0.5, 3, n),
    }


def test_torch_numpy_and_sympy_agree() -> None:
    values = stats()
    reference = sympy.lambdify([G, W, S], EXPR, "numpy")(*values.values())
    np.testing.assert_allclose(to_numpy(EXPR, values), reference, rtol=1e-6, atol=1e-6)
    fn = to_torch(EXPR)
    out = fn({k: torch.tensor(v) for k, v in values.items()})
    np.testing.assert_allclose(out.numpy(), reference, rtol=1e-6, atol=1e-6)
    assert fn.required == ("grad.sqr.mean", "softmax.identity.std", "weight*grad")


def test_gradients_flow() -> None:
    x = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    fn = to_torch(sympy.log(sympy.Abs(G)) + G**2)
    fn({"grad.sqr.mean": x}).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / x.detach().numpy() + 2 * x.detach().numpy())


def test_guards_are_the_same_in_numpy_and_torch() -> None:
    x = np.array([0.0, -0.0, 1e-40, -1e-40, 200.0])
    expr = sympy.log(sympy.Abs(G)) + 1 / G + sympy.exp(G)
    expected = np.log(np.maximum(np.abs(x), TINY)) + 1 / np.array([TINY, TINY, TINY, -TINY, 200.0])
    expected = expected + np.exp(np.minimum(x, EXP_MAX))
    np.testing.assert_allclose(to_numpy(expr, {"grad.sqr.mean": x}), expected)
    out = to_torch(expr)({"grad.sqr.mean": torch.tensor(x)})
    np.testing.assert_allclose(out.numpy(), expected)


def test_constant_expression_broadcasts_on_the_statistics_device() -> None:
    out = to_torch(sympy.Integer(3) + 0 * G)({"grad.sqr.mean": torch.ones(4)})
    assert out.dtype == torch.float64 and out.device.type == "cpu"
    with pytest.raises(KeyError, match="missing statistics for proxy: grad.sqr.mean"):
        to_torch(G)({"other": torch.ones(2)})


def test_unsupported_nodes_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported expression node sin"):
        to_numpy(sympy.sin(G), {"grad.sqr.mean": np.ones(2)})
    with pytest.raises(ValueError, match="only numeric exponents"):
        to_numpy(G**W, {"grad.sqr.mean": np.ones(2), "weight*grad": np.ones(2)})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda() -> None:
    values = {k: torch.tensor(v, device="cuda") for k, v in stats().items()}
    assert to_torch(EXPR)(values).device.type == "cuda"


def test_generated_torch_source_matches() -> None:
    src = torch_source(EXPR)
    assert src.startswith("import torch\n\nfrom lpzero_sr.compile import ")
    assert "stats['weight*grad']" in src
    namespace: dict = {}
    exec(compile(src, "<proxy>", "exec"), namespace)  # our own generated code, checked here
    values = {k: torch.tensor(v) for k, v in stats(seed=1).items()}
    torch.testing.assert_close(namespace["proxy"](values), to_torch(EXPR)(values))
