"""The app reads its settings once per moment, and again as soon as the environment changes."""
from __future__ import annotations

from pathlib import Path

import pytest

from pages import _settings
from pages._settings import app_settings


def test_settings_are_shared_for_a_moment_and_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path / "first"))
    first = app_settings()
    assert app_settings() is first and first.data_dir.name == "first"
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path / "second"))  # a new environment: read at once
    assert app_settings().data_dir.name == "second"


def test_a_changed_config_file_is_read_after_the_moment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LENS_DATA_DIR", raising=False)
    config = tmp_path / "lens.toml"
    config.write_text('[lens]\ndata_dir = "before"\n', encoding="utf-8")
    monkeypatch.setenv("LENS_CONFIG", str(config))
    now = [1000.0]
    monkeypatch.setattr(_settings, "_clock", lambda: now[0])
    assert app_settings().data_dir.name == "before"
    config.write_text('[lens]\ndata_dir = "after"\n', encoding="utf-8")
    assert app_settings().data_dir.name == "before"  # within the moment
    now[0] += _settings.FRESH_FOR_S
    assert app_settings().data_dir.name == "after"
