"""auditor's per-user cache folder, and Node's compile cache for Playwright's driver in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.cache import NODE_CACHE_ENV, driver_compile_cache, for_drivers, own_private_dir


@pytest.fixture
def cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "auditor"


def test_the_driver_cache_is_a_private_folder_in_the_users_cache(cache_home: Path) -> None:
    env: dict[str, str] = {}
    assert driver_compile_cache(env) == cache_home / "node"
    assert env == {NODE_CACHE_ENV: str(cache_home / "node")}
    assert (cache_home / "node").stat().st_mode & 0o777 == 0o700


def test_a_compile_cache_the_user_chose_is_kept_as_it_is(cache_home: Path) -> None:
    env = {NODE_CACHE_ENV: "/somewhere/else"}
    assert driver_compile_cache(env) == Path("/somewhere/else")
    assert env == {NODE_CACHE_ENV: "/somewhere/else"}
    env = {NODE_CACHE_ENV: ""}  # set but empty: Node uses no cache, nor do we make one
    assert driver_compile_cache(env) is None
    assert env == {NODE_CACHE_ENV: ""}
    assert not cache_home.exists()


def test_a_folder_others_may_write_is_never_used(cache_home: Path) -> None:
    (cache_home / "node").mkdir(parents=True)
    (cache_home / "node").chmod(0o777)
    env: dict[str, str] = {}
    assert driver_compile_cache(env) is None
    assert env == {}


def test_a_file_where_the_folder_should_be_is_never_used(cache_home: Path) -> None:
    cache_home.mkdir(parents=True)
    (cache_home / "node").write_text("not a folder")
    env: dict[str, str] = {}
    assert driver_compile_cache(env) is None
    assert env == {}
    assert not own_private_dir(cache_home / "node")


def test_no_cache_folder_at_all_sets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("auditor.cache.user_cache_dir", lambda: None)
    env: dict[str, str] = {}
    assert driver_compile_cache(env) is None
    assert env == {}


def test_a_folder_that_cannot_be_made_sets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/sys/auditor-cannot-be-here")  # refuses root too
    env: dict[str, str] = {}
    assert driver_compile_cache(env) is None
    assert env == {}


def test_the_cache_is_set_for_a_drivers_start_only(cache_home: Path) -> None:
    env: dict[str, str] = {}
    with for_drivers(env) as folder:
        assert folder == cache_home / "node"
        assert env == {NODE_CACHE_ENV: str(folder)}
    assert env == {}
    env = {NODE_CACHE_ENV: "/the/users/own"}
    with for_drivers(env) as folder:
        assert folder == Path("/the/users/own")
    assert env == {NODE_CACHE_ENV: "/the/users/own"}


def test_the_variable_is_put_back_when_the_start_fails(cache_home: Path) -> None:
    env: dict[str, str] = {}
    with pytest.raises(RuntimeError), for_drivers(env):
        raise RuntimeError("the driver did not start")
    assert env == {}
