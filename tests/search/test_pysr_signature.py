"""Every keyword the PySR engine passes exists in the installed PySR, read from its source (importing pysr would
download Julia), and the declared requirement admits only PySR versions that have them."""

from __future__ import annotations

import ast
import importlib.util
import tomllib
from pathlib import Path

import pytest

from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.pysr_engine import pysr_kwargs
from lpzero_sr.settings import SearchSettings

ROOT = Path(__file__).resolve().parents[2]


def installed_init_parameters() -> set[str]:
    spec = importlib.util.find_spec("pysr")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pysr is not installed (pip install -e '.[dev]' installs it)")
    source = (Path(spec.submodule_search_locations[0]) / "sr.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == "PySRRegressor":
            init = next(f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
            return {a.arg for a in [*init.args.args, *init.args.kwonlyargs]} - {"self"}
    raise AssertionError("PySRRegressor.__init__ not found in pysr/sr.py")


def test_every_keyword_we_pass_exists_in_the_installed_pysr(tmp_path, arch_table) -> None:
    params = installed_init_parameters()
    settings = SearchSettings(generations=5, evaluations=100, time_limit=10, jobs=2)
    kwargs = pysr_kwargs(arch_table, RuleSet.load("default"), settings, tmp_path)
    assert set(kwargs) - params == set()
    assert {"guesses", "loss_scale", "should_simplify", "loss_function"} <= set(kwargs)
    assert "warm_start" in params  # set on resume via set_params


def test_declared_requirement_is_pysr_2() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["pysr"] == ["pysr>=2.0,<3"]  # guesses= appeared in PySR 2.0, loss_scale= in 1.5.7
