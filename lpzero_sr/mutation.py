"""Configs as trees of fields, and the mutations of aging evolution (:mod:`lpzero_sr.nas`).

A config is a nested dict/list; a field is a leaf (a scalar) or a list whose length differs between two configs
(e.g. FlexiBERT's layers). :func:`resample_field` is the default mutation: one field taken from a fresh sample of
the space, repaired by the nearest further field when the space rejects the child. A space may bring its own
``mutate(config, rng)``, or register one in :data:`MUTATIONS` under its name (:func:`mutation_for`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from lpzero_sr.registry import Registry
from lpzero_sr.spaces.base import Space

Config = dict[str, Any]
FieldPath = tuple[str | int, ...]
MAX_ATTEMPTS_PER_CANDIDATE = 50  # proposals (mutations, samples) allowed per wanted candidate before giving up


def leaves(config: Any, prefix: FieldPath = ()) -> dict[FieldPath, Any]:
    """Every scalar of a nested config by its path of dict keys and list indices."""
    if isinstance(config, dict):
        return {p: v for k, sub in config.items() for p, v in leaves(sub, (*prefix, k)).items()}
    if isinstance(config, list):
        return {p: v for i, sub in enumerate(config) for p, v in leaves(sub, (*prefix, i)).items()}
    return {prefix: config}


def field_distance(a: dict[FieldPath, Any], b: dict[FieldPath, Any]) -> int:
    """Number of leaf paths (flattened by :func:`leaves`) whose values differ or that only one config has."""
    return sum(a.get(p, _MISSING) != b.get(p, _MISSING) for p in a.keys() | b.keys())


_MISSING = object()


def aligned_fields(a: Any, b: Any, prefix: FieldPath = ()) -> list[FieldPath]:
    """Paths where ``b``'s value can replace ``a``'s: dicts with equal keys and lists of equal length are
    descended, anything else (a scalar, a list of another length) is one field."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return [p for k in a for p in aligned_fields(a[k], b[k], (*prefix, k))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i in range(len(a)) for p in aligned_fields(a[i], b[i], (*prefix, i))]
    return [prefix]


def get_path(config: Any, path: FieldPath) -> Any:
    for key in path:
        config = config[key]
    return config


def set_path(config: Config, path: FieldPath, value: Any) -> Config:
    """A deep copy of ``config`` with the field at ``path`` replaced by ``value`` (a copy of it)."""
    copy = json.loads(json.dumps(config))
    if not path:
        return json.loads(json.dumps(value))
    target = get_path(copy, path[:-1])
    target[path[-1]] = json.loads(json.dumps(value))
    return copy


def take_field(config: Config, fresh: Config, path: FieldPath) -> Config:
    """``config`` with the field at ``path`` taken from ``fresh``; a list of another length (e.g. the layers)
    keeps ``config``'s items and is cut to, or extended by ``fresh``'s items up to, ``fresh``'s length."""
    old, new = get_path(config, path), get_path(fresh, path)
    if isinstance(old, list) and isinstance(new, list):
        new = old[: len(new)] + new[len(old) :]
    return set_path(config, path, new)


# ---------------------------------------------------------------------------------------------- mutation
Mutation = Callable[[Space, Config, np.random.Generator, Callable[[Config], bool]], Config]
MUTATIONS: Registry[Mutation] = Registry("mutation")


@MUTATIONS.register("resample-field")
def resample_field(
    space: Space, config: Config, rng: np.random.Generator, valid: Callable[[Config], bool] = lambda c: True
) -> Config:
    """Resample one field of ``config`` from a fresh ``space.sample(rng)``.

    One field that differs in the fresh sample is copied into the parent. When the space rejects the result
    (``valid`` false, e.g. an operation whose parameter belongs to another operation type), one more field of the
    same fresh sample is copied, nearest to the first in the config's tree first; if no single one repairs it, the
    nearest is kept and the search repeats (at worst the child is the fresh sample itself; if the space rejects
    even that, another is drawn).
    Returns the parent unchanged only when ``MAX_ATTEMPTS_PER_CANDIDATE`` fresh samples all equal it.
    """
    for _ in range(MAX_ATTEMPTS_PER_CANDIDATE):
        fresh = space.sample(rng)
        fields = [p for p in aligned_fields(config, fresh) if get_path(config, p) != get_path(fresh, p)]
        if not fields:
            continue
        first = fields[int(rng.integers(len(fields)))]
        tiebreak = rng.permutation(len(fields))
        shared = [sum(1 for _ in _common_prefix(first, p)) for p in fields]
        order = sorted(range(len(fields)), key=lambda i: (-shared[i], tiebreak[i]))
        rest = [fields[i] for i in order if fields[i] != first]
        child = take_field(config, fresh, first)
        while rest and not valid(child):
            repaired = next((trial for p in rest if valid(trial := take_field(child, fresh, p))), None)
            if repaired is not None:
                return repaired
            child = take_field(child, fresh, rest[0])
            rest = rest[1:]
        if valid(child):  # else the fresh sample itself is invalid: draw another
            return child
    return config


def _common_prefix(a: FieldPath, b: FieldPath) -> Iterator[str | int]:
    for x, y in zip(a, b, strict=False):
        if x != y:
            return
        yield x


def mutation_for(space: Space) -> Mutation:
    """The space's own ``mutate(config, rng)`` if it has one, else the mutation registered under its name,
    else :func:`resample_field`."""
    own = getattr(space, "mutate", None)
    if callable(own):
        return lambda _space, config, rng, _valid: own(config, rng)
    name = getattr(space, "name", "")
    return MUTATIONS.get(name) if name in MUTATIONS else resample_field
