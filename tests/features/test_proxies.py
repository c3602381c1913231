"""Every registered proxy equals an independent hand computation on the tiny native decoder."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import FFN, LAYERS, SEQ, VOCAB, D, native

from lpzero_sr.features.extract import extract_model
from lpzero_sr.features.proxies import PROXIES

ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
FFN_MATS = ("fc_in", "fc_out")


def _loss(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    logits = model(ids)
    return F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), ids[:, 1:].reshape(-1))


def _mats(model: torch.nn.Module, names: tuple[str, ...] = ATTN + FFN_MATS) -> list[torch.Tensor]:
    return [getattr(block, n).weight for block in model.layers for n in names]


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    return torch.randint(0, VOCAB, (3, SEQ), generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def reference(batch: torch.Tensor) -> dict[str, object]:
    """One manual forward/backward with its own hooks (retain_grad), no lpzero_sr code involved."""
    model = native()
    acts, probs, heads, outs = [], [], [], []

    def keep_act(module: torch.nn.Module, args: object, out: torch.Tensor) -> None:
        out.retain_grad()
        acts.append(out)

    for block in model.layers:
        block.ffn_act.register_forward_hook(keep_act)
        block.attn_probs.register_forward_hook(lambda m, a, out: probs.append(out.detach()))
        for name in ("q_proj", "k_proj", "v_proj"):
            getattr(block, name).register_forward_hook(lambda m, a, out: heads.append(out.detach()))
        for name in ATTN + FFN_MATS:
            getattr(block, name).register_forward_hook(lambda m, a, out: outs.append(out.detach()))
    _loss(model, batch).backward()
    return {"model": model, "acts": acts, "probs": probs, "heads": heads, "outs": outs}


@pytest.fixture(scope="module")
def extracted(batch: torch.Tensor) -> dict[str, float]:
    result = extract_model(native(), batch, stats=None, proxies="all", device="cpu")
    assert result.errors == {}
    return result.per_arch


def test_every_proxy_is_checked() -> None:
    assert set(PROXIES.names()) == set(HAND) | {"grasp", "synflow", "logsynflow", "jacov", "jacob_cos"}
    assert {n for n, p in PROXIES.items() if p.extra_pass} == {"grasp", "synflow", "logsynflow", "jacov", "jacob_cos"}


def _hand(reference: dict[str, object]) -> dict[str, float]:
    model = reference["model"]
    acts, probs, heads = reference["acts"], reference["probs"], reference["heads"]
    mats = _mats(model)
    attn, ffn = _mats(model, ATTN), _mats(model, FFN_MATS)
    n_params = sum(p.numel() for p in model.parameters())

    def codes(a: torch.Tensor) -> np.ndarray:
        return (a.detach().reshape(-1, FFN) > 0).numpy().astype(float)

    def kernel(c: np.ndarray) -> np.ndarray:
        return c @ c.T + (1 - c) @ (1 - c).T

    def pca_dim(a: torch.Tensor) -> int:
        x = a.detach().reshape(-1, FFN).double().numpy()
        s = np.linalg.svd(x - x.mean(0), compute_uv=False) ** 2
        return int(np.argmax(np.cumsum(s) / s.sum() >= 0.99)) + 1

    def conv1d(block: torch.nn.Module, grad: bool) -> list[torch.Tensor]:
        """GPT-2's four Conv1D matrices (in, out) of a block: q|k|v fused, attention output, FFN in, FFN out."""
        ws = [(getattr(block, n).weight.grad if grad else getattr(block, n).weight.detach()).T for n in ATTN + FFN_MATS]
        return [torch.cat(ws[:3], dim=1), *ws[3:]]

    def lpzero_gpt2() -> float:  # per matrix mean(W^2) + mean(softmax(G, dim=0)^2), averaged over the 8 matrices
        pairs = [(w, g) for b in model.layers for w, g in zip(conv1d(b, False), conv1d(b, True), strict=True)]
        return float(np.mean([float((w**2).mean() + (torch.softmax(g, 0) ** 2).mean()) for w, g in pairs]))

    def lpzero_flexibert() -> float:  # mean over the 8 projection outputs (q|k|v fused) of mean(h^2)
        outs = reference["outs"]  # per block: q, k, v, o, fc_in, fc_out
        per_block = [outs[6 * i : 6 * i + 6] for i in range(LAYERS)]
        items = [h for o in per_block for h in (torch.cat(o[:3], dim=-1), *o[3:])]
        return float(np.mean([float((h**2).mean()) for h in items]))

    return {
        "grad_norm": sum(float(p.grad.norm()) for p in mats),
        "snip": sum(float((p.detach() * p.grad).abs().sum()) for p in mats),
        "plain": sum(float((p.detach() * p.grad).sum()) for p in mats),
        "l2_norm": sum(float(p.detach().norm()) for p in mats),
        "synaptic_saliency": sum(float((p.detach() * p.grad).abs().sum()) for p in ffn),
        "head_importance": sum(float((p.detach() * p.grad).abs().sum()) for p in attn),
        "synaptic_diversity": sum(
            float(torch.linalg.svdvals(p.detach().double()).sum() * torch.linalg.svdvals(p.grad.double()).sum())
            for p in attn
        ),
        "fisher": sum(float(0.5 * ((a.detach() * a.grad).sum(1) ** 2).mean(0).sum()) for a in acts),
        "nwot": float(np.linalg.slogdet(sum(kernel(codes(a)) for a in acts))[1]),
        "act_distance": sum(float(kernel(codes(a[0])).sum()) for a in acts),
        "wpca": n_params * sum(pca_dim(a) for a in acts),
        "attn_conf": float(np.mean([float(p.max(-1).values.mean()) for p in probs])),
        "softmax_conf": sum(float(p.max(1).values.mean()) for p in probs),
        "head_conf": sum(float(h.max(1).values.mean()) for h in heads),
        "lpzero-gpt2": lpzero_gpt2(),
        "lpzero-flexibert": lpzero_flexibert(),
        # hand-counted for V=20, d=8, T=6, FFN=16, 2 layers: 4 (8x8+8) + (8x16+16) + (16x8+8) = 568 per block
        "params": 20 * 8 + 6 * 8 + LAYERS * 568 + (8 * 20 + 20),
        "params_nonemb": LAYERS * 568 + (8 * 20 + 20),
        # 2 T (sum of linear weights) + per layer 4 T T d
        "flops": 2 * SEQ * (LAYERS * (4 * 64 + 2 * 128) + 160) + LAYERS * 4 * SEQ * SEQ * D,
    }


