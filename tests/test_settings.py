"""Settings: every default written once, validated once, errors that name the field; --config and flags."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lpzero_sr.cli import main
from lpzero_sr.fit.selection import SELECTIONS
from lpzero_sr.search.engines import ENGINES
from lpzero_sr.settings import (
    ENGINE_NAMES,
    SELECTION_RULES,
    FitSettings,
    MultiFitSettings,
    SearchSettings,
    SettingsError,
    from_dict,
    to_dict,
    with_changes,
)


def test_the_light_name_lists_agree_with_the_registries() -> None:
    assert set(SELECTION_RULES) == set(SELECTIONS.names())
    assert set(ENGINE_NAMES) == {"auto", *ENGINES.names()}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SearchSettings(population=1), "population: must be at least 2, got 1"),
        (lambda: SearchSettings(time_limit=0.0), "time_limit: must be above 0, got 0.0"),
        (lambda: SearchSettings(loss="pearson"), "loss: must be one of spearman, kendall, got 'pearson'"),
        (lambda: SearchSettings(seed=1.5), "seed: must be an integer, got 1.5"),
        (lambda: FitSettings(bag=0), "bag: must be at least 1, got 0"),
        (lambda: FitSettings(train_size=1.5), "train_size: a fraction must lie in (0, 1), got 1.5"),
        (lambda: FitSettings(selection="pareto"), "selection: must be one of best, cv, parsimony, score, got 'pareto'"),
        (lambda: FitSettings(terminals=("quantile", "raw")), "terminals: 2 modes take turns over the searches"),
        (lambda: MultiFitSettings(multi_loss="max"), "multi_loss: must be one of mean, min, got 'max'"),
    ],
)
def test_a_bad_value_is_one_error_naming_its_field(build, message: str) -> None:
    with pytest.raises(SettingsError, match="^" + re.escape(message)):
        build()


def test_replace_validates_again_and_the_budget_defaults_once() -> None:
    search = SearchSettings()
    assert search.budgeted_generations == 200  # no limit given: the default generations
    assert dataclasses.replace(search, time_limit=5.0).budgeted_generations is None
    with pytest.raises(SettingsError, match="^jobs: must be at least 1, got 0$"):
        dataclasses.replace(search, jobs=0)
    assert FitSettings(terminals="raw").terminals == ("raw",)
    assert not FitSettings().is_ensemble and FitSettings(bag=2).is_ensemble and FitSettings(additive=0.4).is_ensemble


def test_dotted_changes_and_plain_data_round_trip() -> None:
    settings = with_changes(FitSettings(), {"bag": 3, "search.population": 50, "terminals": ("quantile", "raw")})
    assert settings.bag == 3 and settings.search.population == 50
    assert from_dict(FitSettings, json.loads(json.dumps(to_dict(settings)))) == settings
    with pytest.raises(SettingsError, match=r"^search.population: must be at least 2, got 0$"):
        with_changes(settings, {"search.population": 0})
    with pytest.raises(SettingsError, match=r"^search.colour: unknown setting"):
        from_dict(FitSettings, {"search": {"colour": 1}})


def test_the_cli_takes_a_config_file_and_flags_override_it(tmp_path: Path) -> None:
    config = tmp_path / "fit.toml"
    config.write_text("bag = 0\n[search]\npopulation = 30\n")
    csv = tmp_path / "t.csv"
    csv.write_text("arch,a,b,y\n" + "".join(f"n{i},{i * 3 % 20},{(i * 7) % 5},{i * i}\n" for i in range(20)))
    result = CliRunner().invoke(main, ["fit", str(csv), "--target", "y", "--config", str(config)])
    assert result.exit_code == 1 and result.output == f"Error: {config}: bag: must be at least 1, got 0\n"
    config.write_text("additive = 0\ntrain_size = 15\n[search]\npopulation = 20\ngenerations = 2\njobs = 1\n")
    out = tmp_path / "run"
    args = ["fit", str(csv), "--target", "y", "--config", str(config), "--population", "16", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "settings.json").read_text())
    assert saved["search"]["population"] == 16 and saved["search"]["generations"] == 2 and saved["additive"] == 0
    result = CliRunner().invoke(main, ["fit", str(csv), "--target", "y", "--population", "1"])
    assert result.exit_code == 2 and result.output.endswith(
        "Error: Invalid value for '--population': must be at least 2, got 1\n"
    )
