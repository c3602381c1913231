"""RuleSet: the rule-based pruning strategy (RPS) of a search, loaded from a declarative TOML file.

A rule set names the allowed operators (and small constants) and a table of rules; each rule has a kind from
:data:`RULE_KINDS` and one of three stages:

* ``structure``: decided on the formula tree alone, before any evaluation (size, depth, nesting, argument size);
* ``values``: decided on the formula's values over the training rows (finite, non-constant);
* ``sample``: decided on a small subsample of architectures before the full fitness (early rejection).

Engines count rejections per rule name, which is what an RPS ablation compares.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lpzero_sr.errors import LpzeroError
from lpzero_sr.formula import Node, Token
from lpzero_sr.operators import OPS
from lpzero_sr.registry import Registry


class RuleError(LpzeroError):
    """A rule set file that cannot be used as given."""


class Rule:
    """Base class; subclasses are registered in :data:`RULE_KINDS` and built from their TOML table."""

    stage: ClassVar[str]
    keys: ClassVar[dict[str, type | tuple[type, ...]]] = {}

    def __init__(self, name: str, **params: Any) -> None:
        self.name = name
        self.params = params

    @classmethod
    def from_config(cls, name: str, cfg: dict[str, Any]) -> Rule:
        unknown = sorted(set(cfg) - set(cls.keys) - {"kind"})
        if unknown:
            raise RuleError(f"rule {name!r}: unknown key(s) {', '.join(unknown)}; expected {', '.join(cls.keys)}")
        for key, typ in cls.keys.items():
            if key not in cfg:
                raise RuleError(f"rule {name!r}: missing key {key!r}")
            if not isinstance(cfg[key], typ) or isinstance(cfg[key], bool):
                raise RuleError(f"rule {name!r}: key {key!r} has the wrong type ({type(cfg[key]).__name__})")
        return cls(name, **{k: cfg[k] for k in cls.keys})

    def rejects_tree(self, tree: Node) -> bool:
        return False

    def rejects_values(self, values: np.ndarray) -> bool:
        return False


RULE_KINDS: Registry[type[Rule]] = Registry("rule kind")


@RULE_KINDS.register("max_size")
class MaxSize(Rule):
    """At most ``limit`` nodes (PySR ``maxsize``)."""

    stage = "structure"
    keys = {"limit": int}

    def rejects_tree(self, tree: Node) -> bool:
        return tree.size > self.params["limit"]


@RULE_KINDS.register("max_depth")
class MaxDepth(Rule):
    """At most ``limit`` nodes on a root-to-leaf path (PySR ``maxdepth``)."""

    stage = "structure"
    keys = {"limit": int}

    def rejects_tree(self, tree: Node) -> bool:
        return tree.depth > self.params["limit"]


@RULE_KINDS.register("max_variables")
class MaxVariables(Rule):
    """At most ``limit`` distinct terminals (statistics, or their quantiles): a proxy a person can check by hand
    reads a few statistics. A statistic read both raw and as its quantile counts twice."""

    stage = "structure"
    keys = {"limit": int}

    def rejects_tree(self, tree: Node) -> bool:
        return len(tree.variables) > self.params["limit"]


@RULE_KINDS.register("nesting")
class Nesting(Rule):
    """``limits[outer][inner] = n``: at most ``n`` ``inner`` on a path below an ``outer`` (PySR ``nested_constraints``).

    ``n = 0`` forbids the nesting, e.g. ``log = { log = 0 }`` forbids ``log(... log(...) ...)``.
    """

    stage = "structure"
    keys = {"limits": dict}

    def rejects_tree(self, tree: Node) -> bool:
        limits: dict[str, dict[str, int]] = self.params["limits"]
        for node in tree.walk():
            for inner, n in limits.get(node.op or "", {}).items():
                if any(c.max_path_count(inner) > n for c in node.children):
                    return True
        return False


@RULE_KINDS.register("arg_size")
class ArgSize(Rule):
    """``limits[op] = n`` (unary) or ``[n_left, n_right]`` (binary; -1 = unlimited): size of the arguments (PySR
    ``constraints``)."""

    stage = "structure"
    keys = {"limits": dict}

    def rejects_tree(self, tree: Node) -> bool:
        limits: dict[str, int | list[int]] = self.params["limits"]
        for node in tree.walk():
            if node.op in limits:
                lim = limits[node.op]
                per_arg = lim if isinstance(lim, list) else [lim] * len(node.children)
                if any(0 <= n < c.size for n, c in zip(per_arg, node.children, strict=False)):
                    return True
        return False


@RULE_KINDS.register("finite")
class Finite(Rule):
    """Every value over the training rows is finite."""

    stage = "values"

    def rejects_values(self, values: np.ndarray) -> bool:
        return not bool(np.all(np.isfinite(values)))


@RULE_KINDS.register("non_constant")
class NonConstant(Rule):
    """The formula is not constant over the training architectures (it would rank nothing)."""

    stage = "values"

    def rejects_values(self, values: np.ndarray) -> bool:
        return values.size < 2 or bool(np.all(values == values.flat[0]))


@RULE_KINDS.register("early_rejection")
class EarlyRejection(Rule):
    """Reject when the rank correlation on ``subsample`` training architectures is below ``min_corr``."""

    stage = "sample"
    keys = {"subsample": int, "min_corr": (int, float)}


@dataclass(frozen=True)
class RuleSet:
    """Allowed operators and constants plus the rules; build with :meth:`load` or :meth:`from_dict`."""

    name: str
    unary: tuple[str, ...]
    binary: tuple[str, ...]
    constants: tuple[float, ...] = ()
    rules: tuple[Rule, ...] = field(default=())

    @classmethod
    def load(cls, spec: str | Path = "default") -> RuleSet:
        """``spec`` is the name of a packaged rule set (``default``, ``minmax``, ``no_pruning``) or a path to a TOML
        file."""
        path = Path(spec)
        if path.suffix == ".toml":
            if not path.is_file():
                raise RuleError(f"rule set file not found: {path}")
            text = path.read_text()
        else:
            packaged = resources.files("lpzero_sr.rules") / f"{spec}.toml"
            if not packaged.is_file():
                names = sorted(
                    p.name.removesuffix(".toml") for p in packaged.parent.iterdir() if p.name.endswith(".toml")
                )
                raise RuleError(
                    f"unknown rule set {str(spec)!r}; use one of {', '.join(names)} or a path to a .toml file"
                )
            text = packaged.read_text()
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RuleError(f"cannot parse rule set {spec}: {exc}") from exc
        return cls.from_dict(data, default_name=path.stem)

    @classmethod
    def from_dict(cls, data: dict[str, Any], default_name: str = "custom") -> RuleSet:
        ops = data.get("operators", {})
        unary, binary = tuple(ops.get("unary", ())), tuple(ops.get("binary", ()))
        for name, arity in [*((u, 1) for u in unary), *((b, 2) for b in binary)]:
            if name not in OPS:
                raise RuleError(f"unknown operator {name!r}; known: {', '.join(OPS.names())}")
            if OPS.get(name).arity != arity:
                raise RuleError(f"operator {name!r} takes {OPS.get(name).arity} argument(s), listed with arity {arity}")
        if not binary and not unary:
            raise RuleError("rule set allows no operators")
        rules = []
        for rule_name, cfg in data.get("rules", {}).items():
            kind = cfg.get("kind")
            if kind not in RULE_KINDS:
                raise RuleError(f"rule {rule_name!r}: unknown kind {kind!r}; known: {', '.join(RULE_KINDS.names())}")
            rules.append(RULE_KINDS.get(kind).from_config(rule_name, cfg))
        constants = tuple(float(c) for c in ops.get("constants", ()))
        out = cls(str(data.get("name", default_name)), unary, binary, constants, tuple(rules))
        for op_limits in [r.params["limits"] for r in out.rules if isinstance(r, (Nesting, ArgSize))]:
            bad = [op for op in op_limits if op not in OPS]
            if bad:
                raise RuleError(f"rule refers to unknown operator(s): {', '.join(bad)}")
        if out.maxsize is None:
            raise RuleError("rule set needs a 'max_size' rule")
        return out

    # ------------------------------------------------------------------ queries
    def _first(self, kind: type[Rule]) -> Rule | None:
        return next((r for r in self.rules if isinstance(r, kind)), None)

    @property
    def maxsize(self) -> int | None:
        rule = self._first(MaxSize)
        return rule.params["limit"] if rule else None

    @property
    def maxdepth(self) -> int | None:
        rule = self._first(MaxDepth)
        return rule.params["limit"] if rule else None

    @property
    def early_rejection(self) -> EarlyRejection | None:
        return self._first(EarlyRejection)  # type: ignore[return-value]

    def nesting_limits(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for rule in self.rules:
            if isinstance(rule, Nesting):
                for outer, inner in rule.params["limits"].items():
                    out.setdefault(outer, {}).update(inner)
        return out

    def arg_limits(self) -> dict[str, int | list[int]]:
        out: dict[str, int | list[int]] = {}
        for rule in self.rules:
            if isinstance(rule, ArgSize):
                out.update(rule.params["limits"])
        return out

    def tree_violation(self, tokens: Sequence[Token]) -> str | None:
        """Name of the first structural rule that rejects the formula, or ``None``."""
        tree = Node.from_tokens(tokens)
        return next((r.name for r in self.rules if r.stage == "structure" and r.rejects_tree(tree)), None)

    def values_violation(self, values: np.ndarray) -> str | None:
        """Name of the first value rule that rejects per-architecture ``values``, or ``None``."""
        return next((r.name for r in self.rules if r.stage == "values" and r.rejects_values(values)), None)

    def rule_names(self) -> list[str]:
        return [r.name for r in self.rules]

    def fingerprint(self) -> str:
        """SHA-256 of the rule set's content (operators, constants, every rule's kind and parameters): two rule sets
        with the same fingerprint prune the same formulas, whatever their names or files."""
        content = {
            "unary": self.unary,
            "binary": self.binary,
            "constants": self.constants,
            "rules": [[r.name, type(r).__name__, r.params] for r in self.rules],
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=list).encode()).hexdigest()
