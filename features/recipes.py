"""Recipes: where a model family keeps its layers, FFN activation, Q/K/V projections and attention probabilities.

A :class:`Recipe` turns a model into a list of :class:`LayerSpec` (one per transformer block). The hook manager only
reads specs, so supporting a new family is one registered recipe. Hugging Face attention modules (BERT, ELECTRA,
RoBERTa, GPT-2, Llama, Qwen2, Mistral in transformers 5.x) return ``(attn_output, attn_weights)`` and, with eager
attention, ``attn_weights`` are the softmax probabilities: a forward hook on the attention module reads output[1].
Plain-torch builders follow the "native" convention: blocks in an ``nn.ModuleList`` named ``layers``,
``q_proj``/``k_proj``/``v_proj`` linears, a ``Probe`` named ``attn_probs`` and an FFN activation module ``ffn_act``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from lpzero_sr.errors import LpzeroError
from lpzero_sr.registry import Registry


class RecipeError(LpzeroError):
    """A model that no recipe understands, or that lacks a module its recipe expects."""


@dataclass(frozen=True)
class Tap:
    """A module whose forward output (or first input) joins one of LPZero's tensor lists (``act``, ``head`` or
    ``softmax``), once per call. ``index`` picks ``output[index]`` of a module returning a tuple; consecutive calls of
    taps sharing a non-empty ``group`` form one tensor, concatenated along the last dimension (a fused projection)."""

    kind: str
    module: nn.Module
    port: str = "output"
    index: int | None = None
    group: str = ""


@dataclass(frozen=True)
class LpzeroItems:
    """What LPZero's program space reads from one block (:mod:`lpzero_sr.features.lpzero_space`).

    ``taps`` fill the ``act``, ``head`` and ``softmax`` lists in call order. ``params`` are the block's items of the
    ``weight`` and ``grad`` lists: each a tuple of positions in :attr:`LayerSpec.weights` concatenated along the
    output dimension, read in ``(out, in)`` layout, or in ``(in, out)`` (Conv1D's) when ``transpose``. ``grads``
    is False where LPZero's code reads gradients before its backward pass, so its ``grad`` list is empty."""

    taps: tuple[Tap, ...] = ()
    params: tuple[tuple[int, ...], ...] = ()
    transpose: bool = False
    grads: bool = True


@dataclass(frozen=True)
class LayerSpec:
    """Modules and weights of one transformer block.

    ``act``, ``qkv`` and ``softmax`` hold the modules whose outputs are the FFN activation, Q/K/V and the attention
    probabilities (empty when the block has none, e.g. a FlexiBERT linear-transform layer has no Q/K; several when
    a block mixes operations). With ``qkv_fused`` one module's output is split in three along the last dimension
    (GPT-2 ``c_attn``). ``softmax_index`` is ``None`` when the softmax
    module returns the probabilities, else the position of the probabilities in its output tuple.
    ``weights`` are the block's matrices (parameters with two or more dimensions), each tagged with a role:
    "attn" (Q/K/V/output projections) or "ffn" (feed-forward linears) or "other".
    """

    index: int
    block: nn.Module
    act: tuple[nn.Module, ...]
    qkv: tuple[nn.Module, ...]
    qkv_fused: bool
    softmax: tuple[nn.Module, ...]
    softmax_index: int | None
    weights: tuple[tuple[str, nn.Parameter], ...]
    roles: tuple[str, ...]
    items: LpzeroItems = field(default_factory=LpzeroItems)

    def weights_with_role(self, role: str) -> list[nn.Parameter]:
        return [p for (_, p), r in zip(self.weights, self.roles, strict=True) if r == role]


@dataclass(frozen=True)
class Recipe:
    """How to read one model family. ``blocks`` is the dotted-name suffix of the ModuleList of blocks;
    the other fields are dotted paths relative to a block, or name suffixes when ``by_suffix`` is set."""

    name: str
    matches: Callable[[nn.Module], bool]
    blocks: str
    act: str
    qkv: tuple[str, ...]
    softmax: str
    softmax_index: int | None
    attn_prefixes: tuple[str, ...]
    ffn_prefixes: tuple[str, ...]
    causal: Callable[[nn.Module], bool]
    by_suffix: bool = False

    def layers(self, model: nn.Module) -> list[LayerSpec]:
        blocks = _find_blocks(model, self.blocks)
        return [self._spec(i, block) for i, block in enumerate(blocks)]

    def _spec(self, index: int, block: nn.Module) -> LayerSpec:
        find = _find_suffix if self.by_suffix else _find_path
        qkv = tuple(m for name in self.qkv for m in find(block, name))
        weights = tuple((n, p) for n, p in block.named_parameters() if p.dim() >= 2)
        roles = tuple(_role(n, self.attn_prefixes, self.ffn_prefixes, self.by_suffix) for n, _ in weights)
        softmax = find(block, self.softmax) if self.softmax else ()
        return LayerSpec(
            index=index,
            block=block,
            act=find(block, self.act) if self.act else (),
            qkv=qkv,
            qkv_fused=len(self.qkv) == 1,
            softmax=softmax,
            softmax_index=self.softmax_index,
            weights=weights,
            roles=roles,
            items=lpzero_items(self.name, block, weights, softmax, self.softmax_index),
        )


def lpzero_items(
    family: str,
    block: nn.Module,
    weights: tuple[tuple[str, nn.Parameter], ...],
    softmax: tuple[nn.Module, ...],
    softmax_index: int | None,
) -> LpzeroItems:
    """LPZero's item lists for one block, by model family, as its code (pprp/LPZero ``zc_inputs.py``) reads them.

    * FlexiBERT encoders (a block with ``mixer`` and ``ffn``, LPZero's ELECTRA): ``head`` is the query projection's
      output (an LT layer's input projection), ``softmax`` the mixer's probabilities, ``act`` every FFN
      activation output (``num_feed_forward`` per layer), ``weight`` the mixer's ``nn.Linear`` matrices; ``grad``
      is empty (LPZero reads ``.grad`` before its backward pass).
    * GPT-2 (Hugging Face Conv1D, or a native decoder whose q/k/v projections stand for GPT-2's fused ``c_attn``):
      the block's projections in module order (``c_attn``, ``attn.c_proj``, ``mlp.c_fc``, ``mlp.c_proj``); their
      outputs are both ``act`` and ``head``, their matrices (Conv1D's ``(in, out)`` layout) ``weight`` and
      ``grad``; ``softmax`` is empty (LPZero's hook condition never holds on GPT-2).
    * Any other model (LPZero's LLaMA rule): every ``nn.Linear`` of the block, outputs as ``act`` and ``head``,
      matrices as ``weight`` and ``grad``; ``softmax`` the recipe's attention probabilities.
    """
    position = {name: i for i, (name, _) in enumerate(weights)}
    mixer, ffn = getattr(block, "mixer", None), getattr(block, "ffn", None)
    if isinstance(mixer, nn.Module) and isinstance(ffn, nn.Module):
        query = getattr(mixer, "q_proj", None) or getattr(mixer, "v_proj", None)
        probs = getattr(mixer, "attn_probs", None)
        taps = [Tap("head", query)] if isinstance(query, nn.Module) else []
        taps += [Tap("softmax", probs)] if isinstance(probs, nn.Module) else []
        taps += [Tap("act", m, port="input") for m in (*getattr(ffn, "stack", ()), getattr(ffn, "fc_out", None)) if m]
        linears = [f"mixer.{n}.weight" for n, m in mixer.named_modules() if isinstance(m, nn.Linear)]
        return LpzeroItems(tuple(taps), tuple((position[n],) for n in linears if n in position), grads=False)
    gpt2 = family in ("gpt2", "native")
    projections = [(n, m) for n, m in block.named_modules() if isinstance(m, nn.Linear) or type(m).__name__ == "Conv1D"]
    taps, params, fused = [], [], []
    for name, module in projections:
        short = name.rsplit(".", 1)[-1]
        group = "qkv" if gpt2 and short in ("q_proj", "k_proj", "v_proj") else ""
        taps += [Tap(kind, module, group=group) for kind in ("act", "head")]
        pos = position.get(f"{name}.weight")
        if pos is None:
            continue
        if group:
            fused.append(pos)
            if len(fused) == 3:
                params.append(tuple(fused))
        else:
            params.append((pos,))
    if not gpt2:
        taps += [Tap("softmax", m, index=softmax_index) for m in softmax]
    transpose = family == "native"  # nn.Linear (out, in) read as GPT-2's Conv1D (in, out)
    return LpzeroItems(tuple(taps), tuple(params), transpose=transpose)


def _role(param_name: str, attn: tuple[str, ...], ffn: tuple[str, ...], by_suffix: bool) -> str:
    module = param_name.rsplit(".", 1)[0]
    if by_suffix:
        return "attn" if module.rsplit(".", 1)[-1] in attn else "ffn"
    if any(module == p or module.startswith(p + ".") for p in attn):
        return "attn"
    if any(module == p or module.startswith(p + ".") for p in ffn):
        return "ffn"
    return "other"


def _find_path(block: nn.Module, path: str) -> tuple[nn.Module, ...]:
    try:
        return (block.get_submodule(path),)
    except AttributeError:
        return ()


def _find_suffix(block: nn.Module, suffix: str) -> tuple[nn.Module, ...]:
    return tuple(m for name, m in block.named_modules() if name == suffix or name.endswith("." + suffix))


def _find_blocks(model: nn.Module, suffix: str) -> nn.ModuleList:
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and (name == suffix or name.endswith("." + suffix)):
            return module
    raise RecipeError(f"{type(model).__name__} has no nn.ModuleList named {suffix!r}")


def _model_type(model: nn.Module) -> str | None:
    config = getattr(model, "config", None)
    return getattr(config, "model_type", None)


RECIPES: Registry[Recipe] = Registry("recipe")


def register_recipe(recipe: Recipe) -> Recipe:
    """Adds ``recipe`` to :data:`RECIPES` (detection tries recipes in registration order)."""
    RECIPES.register(recipe.name)(recipe)
    _ORDER.append(recipe.name)
    return recipe


_ORDER: list[str] = []
ENCODER_TYPES = ("bert", "electra", "roberta")
EMBEDDING_NAMES = ("wte", "word_embeddings", "embed_tokens", "tok_emb")
LLAMA_TYPES = ("llama", "qwen2", "mistral")

register_recipe(
    Recipe(
        name="bert",
        matches=lambda m: _model_type(m) in ENCODER_TYPES,
        blocks="encoder.layer",
        act="intermediate.intermediate_act_fn",
        qkv=("attention.self.query", "attention.self.key", "attention.self.value"),
        softmax="attention.self",
        softmax_index=1,
        attn_prefixes=("attention",),
        ffn_prefixes=("intermediate", "output"),
        causal=lambda m: False,
    )
)
register_recipe(
    Recipe(
        name="gpt2",
        matches=lambda m: _model_type(m) == "gpt2",
        blocks="h",
        act="mlp.act",
        qkv=("attn.c_attn",),
        softmax="attn",
        softmax_index=1,
        attn_prefixes=("attn",),
        ffn_prefixes=("mlp",),
        causal=lambda m: True,
    )
)
register_recipe(
    Recipe(
        name="llama",
        matches=lambda m: _model_type(m) in LLAMA_TYPES,
        blocks="layers",
        act="mlp.act_fn",
        qkv=("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),
        softmax="self_attn",
        softmax_index=1,
        attn_prefixes=("self_attn",),
        ffn_prefixes=("mlp",),
        causal=lambda m: True,
    )
)
register_recipe(
    Recipe(
        name="native",
        matches=lambda m: _model_type(m) is None and any(n.endswith("attn_probs") for n, _ in m.named_modules()),
        blocks="layers",
        act="ffn_act",
        qkv=("q_proj", "k_proj", "v_proj"),
        softmax="attn_probs",
        softmax_index=None,
        attn_prefixes=("q_proj", "k_proj", "v_proj", "o_proj", "out_proj"),
        ffn_prefixes=(),
        causal=lambda m: bool(getattr(m, "causal", False)),
        by_suffix=True,
    )
)


RECIPE_KINDS = frozenset({"act", "head", "softmax"})  # captured kinds that need a recipe's module names


def detect_recipe(model: nn.Module) -> Recipe:
    """The first registered recipe whose ``matches`` accepts ``model``, else :func:`generic_recipe`."""
    for name in _ORDER:
        recipe = RECIPES.get(name)
        if recipe.matches(model):
            return recipe
    return generic_recipe(model)


def generic_recipe(model: nn.Module) -> Recipe:
    """For a model no recipe knows: its layers are the blocks of its largest ``nn.ModuleList`` (by parameters),
    with weights and gradients but no FFN activation, Q/K/V or attention probabilities. Statistics and proxies of
    the kinds in :data:`RECIPE_KINDS` need a registered recipe (:func:`register_recipe`); ``causal`` is the model's
    ``causal`` attribute (a decoder unless it says otherwise)."""
    lists = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.ModuleList) and len(m) > 0]
    if not lists:
        kind = _model_type(model) or type(model).__name__
        raise RecipeError(f"no recipe for model {kind!r} and no nn.ModuleList of layers; known: {', '.join(_ORDER)}")
    name = max(lists, key=lambda item: sum(p.numel() for p in item[1].parameters()))[0]
    return Recipe(
        name="generic",
        matches=lambda m: False,
        blocks=name,
        act="",
        qkv=(),
        softmax="",
        softmax_index=None,
        attn_prefixes=(),
        ffn_prefixes=(),
        causal=lambda m: bool(getattr(m, "causal", True)),
    )


