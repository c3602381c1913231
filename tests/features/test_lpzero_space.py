"""LPZero's program space: its 21 unary operators by hand, its item lists per model family, its genotypes as
formulas of this project's grammar, and each deviation from LPZero's code named by a test."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import LAYERS, SEQ, VOCAB, hf_model, native
from hypothesis import given, settings
from hypothesis import strategies as st

from lpzero_sr.features.lpzero_space import (
    OPS,
    PUBLISHED,
    UNARY,
    UNARY_KEYS,
    VALUED,
    BranchError,
    Branches,
    Genotype,
    all_columns,
    capture,
    column_name,
    parse_column,
)
from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy
from lpzero_sr.ranking import aggregate
from lpzero_sr.spaces.flexibert import FlexiBertModel

X = [[-1.0, 0.0, 2.0], [0.5, 3.0, -2.0]]
FLAT = [v for row in X for v in row]
E = math.exp


def _std(v: list[float]) -> float:
    m = sum(v) / len(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))  # Bessel's correction, as torch.std


def _col_softmax(log: bool) -> list[float]:
    cols = list(zip(*X, strict=True))
    out = [
        [x - math.log(sum(E(c) for c in col)) if log else E(x) / sum(E(c) for c in col) for x in col] for col in cols
    ]
    return [out[j][i] for i in range(2) for j in range(3)]


HAND: dict[str, list[float]] = {  # element by element, in float64 from the definitions in LPZero's unary_ops.py
    "log": [math.log((x if x > 0 else 1.0) + 1e-9) for x in FLAT],
    "abslog": [math.log(abs(x if x != 0 else 1.0)) for x in FLAT],
    "abs": [abs(x) for x in FLAT],
    "pow": [x * x for x in FLAT],
    "exp": [E(x) for x in FLAT],
    "normalize": [(x - sum(FLAT) / 6) / _std(FLAT) for x in FLAT],
    "relu": [max(x, 0.0) for x in FLAT],
    "invert": [1 / (x + 1e-9) for x in FLAT],
    "frobenius_norm": [math.sqrt(sum(x * x for x in FLAT))],
    "normalized_sum": [sum(FLAT) / (6 + 1e-9)],
    "l1_norm": [sum(abs(x) for x in FLAT) / (6 + 1e-9)],
    "softmax": _col_softmax(log=False),
    "sigmoid": [1 / (1 + E(-x)) for x in FLAT],
    "logsoftmax": _col_softmax(log=True),
    "sqrt": [math.sqrt(max(x, 0.0)) for x in FLAT],
    "revert": [-x for x in FLAT],
    "min_max_normalize": [(x + 2) / (5 + 1e-9) for x in FLAT],
    "mean": [sum(FLAT) / 6],
    "std": [_std(FLAT)],
    "no_op": FLAT,
}


def test_unary_keys_are_lpzeros_21_in_its_order() -> None:
    assert len(UNARY_KEYS) == len(UNARY) == 21
    assert UNARY_KEYS[3] == "element_wise_pow" and UNARY_KEYS[10] == "l1_norm" and UNARY_KEYS[11] == "softmax"
    assert UNARY[15] == "revert" and UNARY[8] == "frobenius_norm" and UNARY[13] == "logsoftmax"
    assert UNARY[17:] == ("mean", "std", "no_op", "disconnect")
    assert set(VALUED) == set(HAND) and len(all_columns(twice=False)) == 5 * 20 * 20


@pytest.mark.parametrize("name", sorted(HAND))
def test_each_unary_operator_equals_its_hand_computation(name: str) -> None:
    a = torch.tensor(X, dtype=torch.float32)
    out = OPS.get(name)(a)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.reshape(-1).numpy(), HAND[name], rtol=2e-6, atol=1e-7)
    assert torch.equal(a, torch.tensor(X)), "LPZero's log/abslog overwrite their input; ours are pure (see below)"


def test_zero_dimensional_inputs_as_lpzero_meets_them() -> None:
    """A reduction (frobenius_norm, mean, ...) leaves a 0-d tensor for the second operator: softmax of it is 1,
    log_softmax 0 (so FlexiBERT's act branch is 0), std NaN (one element, Bessel's correction), normalize 0 (its
    NaN set to 0), min_max_normalize 0 (the 1e-9 in its denominator)."""
    s = torch.tensor(2.5)
    assert OPS.get("softmax")(s).item() == 1.0 and OPS.get("logsoftmax")(s).item() == 0.0
    with pytest.warns(UserWarning):
        assert math.isnan(OPS.get("std")(s).item())
    with pytest.warns(UserWarning):
        assert OPS.get("normalize")(s).item() == 0.0
    assert OPS.get("min_max_normalize")(s).item() == 0.0
    assert OPS.get("invert")(torch.tensor(0.0)).item() == pytest.approx(1e9)
    assert OPS.get("log")(torch.tensor(-3.0)).item() == 0.0  # log(1 + 1e-9) in float32
    assert OPS.get("abslog")(torch.tensor(0.0)).item() == 0.0


def test_disconnect_and_matrix_multiplication_have_no_value() -> None:
    """LPZero's ``unary_operation`` has no entry for ``disconnect`` and ``@`` of two floats fails: its try/except
    returns -1 and the search rejects the program. Here: no column, an invalid genotype, NaN."""
    with pytest.raises(BranchError, match="'disconnect' .* has no value"):
        parse_column("lpz.weight.disconnect.pow")
    g = Genotype(("weight", "grad"), (("pow", "disconnect"), ("softmax", "pow")), "sum")
    m = Genotype(("weight", "grad"), (("pow", "l1_norm"), ("softmax", "pow")), "matrix_multiplication")
    branches = Branches({"weight": [torch.ones(2, 2)], "grad": [torch.ones(2, 2)]})
    for bad in (g, m):
        assert not bad.valid and math.isnan(bad.value(branches))
        with pytest.raises(BranchError, match="cannot evaluate"):
            bad.formula()


def test_genotypes_print_and_parse_as_lpzero_does() -> None:
    gpt2 = Genotype.from_lpzero(["weight", "grad"], [[3, 10], [11, 3], 0])
    assert gpt2 == PUBLISHED["lpzero-gpt2"]
    tree = "TREE:(element_wise_pow|l1_norm|softmax|element_wise_pow)"
    assert str(gpt2) == f"INPUT:(weight, grad){tree}BINARY:(element_wise_sum)"
    flexibert = Genotype.from_lpzero(["head", "act"], [[15, 3], [8, 13], 0])
    assert flexibert == PUBLISHED["lpzero-flexibert"]
    with pytest.raises(BranchError, match="unknown LPZero input"):
        Genotype(("jacobs", "act"), (("pow", "pow"), ("pow", "pow")), "sum")


def test_first_input_reads_its_list_twice_when_the_second_runs_a_forward_pass() -> None:
    """LPZero's forward hooks stay registered: the first input's act/head/softmax list grows by the second
    input's forward pass (act, head, softmax, or grad's forward and backward); weight runs none."""
    ops = (("pow", "mean"), ("pow", "mean"))
    assert Genotype(("head", "act"), ops, "sum").columns() == ("lpz.head_x2.pow.mean", "lpz.act.pow.mean")
    assert Genotype(("act", "act"), ops, "sum").columns() == ("lpz.act_x2.pow.mean", "lpz.act.pow.mean")
    assert Genotype(("softmax", "grad"), ops, "sum").columns()[0] == "lpz.softmax_x2.pow.mean"
    assert Genotype(("head", "weight"), ops, "sum").columns()[0] == "lpz.head.pow.mean"
    assert Genotype(("weight", "act"), ops, "sum").columns()[0] == "lpz.weight.pow.mean"
    # not modelled: LPZero's second backward pass doubles the gradients a (grad, grad) program reads
    assert Genotype(("grad", "grad"), ops, "sum").columns() == ("lpz.grad.pow.mean", "lpz.grad.pow.mean")


def test_branches_are_pure_where_lpzero_overwrites_its_input() -> None:
    """LPZero's element_wise_log sets x <= 0 to 1 in place, so in a (weight, weight) program whose first branch
    starts with log, the second branch reads the overwritten matrices. Here both read the original."""
    w = torch.tensor([[-1.0, 2.0], [0.5, -0.25]])
    branches = Branches({"weight": [w]})
    g = Genotype(("weight", "weight"), (("log", "mean"), ("no_op", "mean")), "sum")
    expected = np.mean([math.log(x + 1e-9) if x > 0 else 1e-9 for x in (-1, 2, 0.5, -0.25)]) + w.mean().item()
    assert g.value(branches) == pytest.approx(expected, rel=1e-6)
    assert torch.equal(w, torch.tensor([[-1.0, 2.0], [0.5, -0.25]]))


def test_a_branch_not_finite_on_one_item_is_nan_on_every_item() -> None:
    """LPZero rejects a program with a non-finite item only within the zipped length; here the branch is NaN for
    the whole architecture, so every formula reading it is NaN there."""
    branches = Branches({"act": [torch.tensor([1.0, 2.0]), torch.tensor([50.0, 1.0])]})
    assert np.isnan(branches.values("act", "exp", "exp")).all()  # exp(exp(50)) overflows float32 on item 2 only
    np.testing.assert_allclose(branches.values("act", "exp", "mean"), [(E(1) + E(2)) / 2, (E(50) + E(1)) / 2], 1e-6)


def test_branches_are_lazy_memoized_and_share_equal_lists() -> None:
    t = [torch.randn(3, 4, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    branches = Branches({"act": t, "head": [x.clone() for x in t], "weight": t[:2]})
    assert branches._memo == {}
    values = branches.values("head", "abs", "std")
    assert branches._alias == {"head": "act"}  # equal lists (GPT-2's act and head) are computed once
    assert set(branches._memo) == {("act", "abs", "std"), ("head", "abs", "std")}
    np.testing.assert_allclose(values, [float(torch.std(torch.abs(x))) for x in t], rtol=1e-6)
    assert branches.values("act", "abs", "std") is values
    twice = branches.values("act_x2", "pow", "mean")
    np.testing.assert_allclose(twice, np.tile([float((x**2).mean()) for x in t], 2), rtol=1e-6)


def _nan_padded(values: list[float], rows: int) -> np.ndarray:
    out = np.full(rows, np.nan)
    out[: len(values)] = values
    return out


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(st.floats(-1e3, 1e3), min_size=0, max_size=6),
    b=st.lists(st.floats(-1e3, 1e3), min_size=0, max_size=6),
    op=st.sampled_from(["add", "sub", "mul"]),
)
def test_nanmean_of_a_genotype_formula_is_lpzeros_zip(a: list[float], b: list[float], op: str) -> None:
    """On NaN-padded per-item columns, nanmean of add/sub/mul is the mean over the zipped items (NaN when one list
    is empty: LPZero's -1, which its search rejects)."""
    rows = max(len(a), len(b), 1)
    f = {"add": np.add, "sub": np.subtract, "mul": np.multiply}[op]
    values = f(_nan_padded(a, rows), _nan_padded(b, rows))
    got = aggregate(values, np.zeros(rows, dtype=int), 1, "nanmean")[0]
    n = min(len(a), len(b))
    if n == 0:
        assert math.isnan(got)
    else:
        assert got == pytest.approx(float(np.mean(f(np.array(a[:n]), np.array(b[:n])))), rel=1e-12, abs=1e-12)


def test_aggregate_nanmean_by_hand() -> None:
    values = np.array([1.0, np.nan, 3.0, np.nan, np.nan, 2.0, np.inf])
    groups = np.array([0, 0, 0, 1, 1, 2, 2])
    out = aggregate(values, groups, 3, "nanmean")
    assert out[0] == 2.0 and math.isnan(out[1]) and out[2] == np.inf


@pytest.mark.parametrize("k", [3, 5, 6, 7])
def test_nanmean_of_equal_values_is_that_value(k: int) -> None:
    """A plain sum over k rows divided by k drifts from a constant in the last bit by a k-dependent amount
    (0.1 * 3 / 3 != 0.1), which a search ranks (and LPZero's sum/len does); nanmean is exact for equal values, in
    numpy and torch alike. Deviation from LPZero: a program equal on every item has exactly that value here."""
    values = np.array([0.1] * k + [np.nan])
    assert sum([0.1] * 3) / 3 != 0.1
    assert aggregate(values, np.zeros(k + 1, dtype=int), 1, "nanmean")[0] == 0.1
    assert float(Proxy(Node(var="x"), aggregation="nanmean").to_torch()({"x": torch.tensor(values)})) == 0.1


def test_a_genotype_is_a_formula_that_round_trips(tmp_path: object) -> None:
    g = PUBLISHED["lpzero-flexibert"]
    proxy = Proxy(g.formula(), aggregation="nanmean")
    assert proxy.text() == "lpz.head_x2.revert.pow + lpz.act.frobenius_norm.logsoftmax"
    assert r"\mathrm{lpz.head\_x2.revert.pow}" in proxy.latex()
    loaded = Proxy.load(proxy.save(tmp_path / "p.json"))  # type: ignore[operator]
    assert loaded.formula == proxy.formula and loaded.aggregation == "nanmean"
    head = np.array([0.5, 0.25, 0.5, 0.25, np.nan])  # 2 items read twice, one row past the longest list
    act = np.array([0.0, 0.0, 0.0, np.nan, np.nan])  # 3 FFN activations
    stats = {"lpz.head_x2.revert.pow": head, "lpz.act.frobenius_norm.logsoftmax": act}
    by_numpy = aggregate(proxy.row_values(stats), np.zeros(5, dtype=int), 1, "nanmean")[0]
    by_torch = float(loaded.to_torch()({k: torch.tensor(v) for k, v in stats.items()}))
    assert by_numpy == by_torch == pytest.approx((0.5 + 0.25 + 0.5) / 3)
    namespace: dict[str, object] = {}
    exec(compile(loaded.torch_source(), "<proxy>", "exec"), namespace)  # noqa: S102 - our own generated source
    assert float(namespace["proxy"]({k: torch.tensor(v) for k, v in stats.items()})) == pytest.approx(by_numpy)
    assert str(loaded.expr) == "lpz.act.frobenius_norm.logsoftmax + lpz.head_x2.revert.pow"


def test_item_lists_of_a_native_decoder_follow_lpzeros_gpt2() -> None:
    """Per block GPT-2's four Conv1D projections: q|k|v fused (its c_attn), attention output, FFN in, FFN out;
    their outputs are both act and head, their matrices read in Conv1D's (in, out) layout; softmax is empty."""
    model = native()
    ids = torch.randint(0, VOCAB, (2, SEQ), generator=torch.Generator().manual_seed(0))
    lists = capture(model, ids)
    assert {k: len(v) for k, v in lists.items()} == {"act": 4 * LAYERS, "head": 4 * LAYERS, "softmax": 0,
                                                     "grad": 4 * LAYERS, "weight": 4 * LAYERS}  # fmt: skip
    block = model.layers[0]
    fused = torch.cat([block.q_proj.weight.T, block.k_proj.weight.T, block.v_proj.weight.T], dim=1)
    assert torch.equal(lists["weight"][0], fused) and torch.equal(lists["weight"][1], block.o_proj.weight.T)
    assert lists["act"][0].shape == (2, SEQ, 24) and lists["act"][2].shape == (2, SEQ, 16)
    assert all(torch.equal(a, h) for a, h in zip(lists["act"], lists["head"], strict=True))
    assert sum(len(m._forward_hooks) for m in model.modules()) == 0


def test_item_lists_of_hf_gpt2_are_its_conv1d_modules() -> None:
    model = hf_model("gpt2")
    ids = torch.randint(0, 100, (2, 8), generator=torch.Generator().manual_seed(0))
    lists = capture(model, ids, ["weight", "act"])
    block = model.transformer.h[0]
    mats = [block.attn.c_attn.weight, block.attn.c_proj.weight, block.mlp.c_fc.weight, block.mlp.c_proj.weight]
    assert len(lists["weight"]) == 8 and all(torch.equal(a, b) for a, b in zip(lists["weight"][:4], mats, strict=True))
    assert lists["act"][0].shape == (2, 8, 96)


def test_item_lists_of_flexibert_follow_lpzeros_electra() -> None:
    """head: the query projection's output (LT: the input projection); softmax: one per layer; act: every FFN
    activation (num_feed_forward per layer); weight: the mixer's linear matrices; grad: empty (LPZero reads .grad
    before its backward pass)."""
    layers = [
        {"operation_type": "SA", "operation_parameter": "WMA", "num_operation_heads": 2,
         "feed_forward_dimension": 64, "num_feed_forward": 3},
        {"operation_type": "LT", "operation_parameter": "DCT", "num_operation_heads": 2,
         "feed_forward_dimension": 64, "num_feed_forward": 1},
        {"operation_type": "DSC", "operation_parameter": 5, "num_operation_heads": 4,
         "feed_forward_dimension": 64, "num_feed_forward": 1},
    ]  # fmt: skip
    torch.manual_seed(0)
    model = FlexiBertModel(32, layers)
    ids = torch.randint(0, 1000, (2, 6), generator=torch.Generator().manual_seed(0))
    lists = capture(model, ids)
    assert {k: len(v) for k, v in lists.items()} == {"act": 5, "head": 3, "softmax": 3, "grad": 0, "weight": 10}
    mixer = model.layers[0].mixer
    assert torch.equal(lists["weight"][3], mixer.wma.weight) and lists["head"][2].shape == (2, 6, 16)
    assert lists["act"][0].shape == lists["act"][2].shape == (2, 6, 64) and (lists["act"][0] >= -0.2).all()
    g = PUBLISHED["lpzero-flexibert"]
    heads = [float((h**2).mean()) for h in lists["head"]]
    assert g.value(Branches(lists)) == pytest.approx(np.mean((heads + heads)[:5]), rel=1e-6)


def test_column_names_parse_back() -> None:
    for name in ("lpz.act_x2.normalize.std", column_name("grad", "abslog", "no_op")):
        assert column_name(*parse_column(name)) == name
    with pytest.raises(BranchError, match="unknown LPZero input 'weight_x2'"):
        parse_column("lpz.weight_x2.pow.mean")
    with pytest.raises(BranchError, match="not an LPZero branch column"):
        parse_column("grad.sqr.mean")
