"""Users file, roles, and the refusal to serve beyond loopback without sign-in."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import bcrypt
import pytest
import yaml

from rag.access.users import (
    add_user,
    check_serving,
    is_loopback,
    list_users,
    load_auth_config,
    remove_user,
)
from rag.errors import ConfigError
from rag.settings import Settings

REPO = Path(__file__).resolve().parents[3]
PASSWORD = "Tulip-Orbit-83"


def run_cli(*args: str, stdin: str = "", env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], input=stdin, capture_output=True, text=True,
        cwd=REPO, env={**os.environ, **(env or {})}, timeout=120,
    )


def test_a_user_is_stored_with_a_bcrypt_hash_and_roles_in_a_private_file(tmp_path):
    path = tmp_path / "conf" / "users.yaml"
    admin = add_user(path, "alice", PASSWORD, name="Alice A.", admin=True)
    user = add_user(path, "bob", "Bob-password-2")
    assert admin.is_admin and not user.is_admin
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert PASSWORD not in text
    data = yaml.safe_load(text)
    stored = data["credentials"]["usernames"]["alice"]
    assert bcrypt.checkpw(PASSWORD.encode(), stored["password"].encode())
    assert stored["roles"] == ["admin"] and stored["name"] == "Alice A."
    assert len(data["cookie"]["key"]) >= 32
    assert [u.username for u in list_users(path)] == ["alice", "bob"]
    assert not list(path.parent.glob(".users-*"))  # no temp file left behind


def test_the_cookie_key_survives_adding_and_removing_users(tmp_path):
    path = tmp_path / "users.yaml"
    add_user(path, "alice", PASSWORD, admin=True)
    key = load_auth_config(path).cookie_key
    add_user(path, "bob", PASSWORD)
    remove_user(path, "bob")
    assert load_auth_config(path).cookie_key == key
    assert [u.username for u in list_users(path)] == ["alice"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("Alice", PASSWORD, "not valid"),
        ("a b", PASSWORD, "not valid"),
        ("alice", "short1!", "shorter than 8"),
        ("alice", " " + PASSWORD, "space"),
        ("alice", "é" * 40, "longer than 72 bytes"),
    ],
)
def test_bad_names_and_passwords_are_refused_without_echoing_the_password(
    tmp_path, username, password, reason
):
    with pytest.raises(ConfigError, match=reason) as info:
        add_user(tmp_path / "users.yaml", username, password)
    assert password.strip() not in str(info.value)
    assert not (tmp_path / "users.yaml").exists()


def test_a_duplicate_user_and_a_plain_text_password_are_refused(tmp_path):
    path = tmp_path / "users.yaml"
    add_user(path, "alice", PASSWORD)
    with pytest.raises(ConfigError, match="already exists"):
        add_user(path, "alice", "Another-pass-9")
    data = yaml.safe_load(path.read_text())
    data["credentials"]["usernames"]["alice"]["password"] = "plain-text-password"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="no bcrypt-hashed password") as info:
        load_auth_config(path)
    assert "plain-text-password" not in str(info.value)


def test_a_broken_users_file_is_named_without_quoting_its_content(tmp_path):
    path = tmp_path / "users.yaml"
    path.write_text("cookie: {key: 'sekrit-value-that-must-not-show\n")
    with pytest.raises(ConfigError, match="Cannot read") as info:
        load_auth_config(path)
    assert "sekrit" not in str(info.value)
    with pytest.raises(ConfigError, match="does not exist"):
        load_auth_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.1.1", "localhost", "::1", "[::1]"])
def test_loopback_addresses(address):
    assert is_loopback(address)


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "192.168.1.10", "db.internal", "", None])
def test_other_addresses_reach_the_network(address):
    assert not is_loopback(address)


def test_serving_beyond_loopback_needs_sign_in(tmp_path):
    check_serving("127.0.0.1", Settings())  # today's app: no sign-in, loopback only
    with pytest.raises(ConfigError, match=r"Refusing to serve 0\.0\.0\.0 without sign-in") as info:
        check_serving("0.0.0.0", Settings())
    assert "python -m rag users add" in str(info.value)
    assert "RAG_AUTH__CONFIG_FILE" in str(info.value)
    with pytest.raises(ConfigError, match="every network interface"):
        check_serving(None, Settings())
    path = tmp_path / "users.yaml"
    configured = Settings(auth={"config_file": path})
    with pytest.raises(ConfigError, match="does not exist"):  # never a silent fallback
        check_serving("0.0.0.0", configured)
    add_user(path, "alice", PASSWORD, admin=True)
    check_serving("0.0.0.0", configured)


def test_cli_adds_a_user_from_stdin_and_serve_check_refuses_then_allows(tmp_path):
    path = tmp_path / "users.yaml"
    refused = run_cli("serve-check", "0.0.0.0")
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "python -m rag users add NAME --admin" in refused.stderr

    added = run_cli("users", "add", "alice", "--admin", "--file", str(path),
                    stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout + added.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    listed = run_cli("users", "list", "--file", str(path))
    assert listed.stdout.split()[:2] == ["alice", "admin"]

    weak = run_cli("users", "add", "bob", "--file", str(path), stdin="weak\n")
    assert weak.returncode == 2 and "weak" not in weak.stderr

    allowed = run_cli("serve-check", "0.0.0.0", env={"RAG_AUTH__CONFIG_FILE": str(path)})
    assert allowed.returncode == 0, allowed.stderr
    assert run_cli("serve-check", "127.0.0.1").returncode == 0


def test_make_run_on_a_network_address_without_sign_in_stops_before_anything_starts():
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_AUTH__")}
    # -o: the installed venv counts as up to date (this test checks the run recipe, not pip).
    result = subprocess.run(
        ["make", "-o", ".venv/.installed", "run", "ADDRESS=0.0.0.0", "PORT=1",
         f"PY={sys.executable}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert ours == [
        "error: Refusing to serve 0.0.0.0 without sign-in: add a user with `python -m rag "
        "users add NAME --admin` and set RAG_AUTH__CONFIG_FILE to the file it names (README: "
        "Serving to a team)."
    ]
    assert "ingest" not in result.stdout and "streamlit" not in result.stdout