def resolve_recipe(model: nn.Module, recipe: Recipe | str | None) -> Recipe:
    """``recipe`` itself, the registered recipe of that name, or the detected one when ``None``."""
    if recipe is None:
        return detect_recipe(model)
    if isinstance(recipe, str):
        try:
            return RECIPES.get(recipe)
        except KeyError as exc:
            raise RecipeError(exc.args[0]) from None
    return recipe


def force_eager_attention(model: nn.Module) -> None:
    """Switches a Hugging Face model to eager attention so attention modules return probabilities."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "_attn_implementation", "eager") == "eager":
        return
    setter = getattr(model, "set_attn_implementation", None)
    if setter is not None:
        setter("eager")
    else:
        config._attn_implementation = "eager"


def input_embedding(model: nn.Module) -> nn.Module:
    """The token-embedding module: ``get_input_embeddings()`` on HF models, else a child named like a token
    embedding (``wte``, ``word_embeddings``, ``embed_tokens``, ``tok_emb``), else the first ``nn.Embedding``."""
    getter = getattr(model, "get_input_embeddings", None)
    if getter is not None:
        module = getter()
        if module is not None:
            return module
    for name in EMBEDDING_NAMES:
        module = getattr(model, name, None)
        if isinstance(module, nn.Module):
            return module
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            return module
    raise RecipeError(f"{type(model).__name__} has no nn.Embedding")
