"""RuleSet loading/validation and the semantics of each rule kind."""

from __future__ import annotations

import numpy as np
import pytest

from lpzero_sr.rules.ruleset import RULE_KINDS, Node, RuleError, RuleSet


def ruleset(**rules: dict) -> RuleSet:
    base = {"max": {"kind": "max_size", "limit": 9}}
    return RuleSet.from_dict(
        {
            "name": "t",
            "operators": {"unary": ["log", "exp", "neg"], "binary": ["add", "mul"]},
            "rules": {**base, **rules},
        }
    )


def test_default_rule_set_loads() -> None:
    rules = RuleSet.load("default")
    assert rules.name == "default"
    assert rules.maxsize == 15 and rules.maxdepth == 6
    assert "log" in rules.unary and rules.binary == ("add", "sub", "mul") and "inv" not in rules.unary
    assert rules.nesting_limits()["log"]["log"] == 0
    assert rules.early_rejection is not None and rules.early_rejection.params["subsample"] == 24
    assert set(RULE_KINDS.names()) >= {"max_size", "max_depth", "nesting", "arg_size", "finite", "non_constant"}
    minmax = RuleSet.load("minmax")  # the default with max and min of two formulas, and nothing else changed
    assert minmax.binary == ("add", "sub", "mul", "max", "min")
    assert (minmax.unary, minmax.maxsize, minmax.maxdepth) == (rules.unary, rules.maxsize, rules.maxdepth)
    assert minmax.nesting_limits() == rules.nesting_limits()


def test_load_from_path_and_errors(tmp_path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[operators]\nbinary = ["add"]\n[rules.s]\nkind = "max_size"\nlimit = 3\n')
    assert RuleSet.load(path).name == "mine"
    with pytest.raises(
        RuleError, match=r"^unknown rule set 'nope'; use one of default, minmax, no_pruning or a path to a \.toml file$"
    ):
        RuleSet.load("nope")
    with pytest.raises(RuleError, match=r"^rule set file not found: .*missing\.toml$"):
        RuleSet.load(tmp_path / "missing.toml")
    path.write_text("[operators\n")
    with pytest.raises(RuleError, match=r"^cannot parse rule set "):
        RuleSet.load(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"operators": {"unary": ["cos"]}}, r"^unknown operator 'cos'; known: abs, add, div"),
        ({"operators": {"unary": ["add"]}}, r"^operator 'add' takes 2 argument\(s\), listed with arity 1$"),
        ({"operators": {}}, r"^rule set allows no operators$"),
        ({"operators": {"binary": ["add"]}, "rules": {"r": {"kind": "magic"}}}, r"^rule 'r': unknown kind 'magic'"),
        ({"operators": {"binary": ["add"]}, "rules": {"r": {"kind": "max_size"}}}, r"^rule 'r': missing key 'limit'$"),
        (
            {"operators": {"binary": ["add"]}, "rules": {"r": {"kind": "max_size", "limit": "9"}}},
            r"^rule 'r': key 'limit' has the wrong type \(str\)$",
        ),
        (
            {"operators": {"binary": ["add"]}, "rules": {"r": {"kind": "finite", "x": 1}}},
            r"^rule 'r': unknown key\(s\) x",
        ),
        ({"operators": {"binary": ["add"]}}, r"^rule set needs a 'max_size' rule$"),
    ],
)
def test_validation_errors(data: dict, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        RuleSet.from_dict(data)


def test_node_size_depth_and_path_counts() -> None:
    tree = Node.from_tokens(("add", "log", 0, "mul", "log", 1, "log", 2))
    assert tree.size == 8
    assert tree.depth == 4  # add -> mul -> log -> x
    assert tree.max_path_count("log") == 1
    assert Node.from_tokens(("log", "exp", "log", 0)).max_path_count("log") == 2


def test_size_depth_nesting_and_arg_size_rules() -> None:
    rules = ruleset(
        depth={"kind": "max_depth", "limit": 3},
        nest={"kind": "nesting", "limits": {"log": {"log": 0}, "exp": {"exp": 1}}},
        args={"kind": "arg_size", "limits": {"exp": 2, "mul": [-1, 1]}},
    )
    assert rules.tree_violation(("add", 0, 1)) is None
    assert rules.tree_violation(("add", "add", 0, 1, "add", 2, "add", 3, 4)) == "depth"
    assert rules.tree_violation(("add", "add", "add", 0, 1, 2, "add", 3, "add", 4, 5)) == "max"
    assert rules.tree_violation(("log", "log", 0)) == "nest"
    assert rules.tree_violation(("exp", "exp", 0)) is None  # one exp below an exp is allowed
    assert rules.tree_violation(("neg", "log", 0)) is None
    assert rules.tree_violation(("exp", "add", 0, 1)) == "args"  # exp argument has 3 nodes
    assert rules.tree_violation(("mul", "neg", 0, 1)) is None  # left side unlimited
    assert rules.tree_violation(("mul", 0, "neg", 1)) == "args"


def test_value_rules() -> None:
    rules = ruleset(fin={"kind": "finite"}, const={"kind": "non_constant"})
    assert rules.values_violation(np.array([1.0, 2.0])) is None
    assert rules.values_violation(np.array([1.0, np.nan])) == "fin"
    assert rules.values_violation(np.array([3.0, 3.0, 3.0])) == "const"
    assert rules.rule_names() == ["max", "fin", "const"]


def test_max_variables_counts_distinct_terminals() -> None:
    from lpzero_sr.rules.ruleset import RuleSet

    rules = RuleSet.from_dict(
        {"operators": {"binary": ["add", "mul"]}, "rules": {"s": {"kind": "max_size", "limit": 20},
                                                             "v": {"kind": "max_variables", "limit": 2}}}
    )  # fmt: skip
    assert rules.tree_violation(("add", 0, "mul", 1, 0)) is None  # two distinct variables, one of them twice
    assert rules.tree_violation(("add", 0, "mul", 1, 2)) == "v"