HAND = [
    "grad_norm", "snip", "plain", "l2_norm", "synaptic_saliency", "head_importance", "synaptic_diversity", "fisher",
    "nwot", "act_distance", "wpca", "attn_conf", "softmax_conf", "head_conf", "lpzero-gpt2", "lpzero-flexibert",
    "params", "params_nonemb", "flops",
]  # fmt: skip


def test_single_pass_proxies_equal_hand_computation(reference: dict[str, object], extracted: dict[str, float]) -> None:
    hand = _hand(reference)
    assert hand["params"] == 1524 and hand["params_nonemb"] == 1316 and hand["flops"] == 16512
    for name in HAND:
        assert extracted[name] == pytest.approx(hand[name], rel=1e-4), name


def test_synflow_and_logsynflow(batch: torch.Tensor, extracted: dict[str, float]) -> None:
    model = copy.deepcopy(native())
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model(batch).sum().backward()
    mats = [p.detach() for p in _mats(model)]
    grads = [p.grad for p in _mats(model)]
    assert extracted["synflow"] == pytest.approx(
        sum(float((p * g).abs().sum()) for p, g in zip(mats, grads, strict=True)), rel=1e-4
    )
    assert extracted["logsynflow"] == pytest.approx(
        sum(float((p * torch.log1p(g.abs())).sum()) for p, g in zip(mats, grads, strict=True)), rel=1e-4
    )


def test_jacobian_proxies(batch: torch.Tensor, extracted: dict[str, float]) -> None:
    model = native()
    emb = model.tok_emb(batch)
    emb.retain_grad()
    x = emb + model.pos_emb(torch.arange(SEQ))
    for block in model.layers:
        x = block(x)
    model.head(x).sum().backward()
    jac = emb.grad.double().numpy()
    v = np.linalg.eigvalsh(np.corrcoef(jac.reshape(3, -1)))
    assert extracted["jacov"] == pytest.approx(-np.sum(np.log(v + 1e-5) + 1 / (v + 1e-5)), rel=1e-4)
    rows = jac.sum(0).T
    normed = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    cos = np.abs(normed @ normed.T) ** (1 / 20)
    n = D
    assert extracted["jacob_cos"] == pytest.approx(1 - (cos.sum() - np.trace(cos)) / 2 / (n * n - n), rel=1e-5)


def test_grasp_equals_finite_difference_hessian(batch: torch.Tensor) -> None:
    model = native(dtype=torch.float64)
    mats = _mats(model)
    g = torch.autograd.grad(_loss(model, batch), mats)
    eps = 1e-5

    def grad_at(sign: float) -> tuple[torch.Tensor, ...]:
        with torch.no_grad():
            for p, d in zip(mats, g, strict=True):
                p.add_(sign * eps * d)
        out = torch.autograd.grad(_loss(model, batch), mats)
        with torch.no_grad():
            for p, d in zip(mats, g, strict=True):
                p.sub_(sign * eps * d)
        return out

    plus, minus = grad_at(1.0), grad_at(-1.0)
    hand = -sum(float((p.detach() * (a - b) / (2 * eps)).sum()) for p, a, b in zip(mats, plus, minus, strict=True))
    value = extract_model(model, batch, stats=None, proxies=["grasp"], device="cpu").per_arch["grasp"]
    assert value == pytest.approx(hand, rel=1e-5)
    assert not math.isclose(hand, 0.0)


def test_nwot_of_a_singular_kernel_is_an_error_value_not_minus_infinity() -> None:
    row = torch.randint(0, VOCAB, (1, SEQ), generator=torch.Generator().manual_seed(2))
    twins = row.repeat(2, 1)  # two equal sequences: every token's codes appear twice, so K has two equal rows
    result = extract_model(native(), twins, stats=[], proxies=["nwot"], device="cpu")
    assert math.isnan(result.per_arch["nwot"])
    assert result.errors["nwot"].startswith(
        f"SingularKernelError: the {2 * SEQ}-token Hamming kernel is singular (log det = -inf)"
    )
