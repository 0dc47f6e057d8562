"""A failure Lens does not expect still ends in one line on stderr, with the traceback on request."""
from __future__ import annotations

from pathlib import Path

import pytest

from lens_etl import __main__ as cli


def _broken_views(*_: object) -> None:
    raise RuntimeError("disk went away\nsecond line of detail")


def test_an_unexpected_failure_is_one_line_and_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("LENS_DEBUG", raising=False)
    monkeypatch.setattr(cli, "_views", _broken_views)
    assert cli.main(["--data-dir", str(tmp_path / "data"), "views"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == ["lens: error: views failed: RuntimeError: disk went away (set LENS_DEBUG=1 for the traceback)"]


def test_lens_debug_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENS_DEBUG", "1")
    monkeypatch.setattr(cli, "_views", _broken_views)
    with pytest.raises(RuntimeError, match="disk went away"):
        cli.main(["--data-dir", str(tmp_path / "data"), "views"])
