"""Primitives that write source code: the backend behind generated Julia and torch source."""

from __future__ import annotations

from collections.abc import Callable


class SourcePrimitives:
    """Each IEEE primitive of :mod:`lpzero_sr.operators` as a format string of its arguments (``templates``), and
    ``number`` writing a constant; ``Op.define(SourcePrimitives(...), "x")`` is the operator's source."""

    def __init__(self, templates: dict[str, str], number: Callable[[float], str]) -> None:
        self.templates, self.number = templates, number

    def __getattr__(self, name: str) -> Callable[..., str]:
        template = self.templates.get(name)
        if template is None:
            raise AttributeError(name)
        return lambda *args: template.format(*args)

    def min_const(self, a: str, c: float) -> str:
        return self.templates["min_const"].format(a, self.number(c))

    def max_const(self, a: str, c: float) -> str:
        return self.templates["max_const"].format(a, self.number(c))

    def const(self, value: float) -> str:
        return self.number(value)


def generated_name(op: str) -> str:
    """The name of an operator's generated function in Julia and in torch source: ``lpz_log``."""
    return f"lpz_{op}"
