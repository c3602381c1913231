"""Recipes find every layer of each family; hooks capture what they should and are all removed afterwards."""

from __future__ import annotations

import pytest
import torch
from conftest import FFN, HEADS, LAYERS, SEQ, hf_model, native
from torch import nn

from lpzero_sr.features.hooks import LAYER_KINDS, CaptureError, HookManager
from lpzero_sr.features.loss import logits_of, zero_cost_loss
from lpzero_sr.features.recipes import RecipeError, detect_recipe

FAMILIES = ["bert", "gpt2", "llama", "qwen2"]


def _hook_count(model: nn.Module) -> int:
    forward = sum(len(m._forward_hooks) for m in model.modules())
    tensor = sum(len(p._backward_hooks or {}) for p in model.parameters())
    return forward + tensor


def _run(model: nn.Module, ids: torch.Tensor, causal: bool) -> torch.Tensor:
    loss = zero_cost_loss(logits_of(model(ids)), ids, causal)
    loss.backward()
    return loss


@pytest.mark.parametrize(
    ("family", "recipe"), [("bert", "bert"), ("gpt2", "gpt2"), ("llama", "llama"), ("qwen2", "llama")]
)
def test_detects_recipe_of_each_family(family: str, recipe: str) -> None:
    assert detect_recipe(hf_model(family)).name == recipe
    assert detect_recipe(native()).name == "native"


def test_unknown_model_is_one_clear_error() -> None:
    with pytest.raises(
        RecipeError,
        match=r"^no recipe for model 'Linear' and no nn.ModuleList of layers; known: bert, gpt2, llama, native$",
    ):
        detect_recipe(nn.Linear(2, 2))


@pytest.mark.parametrize("family", FAMILIES)
def test_hf_capture_matches_reference_and_grads_are_complete(family: str) -> None:
    model = hf_model(family)
    ids = torch.randint(0, 100, (2, 7), generator=torch.Generator().manual_seed(0))
    causal = family != "bert"
    with HookManager(model, kinds=LAYER_KINDS) as record:
        _run(model, ids, causal)
    record.check()
    assert _hook_count(model) == 0
    assert record.n_layers == 2
    reference = model(ids, output_attentions=True).attentions  # independent path: HF's own outputs
    for slot in range(2):
        (probs,) = record.get("softmax", slot)
        torch.testing.assert_close(probs, reference[slot])
        torch.testing.assert_close(probs.sum(-1), torch.ones(2, 4, 7))
        q, k, v = record.get("head", slot)
        assert q.shape == (2, 7, 32) and k.shape == v.shape == (
            (2, 7, 16) if family in ("llama", "qwen2") else (2, 7, 32)
        )
        (act,) = record.get("act", slot)
        assert act.shape[:2] == (2, 7) and record.get("act_grad", slot)[0].shape == act.shape
        spec = record.specs[slot]
        grads = record.get("grad", slot)
        assert len(grads) == len(spec.weights) >= 4
        for (_, p), g in zip(spec.weights, grads, strict=True):
            assert torch.equal(g, p.grad) and g.abs().sum() > 0


def test_native_capture_values_by_hand(ids: torch.Tensor) -> None:
    model = native()
    with HookManager(model, kinds={"act", "head", "softmax", "jacobian"}) as record:
        _run(model, ids, causal=True)
    block = model.layers[0]
    x = (model.tok_emb(ids) + model.pos_emb(torch.arange(SEQ))).detach()
    q = block.q_proj(x)
    torch.testing.assert_close(record.get("head", 0)[0], q.detach())
    scores = q.view(3, SEQ, HEADS, -1).transpose(1, 2) @ block.k_proj(x).view(3, SEQ, HEADS, -1).permute(0, 2, 3, 1)
    probs = torch.softmax((scores / 2).masked_fill(~torch.ones(SEQ, SEQ, dtype=torch.bool).tril(), float("-inf")), -1)
    torch.testing.assert_close(record.get("softmax", 0)[0], probs.detach())
    assert record.get("act", 1)[0].shape == (3, SEQ, FFN)
    emb = model.tok_emb(ids)
    emb.retain_grad()
    model.zero_grad()
    logits = model.head(model.layers[1](model.layers[0](emb + model.pos_emb(torch.arange(SEQ)))))
    zero_cost_loss(logits, ids, causal=True).backward()
    torch.testing.assert_close(record.jacobian, emb.grad)


def test_only_requested_kinds_and_layers_are_hooked(ids: torch.Tensor) -> None:
    model = native()
    with HookManager(model, kinds={"softmax"}, layers=[1]) as record:
        assert _hook_count(model) == 1
        model(ids)
    assert set(record.tensors) == {"softmax"} and record.n_layers == 1 and record.specs[0].index == 1
    assert record.get("softmax", 0)[0].shape == (3, HEADS, SEQ, SEQ)
    with pytest.raises(CaptureError, match=r"^kind 'act' was not captured; captured: softmax$"):
        record.get("act", 0)
    assert _hook_count(model) == 0


def test_hooks_removed_when_body_raises(ids: torch.Tensor) -> None:
    model = hf_model("gpt2")
    with pytest.raises(RuntimeError, match="boom"), HookManager(model, kinds=LAYER_KINDS):
        assert _hook_count(model) > 0
        model(ids)
        raise RuntimeError("boom")
    assert _hook_count(model) == 0
    assert all(not m._forward_hooks for m in model.modules())


def test_captured_tensors_are_bounded_and_detached(ids: torch.Tensor) -> None:
    model = native()
    with HookManager(model, kinds={"act", "act_grad"}, max_numel=SEQ * FFN) as record:
        _run(model, ids, causal=True)
    act = record.get("act", 0)[0]
    assert act.shape == (1, SEQ, FFN) and not act.requires_grad
    assert record.get("act_grad", 0)[0].shape == (1, SEQ, FFN)


def test_bad_requests_are_clear_errors() -> None:
    with pytest.raises(CaptureError, match=r"^unknown kinds \['acts'\]; known: act, act_grad, head"):
        HookManager(native(), kinds={"acts"})
    with pytest.raises(CaptureError, match=r"^layer indices \[5\] out of range for a model with 2 layers$"):
        HookManager(native(), layers=[5])


def test_missing_backward_is_detected(ids: torch.Tensor) -> None:
    model = native()
    with HookManager(model, kinds={"grad"}) as record:
        model(ids)
    with pytest.raises(CaptureError, match=r"^no gradient reached layer 0 \(was backward called\?\)$"):
        record.check()
    assert LAYERS == 2
