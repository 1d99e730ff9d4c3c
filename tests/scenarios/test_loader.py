"""Loading scenario files: fixtures by name, and clear errors for every way a file can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor import config, scenario
from auditor.errors import ConfigError
from auditor.scenarios import FIXTURES, ScenarioLoadError, bundled_dir, load_dirs, resolve_dirs

GOOD = '''
from auditor import scenario

@scenario("buy-mug", tags=["checkout"], places_order=True)
async def buy_mug(page, customer, step):
    """Buys the mug."""
    step("Open the shop")
'''


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_it_loads_a_scenario_with_its_fixtures_tags_and_file(tmp_path: Path) -> None:
    path = write(tmp_path / "s", "buy.py", GOOD)
    (spec,) = load_dirs([tmp_path / "s"]).values()
    assert spec.name == "buy-mug"
    assert spec.fixtures == ("page", "customer", "step")
    assert spec.tags == ("checkout",) and spec.places_order
    assert spec.description == "Buys the mug."
    assert spec.file == path and spec.where == f"{path}:4"


def test_files_starting_with_an_underscore_are_helpers_not_scenarios(tmp_path: Path) -> None:
    write(tmp_path / "s", "_helpers.py", "raise RuntimeError('never loaded')\n")
    write(tmp_path / "s", "buy.py", GOOD)
    assert list(load_dirs([tmp_path / "s"])) == ["buy-mug"]


def test_an_unknown_parameter_names_the_scenario_the_file_and_the_valid_names() -> None:
    with pytest.raises(ScenarioLoadError) as e:

        @scenario("broken")
        async def broken(page, custmer):  # type: ignore[no-untyped-def]
            pass

    message = str(e.value)
    assert "scenario 'broken' at" in message and "test_loader.py:" in message
    assert "unknown fixture(s) 'custmer'" in message
    assert f"valid parameter names: {', '.join(sorted(FIXTURES))}" in message


def test_a_scenario_must_be_async() -> None:
    with pytest.raises(ScenarioLoadError, match="must be an `async def` function"):
        scenario("sync")(lambda page: None)


def test_a_file_with_a_bad_parameter_fails_to_load_with_that_message(tmp_path: Path) -> None:
    write(tmp_path / "s", "bad.py", GOOD.replace("customer", "shopper"))
    with pytest.raises(ScenarioLoadError, match=r"unknown fixture\(s\) 'shopper'"):
        load_dirs([tmp_path / "s"])


def test_a_name_defined_twice_names_both_places(tmp_path: Path) -> None:
    a = write(tmp_path / "one", "a.py", GOOD)
    b = write(tmp_path / "two", "b.py", GOOD)
    with pytest.raises(ScenarioLoadError) as e:
        load_dirs([tmp_path / "one", tmp_path / "two"])
    assert str(e.value) == f"scenario 'buy-mug' is defined twice: at {a}:4 and at {b}:4; rename one"


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "s", "typo.py", GOOD + "\nasync def oops(:\n")
    with pytest.raises(ScenarioLoadError, match=f"^{path}:9: syntax error: "):
        load_dirs([tmp_path / "s"])


def test_an_exception_while_loading_names_the_file_line_and_error(tmp_path: Path) -> None:
    path = write(tmp_path / "s", "boom.py", "import os\n\nSHOP = os.environ['NO_SUCH_VARIABLE_X']\n")
    with pytest.raises(ScenarioLoadError) as e:
        load_dirs([tmp_path / "s"])
    assert str(e.value) == f"{path}:3: loading the scenario file failed: KeyError: 'NO_SUCH_VARIABLE_X'"


def test_a_changed_file_is_loaded_again(tmp_path: Path) -> None:
    path = write(tmp_path / "s", "buy.py", GOOD)
    assert list(load_dirs([tmp_path / "s"])) == ["buy-mug"]
    path.write_text(GOOD.replace("buy-mug", "buy-tote") + "\n")
    assert list(load_dirs([tmp_path / "s"])) == ["buy-tote"]


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioLoadError, match=r"scenario folder .*nowhere does not exist"):
        load_dirs([tmp_path / "nowhere"])


def test_bundled_means_the_example_scenarios_and_one_folder_is_loaded_once(tmp_path: Path) -> None:
    dirs = resolve_dirs(["bundled", str(bundled_dir()), "s"], tmp_path)
    assert dirs == [bundled_dir().resolve(), (tmp_path / "s").resolve()]
    names = set(load_dirs([bundled_dir()]))
    assert names >= {
        "guest-checkout",
        "contact-form",
        "newsletter-signup",
        "demo-login",
        "decline-then-approve",
        "double-click-pay",
    }


def scenario_config(tmp_path: Path, **check: object) -> dict[str, object]:
    return {
        "sites": {"shop": {"base_url": "http://127.0.0.1:9"}},
        "checks": {"buy": {"kind": "scenario", **check}},
        "audits": {"nightly": {"checks": ["buy"]}},
    }


def test_the_config_names_an_unknown_scenario_and_lists_the_known_ones(tmp_path: Path) -> None:
    write(tmp_path / "scenarios", "buy.py", GOOD)
    (tmp_path / "auditor.toml").write_text(
        '[sites.shop]\nbase_url = "http://127.0.0.1:9"\n'
        '[checks.buy]\nkind = "scenario"\nscenario = "buy-hat"\n'
        '[audits.nightly]\nchecks = ["buy"]\n'
    )
    with pytest.raises(ConfigError) as e:
        config.load(tmp_path / "auditor.toml")
    assert [str(p) for p in e.value.problems] == [
        "checks.buy.scenario: no scenario named 'buy-hat' in scenarios (known: buy-mug)"
    ]


def test_scenario_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    write(tmp_path / "journeys", "buy.py", GOOD)
    (tmp_path / "auditor.toml").write_text(
        '[sites.shop]\nbase_url = "http://127.0.0.1:9"\n'
        '[checks.buy]\nkind = "scenario"\nscenario = "buy-mug"\npaths = ["journeys"]\nviewport = "390x844"\n'
        '[audits.nightly]\nchecks = ["buy"]\n'
    )
    settings = config.load(tmp_path / "auditor.toml")
    assert settings.checks["buy"].options.model_dump()["paths"] == ["journeys"]


def test_the_config_reports_a_scenario_file_that_does_not_load(tmp_path: Path) -> None:
    write(tmp_path / "scenarios", "typo.py", "async def (:\n")
    with pytest.raises(ConfigError, match=r"checks\.buy\.scenario: .*typo\.py:1: syntax error"):
        config.from_dict(scenario_config(tmp_path, scenario="x", paths=[str(tmp_path / "scenarios")]))


def test_bad_scenario_options_are_reported_at_their_key_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        config.from_dict(
            scenario_config(
                tmp_path,
                scenario="guest-checkout",
                paths=["bundled"],
                viewport="big",
                trace="sometimes",
                ignore_console=["("],
            )
        )
    paths = sorted(p.path for p in e.value.problems)
    assert paths == ["checks.buy.ignore_console", "checks.buy.trace", "checks.buy.viewport"]
