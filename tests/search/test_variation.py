"""Batched DEAP operators and NSGA-II: by hand, and against DEAP's own ``tools`` on the same fitnesses."""

from __future__ import annotations

import numpy as np
import pytest
from deap import base, creator, tools
from hypothesis import given, settings
from hypothesis import strategies as st

from lpzero_sr.formula import Node
from lpzero_sr.search import nsga2, variation
from lpzero_sr.search.programs import PAD, Alphabet, program_keys, subtree_end

ALPHABET = Alphabet(("log", "neg", "add", "mul"), 3, (2.0,))
ARITY = ALPHABET.arity
PRIMS, UNARY, BINARY = np.array([0, 1, 2, 3], np.int32), np.array([0, 1], np.int32), np.array([2, 3], np.int32)
FIRST_TERM, N_TERMS = 4, 4

if not hasattr(creator, "NsgaTestFitness"):
    creator.create("NsgaTestFitness", base.Fitness, weights=(-1.0, -1.0))


def rows(*formulas: tuple) -> tuple[np.ndarray, np.ndarray]:
    return ALPHABET.matrix(list(formulas), 15)


def decoded(codes: np.ndarray, lens: np.ndarray) -> list[tuple]:
    return [ALPHABET.decode(codes[i, :n]) for i, n in enumerate(lens.tolist())]


def height(tokens: tuple) -> int:
    return Node.from_tokens(tokens).depth - 1


def vary(codes, lens, u, max_size=15, max_height=6):
    parents = np.arange(len(lens))
    return variation.vary(codes, lens, parents, u, PRIMS, UNARY, BINARY, N_TERMS, FIRST_TERM, ARITY, max_size,
                          max_height)  # fmt: skip


def draws(n_pairs: int, **at: float) -> np.ndarray:
    """Uniform rows that skip crossover and mutation unless ``at`` sets a position (``p3=0.1`` -> u[:, 3] = 0.1)."""
    u = np.full((n_pairs, variation.DRAWS), 0.99)
    for key, value in at.items():
        u[:, int(key[1:])] = value
    return u


def test_generate_is_genhalfandhalf() -> None:
    u = np.random.default_rng(0).random((300, variation.DRAWS))
    codes, lens = variation.generate(300, 15, u, PRIMS, N_TERMS, FIRST_TERM, 0.5, ARITY, 1, 3)
    trees = decoded(codes, lens)
    assert all(subtree_end(codes[i], ARITY, 0) == lens[i] for i in range(300))
    assert all(1 <= height(t) <= 3 for t in trees)
    full = [t for t, row in zip(trees, u, strict=True) if row[0] < 0.5]
    assert all(len(t) == 2 ** (height(t) + 1) - 1 or "log" in t or "neg" in t for t in full)
    assert {height(t) for t in trees} == {1, 2, 3}


def test_crossover_swaps_the_chosen_subtrees() -> None:
    """cxOnePoint: point 1 of log(add(x0, x1)) is add(x0, x1); point 2 of mul(x2, neg(x0)) is neg(x0)."""
    codes, lens = rows(("log", "add", 0, 1), ("mul", 2, "neg", 0))
    u = draws(1, p0=0.1, p1=0.0, p2=0.6)  # points 1 + int(0.0 * 3) = 1 and 1 + int(0.6 * 3) = 2
    assert decoded(*vary(codes, lens, u)) == [("log", "neg", 0), ("mul", 2, "add", 0, 1)]


def test_a_child_over_the_limit_becomes_a_random_parent() -> None:
    """staticLimit: with max_size 4 the second child (5 nodes) becomes a copy of parent 0 or 1, by the next draw."""
    codes, lens = rows(("log", "add", 0, 1), ("mul", 2, "neg", 0))
    out = vary(codes, lens, draws(1, p0=0.1, p1=0.0, p2=0.6, p4=0.0), max_size=4)
    assert decoded(*out) == [("log", "neg", 0), ("log", "add", 0, 1)]
    out = vary(codes, lens, draws(1, p0=0.1, p1=0.0, p2=0.6, p4=0.7), max_size=4)
    assert decoded(*out) == [("log", "neg", 0), ("mul", 2, "neg", 0)]


def test_mutations_by_hand() -> None:
    codes, lens = rows(("add", "log", 0, 1), (2,))
    # mutNodeReplacement (0.4 <= r < 0.7): node 1 + int(0.5 * 3) = 2 (the terminal x0) -> terminal int(0.8 * 4) = 3
    out = vary(codes, lens, draws(1, p7=0.1, p8=0.5, p9=0.5, p10=0.8))
    assert decoded(*out)[0] == ("add", "log", 2.0, 1)
    # mutShrink (0.7 <= r < 0.85): the only non-root operator, log, becomes its argument
    out = vary(codes, lens, draws(1, p7=0.1, p8=0.8, p9=0.0, p10=0.0))
    assert decoded(*out)[0] == ("add", 0, 1)
    # mutInsert: above node int(0.3 * 4) = 1 (log x0) goes operator int(0.6 * 4) = 2 (add) with it at argument
    # int(0.9 * 2) = 1 and terminal int(0.1 * 4) = 0 at argument 0
    out = vary(codes, lens, draws(1, p7=0.1, p8=0.9, p9=0.3, p10=0.6, p11=0.9, p12=0.1))
    assert decoded(*out)[0] == ("add", "add", 0, "log", 0, 1)
    # mutUniform: subtree int(0.3 * 4) = 1 becomes a genFull tree of height int(0.0 * 3) = 0: terminal x1
    out = vary(codes, lens, draws(1, p7=0.1, p8=0.1, p9=0.3, p10=0.0, p11=0.3))
    assert decoded(*out)[0] == ("add", 1, 1)
    # a single leaf cannot shrink: the draw falls through to mutInsert (child 1's draws start at 35)
    out = vary(codes, lens, draws(1, p35=0.1, p36=0.8, p37=0.0, p38=0.0, p39=0.0))
    assert decoded(*out)[1] == ("log", 2)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), max_size=st.integers(3, 15), max_height=st.integers(1, 6))
