"""A model no recipe knows: weight/gradient statistics and recipe-free proxies work, the others say why not."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lpzero_sr.features.extract import ExtractError, extract_model
from lpzero_sr.features.recipes import RecipeError, detect_recipe
from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy
from lpzero_sr.scorer import Scorer


class TinyLM(nn.Module):
    """A user's own decoder: embedding, a ModuleList of MLP blocks under an unusual name, a head."""

    def __init__(self, vocab: int = 32, width: int = 8, depth: int = 3) -> None:
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, width)
        self.stages = nn.ModuleList(nn.Sequential(nn.Linear(width, width), nn.GELU()) for _ in range(depth))
        self.head = nn.Linear(width, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.tok_emb(ids)
        for stage in self.stages:
            x = x + stage(x)
        return self.head(x)


def test_generic_recipe_takes_the_largest_module_list() -> None:
    recipe = detect_recipe(TinyLM())
    assert recipe.name == "generic" and recipe.blocks == "stages"
    specs = recipe.layers(TinyLM())
    assert len(specs) == 3 and all(s.act == () and s.qkv == () and s.softmax == () for s in specs)
    with pytest.raises(RecipeError, match=r"^no recipe for model 'Linear' and no nn.ModuleList of layers"):
        detect_recipe(nn.Linear(2, 2))


def test_weight_and_gradient_statistics_by_hand() -> None:
    torch.manual_seed(0)
    model = TinyLM()
    batch = torch.randint(0, 32, (2, 6))
    result = extract_model(model, batch, stats=["weight.abs.mean"], proxies=["params"], device="cpu")
    per_layer = [float(model.stages[i][0].weight.detach().abs().mean()) for i in range(3)]
    assert result.per_layer["weight.abs.mean"].tolist() == pytest.approx(per_layer, rel=1e-6)
    assert result.per_arch["params"] == sum(p.numel() for p in model.parameters())
    scorer = Scorer(Proxy(Node.from_tokens(("mul", 0, 1), ["grad.abs.mean", "weight.abs.mean"])), device="cpu")
    assert torch.isfinite(torch.tensor(scorer(model, batch)))


def test_statistics_that_need_a_recipe_are_named() -> None:
    batch = torch.randint(0, 32, (2, 6))
    with pytest.raises(ExtractError, match=r"^TinyLM has no hook recipe, so act.abs.mean, nwot cannot be computed"):
        extract_model(TinyLM(), batch, stats=["act.abs.mean", "weight.abs.mean"], proxies=["nwot"], device="cpu")
