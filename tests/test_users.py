"""`python -m lens_etl users …`: passwords from stdin, atomic YAML, one-line errors."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import bcrypt
import pytest
import yaml

from lens_etl.__main__ import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "credentials.yaml"
    monkeypatch.setenv("LENS_CREDENTIALS_FILE", str(path))
    monkeypatch.setenv("LENS_SECRETS_FILE", str(tmp_path / "secrets.toml"))
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path / "data"))
    return path


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def entry(path: Path, name: str) -> dict:
    return yaml.safe_load(path.read_text())["credentials"]["usernames"][name]


def test_add_set_role_reset_remove(env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(monkeypatch, capsys, "users", "add", "Alice", "--role", "developer", "--developer", "alice",
                       stdin="s3cret-pass\n")
    assert code == 0 and "alice added" in out
    user = entry(env, "alice")
    assert user["roles"] == ["developer"] and user["developer_id"] == "alice"
    assert bcrypt.checkpw(b"s3cret-pass", user["password"].encode()) and "s3cret" not in env.read_text()
    assert env.stat().st_mode & 0o077 == 0
    assert run(monkeypatch, capsys, "users", "set-role", "alice", "analyst")[0] == 0
    assert entry(env, "alice")["roles"] == ["analyst"]
    assert run(monkeypatch, capsys, "users", "reset", "ALICE", stdin="another-pass\n")[0] == 0
    assert bcrypt.checkpw(b"another-pass", entry(env, "alice")["password"].encode())
    code, out, _ = run(monkeypatch, capsys, "users", "list")
    assert "alice\tanalyst" in out
    assert run(monkeypatch, capsys, "users", "remove", "alice")[0] == 0
    assert "alice" not in yaml.safe_load(env.read_text())["credentials"]["usernames"]
    actions = list((env.parent / "data" / "audit").glob("*-user_change-*.parquet"))
    assert len(actions) == 4


@pytest.mark.parametrize("argv, stdin, message", [
    (["users", "add", "bob", "--role", "root"], "password1\n", "invalid choice"),
    (["users", "add", "bob", "--role", "developer"], "password1\n", "needs --developer"),
    (["users", "add", "bob", "--role", "admin"], "short\n", "too short"),
    (["users", "add", "bad name!", "--role", "admin"], "password1\n", "bad username"),
    (["users", "remove", "nobody"], "", "no user 'nobody'"),
    (["users", "reset", "nobody"], "password1\n", "no user 'nobody'"),
])
def test_mistakes_are_one_line(env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                               argv: list[str], stdin: str, message: str) -> None:
    try:
        code, out, err = run(monkeypatch, capsys, *argv, stdin=stdin)
    except SystemExit as exc:  # argparse: OneLineParser exits 2 itself
        code, (out, err) = exc.code, capsys.readouterr()
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_a_duplicate_user_is_refused(env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    assert run(monkeypatch, capsys, "users", "add", "bob", "--role", "admin", stdin="password1\n")[0] == 0
    code, _, err = run(monkeypatch, capsys, "users", "add", "BOB", "--role", "admin", stdin="password1\n")
    assert code == 2 and "already exists" in err


def test_bootstrap_makes_a_random_demo_admin_once(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(monkeypatch, capsys, "users", "bootstrap")
    password = out.split("password: ")[1].split()[0]
    assert code == 0 and len(password) >= 12
    assert bcrypt.checkpw(password.encode(), entry(env, "admin")["password"].encode())
    secrets_text = (env.parent / "secrets.toml").read_text()
    assert "cookie_key" in secrets_text and "demo = true" in secrets_text
    assert run(monkeypatch, capsys, "users", "bootstrap")[1] == ""  # users exist: nothing printed, nothing changed
    assert (env.parent / "secrets.toml").read_text() == secrets_text
