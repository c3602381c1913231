"""The outcome cache against a Python dict: first occurrences, uncached keys, lookups, growth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lpzero_sr.search.outcomes import OutcomeCache


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), span=st.integers(2, 400))
def test_the_cache_behaves_like_a_dict(seed: int, span: int) -> None:
    rng = np.random.default_rng(seed)
    cache, reference = OutcomeCache(capacity=4), {}
    for _ in range(30):
        keys = rng.integers(0, span, (int(rng.integers(1, 50)), 2)).astype(np.uint64)
        first, novel = cache.classify(keys)
        seen: dict[tuple, int] = {}
        for i, key in enumerate(map(tuple, keys.tolist())):
            seen.setdefault(key, i)
        assert first.tolist() == list(seen.values())
        assert novel.tolist() == [i for key, i in seen.items() if key not in reference]
        loss, verdict = rng.random(len(novel)), rng.integers(-1, 4, len(novel)).astype(np.int32)
        cache.insert(keys[novel], loss, verdict)
        pairs = zip(loss.tolist(), verdict.tolist(), strict=True)
        reference.update(zip(map(tuple, keys[novel].tolist()), pairs, strict=True))
        got = cache.lookup(keys[first])
        assert list(zip(*(v.tolist() for v in got), strict=True)) == [reference[tuple(k)] for k in keys[first].tolist()]
    assert len(cache) == len(reference) and 2 * len(cache) <= len(cache.used)
    keys, loss, verdict = (a.tolist() for a in cache.arrays())
    assert {tuple(k): (v, c) for k, v, c in zip(keys, loss, verdict, strict=True)} == reference
    with pytest.raises(KeyError):
        cache.lookup(np.array([[span + 1, 0]], np.uint64))
