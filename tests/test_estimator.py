"""ProxySearch: the fit as a scikit-learn estimator (parameters, clone, cross-validation, DataFrames, layers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import make_scorer
from sklearn.model_selection import KFold, cross_val_score

from lpzero_sr import FitSettings, ProxySearch, SearchSettings
from lpzero_sr.ranking import spearman
from lpzero_sr.table import StatTable

SMALL = FitSettings(search=SearchSettings(generations=3, population=20, jobs=1), additive=0)


def arrays(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([10 ** rng.uniform(-2, 2, n), rng.uniform(0, 2, n), rng.normal(size=n)])  # noqa: N806
    return X, np.log(X[:, 0]) + X[:, 1]


def test_parameters_reach_every_field_and_clone_keeps_them() -> None:
    search = ProxySearch(SMALL)
    params = search.get_params()
    assert params["settings"] is SMALL and params["settings__search__population"] == 20 and params["settings__bag"] == 1
    search.set_params(settings__bag=2, settings__terminals=("quantile", "raw"), settings__search__population=30)
    assert search.settings.bag == 2 and search.settings.search.population == 30
    twin = clone(search)
    assert twin.settings == search.settings and twin is not search
    with pytest.raises(ValueError, match="invalid parameter 'bag' for ProxySearch"):
        search.set_params(bag=3)
    with pytest.raises(NotFittedError):
        ProxySearch().proxy  # noqa: B018


def test_cross_val_score_runs_with_a_spearman_scorer() -> None:
    X, y = arrays()  # noqa: N806
    folds = KFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(ProxySearch(SMALL), X, y, cv=folds, scoring=make_scorer(spearman))
    assert scores.shape == (3,) and np.all(scores > 0.9)  # log(x0) + x1 is within reach of a few generations
    for (train, test), score in zip(folds.split(X), scores, strict=True):
        fitted = ProxySearch(SMALL).fit(X[train], y[train])
        assert fitted.score(X[test], y[test]) == pytest.approx(score)
        assert score == pytest.approx(spearmanr(fitted.predict(X[test]), y[test]).statistic)


def test_a_dataframe_with_its_target_and_the_exports() -> None:
    X, y = arrays(seed=1)  # noqa: N806
    frame = pd.DataFrame({"grad.sqr.mean": X[:, 0], "snip": X[:, 1], "noise": X[:, 2], "ppl": -y})
    search = ProxySearch(SMALL).fit(frame, target="ppl", maximize=False)
    assert list(search.front.columns) == ["size", "loss", "train", "formula", "chosen"]
    assert search.front["chosen"].sum() == 1 and search.proxy.direction == "minimize"
    assert search.score(frame) == pytest.approx(spearmanr(search.predict(frame), y).statistic)
    assert search.latex() == search.proxy.latex() and search.sympy() == search.proxy.expr
    stats = {n: np.asarray(frame[n]) for n in search.proxy.features}
    import torch

    out = search.torch()({n: torch.tensor(v) for n, v in stats.items()})
    np.testing.assert_allclose(out.detach().numpy(), search.predict(frame), rtol=0, atol=1e-12)


def test_a_per_layer_frame_is_scored_per_architecture(layer_table: StatTable) -> None:
    frame = layer_table.frame
    settings = FitSettings(search=SearchSettings(generations=2, population=16, jobs=1))
    search = ProxySearch(settings).fit(frame, target="ppl", maximize=False, arch_col="arch", layer_col="layer")
    assert search.predict(frame).shape == (8,)
    np.testing.assert_array_equal(search.predict(frame), search.proxy.evaluate(layer_table))
    assert search.score(frame) == pytest.approx(spearmanr(search.proxy.evaluate(layer_table), layer_table.y).statistic)


def test_the_readme_snippet_runs(tmp_path, monkeypatch) -> None:
    """The README's ProxySearch block, run as written on a stats.csv whose glue is log(a) + b."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (snippet,) = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "ProxySearch(" in b]
    X, y = arrays(n=45, seed=2)  # noqa: N806
    frame = pd.DataFrame({"arch": [f"m{i}" for i in range(45)], "a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "glue": y})
    frame.to_csv(tmp_path / "stats.csv", index=False)
    monkeypatch.chdir(tmp_path)
    space: dict = {}
    exec(compile(snippet, "README.md", "exec"), space)  # noqa: S102 - the README's own code
    assert space["search"].proxy.size <= 15 and space["search"].score(frame) > 0.9
    assert space["rho"].shape == (3,) and np.all(space["rho"] > 0.8)