def test_offspring_are_whole_trees_within_the_limits(seed: int, max_size: int, max_height: int) -> None:
    rng = np.random.default_rng(seed)
    codes, lens = variation.generate(40, 15, rng.random((40, 64)), PRIMS, N_TERMS, FIRST_TERM, 0.5, ARITY, 1, 3)
    keep = np.array([i for i in range(40) if lens[i] <= max_size and height(decoded(codes, lens)[i]) <= max_height])
    if len(keep) < 2:
        return
    codes, lens = codes[keep], lens[keep]
    for _ in range(5):
        u = rng.random(((len(lens) + 1) // 2, variation.DRAWS))
        codes, lens = vary(codes, lens, u, max_size, max_height)
        for i, n in enumerate(lens.tolist()):
            assert subtree_end(codes[i], ARITY, 0) == n and (codes[i, n:] == PAD).all()
            assert n <= max_size and height(ALPHABET.decode(codes[i, :n])) <= max_height
    again = vary(codes, lens, u, max_size, max_height)  # the same draws give the same children
    assert all(np.array_equal(a, b) for a, b in zip(vary(codes, lens, u, max_size, max_height), again, strict=True))


def deap_population(loss: np.ndarray, size: np.ndarray) -> list:
    pop = []
    for i, (a, b) in enumerate(zip(loss.tolist(), size.tolist(), strict=True)):
        ind = type("Ind", (), {})()
        ind.fitness, ind.index = creator.NsgaTestFitness((a, b)), i
        pop.append(ind)
    return pop


@settings(max_examples=100, deadline=None)
@given(
    loss=st.lists(st.sampled_from([0.1, 0.2, 0.25, 0.5, 0.9, 2.0]), min_size=2, max_size=60),
    seed=st.integers(0, 1000),
)
def test_nsga2_equals_deaps(loss: list[float], seed: int) -> None:
    """Fronts as DEAP's sortNondominated (as sets), crowding distances as assignCrowdingDist (to the last bit, in
    DEAP's front order), and the survivors of selNSGA2 (as a set, when the last front's cut is not a tie)."""
    l_arr = np.array(loss)
    s_arr = np.random.default_rng(seed).integers(1, 8, len(loss)).astype(float)
    pop = deap_population(l_arr, s_arr)
    deap_fronts = tools.sortNondominated(pop, len(pop))
    front = nsga2.fronts(l_arr, s_arr)
    assert [sorted(ind.index for ind in f) for f in deap_fronts] == [
        np.flatnonzero(front == f).tolist() for f in range(len(deap_fronts))
    ]
    ours = nsga2.crowding(l_arr, s_arr, front)
    for members in deap_fronts:
        tools.emo.assignCrowdingDist(members)
        assert [ours[ind.index] for ind in members] == [ind.fitness.crowding_dist for ind in members]
    k = max(1, len(loss) // 2)
    chosen = nsga2.select(l_arr, s_arr, k)
    assert len(set(chosen.tolist())) == k
    whole = [ind.index for f in deap_fronts for ind in f]
    cut = next(i for i, f in enumerate(deap_fronts) if sum(map(len, deap_fronts[: i + 1])) >= k)
    before = sum(map(len, deap_fronts[:cut]))
    last = sorted((ind.fitness.crowding_dist for ind in deap_fronts[cut]), reverse=True)
    if k - before in (0, len(last)) or last[k - before - 1] != last[k - before]:
        assert set(chosen.tolist()) == {ind.index for ind in tools.selNSGA2(pop, k)}
    assert set(chosen.tolist()) <= set(whole)


def test_tournament_prefers_the_lower_front_then_the_larger_distance() -> None:
    front, dist = np.array([0, 1, 0]), np.array([1.0, np.inf, np.inf])
    u = np.array([[0.0, 0.5], [0.5, 0.9], [0.0, 0.9], [0.9, 0.0]])  # contestants (0,1), (1,2), (0,2), (2,0)
    assert nsga2.tournament(front, dist, u).tolist() == [0, 2, 2, 2]


def test_program_keys_tell_formulas_apart() -> None:
    codes, lens = rows(("add", 0, 1), ("add", 1, 0), ("add", 0, 1), (0,), ("log", 0))
    keys = program_keys(codes, lens)
    assert [tuple(k) for k in keys[[0, 2]]] == [tuple(keys[0])] * 2
    assert len({tuple(k) for k in keys}) == 4
    with pytest.raises(ValueError):
        ALPHABET.encode(("sqrt", 0))
