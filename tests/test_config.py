"""lens.toml and the identity file: every wrong value is one ConfigError naming the file and key."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from lens_etl.__main__ import main
from lens_etl.config import load_settings
from lens_etl.errors import ConfigError
from lens_etl.identity import load_identity


def settings_from(tmp_path: Path, toml: str):
    config = tmp_path / "lens.toml"
    config.write_text(toml)
    return load_settings(tmp_path / "data", config, env={})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[lens]\nretention_days = -1\n", "[lens] retention_days must be a whole number of at least 1"),
        ("[lens]\nretention_days = 0\n", "[lens] retention_days must be a whole number of at least 1"),
        ("[lens]\nretention_days = true\n", "[lens] retention_days must be a whole number"),
        ("[lens]\nbatch_mb = 0\n", "[lens] batch_mb must be a number of megabytes from 1 to 4096"),
        ("[lens]\nbatch_mb = 0.0000001\n", "[lens] batch_mb must be"),
        ("[lens]\nbatch_mb = -1\n", "[lens] batch_mb must be"),
        ("[lens]\nbatch_mb = inf\n", "[lens] batch_mb must be"),
        ("[lens]\nbatch_mb = nan\n", "[lens] batch_mb must be"),
        ("[lens]\nbatch_mb = '32'\n", "[lens] batch_mb must be"),
        ("[lens]\nwrite_buffer_mb = -1\n", "[lens] write_buffer_mb must be"),
        ("[lens]\npreview_chars = -5\n", "[lens] preview_chars must be a whole number of at least 0"),
        ("[lens]\ncompact_min_files = 0\n", "[lens] compact_min_files must be"),
        ("[lens]\nproject = 5\n", "[lens] project must be a string"),
        ("lens = 5\n", "[lens] must be a table"),
        ('lake = "s3://x"\n', "[lake] must be a table"),
        ('identity = "f"\n', "[identity] must be a table"),
        ("redaction = 5\n", "[redaction] must be a table"),
        ("sources = []\n", "[sources] must be a table"),
        ("alerts = 1\n", "[alerts] must be a table"),
        ("[lake]\nurl = 5\n", "[lake] url must be a string"),
        ("[identity]\nfile = 5\n", "[identity] file must be a string"),
        ("[redaction]\ncustom = 5\n", "[redaction] custom must be a list"),
        ("[redaction]\nnope = false\n", "[redaction]: unknown pattern 'nope'"),
        # a misspelt key would leave its setting silently off
        ("[lens]\nretention_day = 90\n", "unknown [lens] key retention_day (did you mean retention_days?)"),
        ("[foo]\nx = 1\n", "unknown table [foo] (known: alerts, identity, lake, lens, redaction, sources)"),
        ('[alerts]\nwebhook = "https://hooks.example.com/x"\n', "unknown [alerts] key webhook (did you mean webhooks?)"),
        ('[sources.arize]\nspace_id = "s"\nproject = "p"\nlookback = 3\n', "unknown [sources.arize] key lookback (did you mean lookback_days?)"),
        ('[[sources.phoenix]]\nurl = "http://127.0.0.1:6006"\nretry = 2\n', "unknown [sources.phoenix] key retry (did you mean retries?)"),
        ('[sources.jaeger]\nurl = "x"\n', "unknown [sources] key jaeger"),
    ],
)
def test_a_wrong_setting_is_named_with_the_file_and_key(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(tmp_path, toml)
    assert message in str(caught.value)
    assert str(tmp_path / "lens.toml") in str(caught.value)


def test_good_settings_load(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, "[lens]\nretention_days = 90\nbatch_mb = 1.5\nwrite_buffer_mb = 0\npreview_chars = 0\n")
    assert settings.retention_days == 90
    assert settings.batch_bytes == int(1.5 * 1024 * 1024)
    assert settings.write_buffer_bytes == 0 and settings.preview_chars == 0


def test_the_shipped_lens_toml_with_every_example_uncommented_loads(tmp_path: Path) -> None:
    """Every key the commented examples show is one Lens knows."""
    shipped = (Path(__file__).resolve().parent.parent / "lens.toml").read_text(encoding="utf-8")
    example = re.compile(r"# (\[[a-z.]+\]\s*$|[a-z_]+ = )")
    examples = "\n".join(line[2:] if example.match(line) else line for line in shipped.splitlines())
    examples = examples.replace('file = "data/samples/identity.yaml"', "")
    settings = settings_from(tmp_path, examples)
    assert settings.sources["arize"]["follow_every"] == "5m" and settings.lake_url


def test_no_retention_setting_keeps_everything(tmp_path: Path) -> None:
    assert settings_from(tmp_path, "[lens]\nproject = 'p'\n").retention_days is None


def test_a_lens_toml_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    config = tmp_path / "lens.toml"
    config.write_bytes(b"[lens]\nproject = '\xff\xfe'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(tmp_path / "data", config, env={})


def test_an_identity_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "identity.yaml"
    path.write_bytes(b"developers:\n  \xff\xfe: {team: x}\n")
    with pytest.raises(ConfigError, match="identity.yaml: identity file is not UTF-8"):
        load_identity(path)


@pytest.mark.parametrize("toml", ["lens = 5\n", "[lens]\nbatch_mb = inf\n", "[lens]\nretention_days = -1\n"])
def test_the_cli_shows_a_bad_setting_as_one_line(tmp_path: Path, toml: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "lens.toml"
    config.write_text(toml)
    assert main(["--data-dir", str(tmp_path / "data"), "--config", str(config), "views"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lens.toml" in err


@pytest.mark.parametrize("command", [["doctor"], ["views"], ["ingest", "files", "x.jsonl"]])
def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "lens.toml"
    config.write_text("[lens]\nproject = 'p'\n")
    (tmp_path / "x.jsonl").write_text('{"context.span_id": "s1"}\n')
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file")
    for data_dir in (not_a_folder, not_a_folder / "inner"):
        assert main(["--data-dir", str(data_dir), "--config", str(config), *command]) == 2
        captured = capsys.readouterr()
        assert captured.err.count("\n") == 1 and "not a folder" in captured.err and "--data-dir" in captured.err
        assert "lake healthy" not in captured.out
    assert not_a_folder.read_text() == "a file"


def test_lens_toml_data_dir_that_is_a_file_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "store").write_text("a file")
    with pytest.raises(ConfigError, match=r"lens.toml \[lens\] data_dir must name a folder"):
        load_settings(None, _write(tmp_path, "[lens]\ndata_dir = 'store'\n"), env={})


def _write(tmp_path: Path, toml: str) -> Path:
    config = tmp_path / "lens.toml"
    config.write_text(toml)
    return config
