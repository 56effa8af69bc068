"""Users, roles and the rule that a page served beyond this machine needs sign-in.

The users file is the YAML streamlit-authenticator reads (``credentials.usernames.<name>`` with
a bcrypt hash and roles, and ``cookie`` with the key that signs the sign-in cookie), written
here so the library's own format stays the one source of truth. The UI does the signing in
(``ui/auth.py``); this module never sees a session. Passwords are hashed before they leave
:func:`add_user` and no message here contains a password, a hash or the cookie key.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from rag.errors import ConfigError
from rag.settings import Settings

ADMIN_ROLE = "admin"
USER_ROLE = "user"
COOKIE_NAME = "doc_chat_signin"
# A week: long enough not to annoy a team, short enough that a copied cookie goes stale.
COOKIE_EXPIRY_DAYS = 7
# The sign-in form lower-cases the name and strips the password (streamlit-authenticator), so
# names are lower-case here and a password with outer spaces could never be typed back.
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further (and bcrypt 5 refuses longer)
SETUP_HINT = (
    "add a user with `python -m rag users add NAME --admin` and set "
    "RAG_AUTH__CONFIG_FILE to the file it names (README: Serving to a team)"
)


@dataclass(frozen=True)
class User:
    username: str
    name: str
    roles: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles


@dataclass(frozen=True)
class AuthConfig:
    """The users file as read: credentials in the library's shape, and the cookie settings."""

    credentials: dict[str, Any]
    cookie_name: str
    cookie_key: str
    cookie_expiry_days: float

    @property
    def users(self) -> dict[str, User]:
        return {
            name: User(name, str(entry.get("name") or name), tuple(entry.get("roles") or ()))
            for name, entry in self.credentials["usernames"].items()
        }


def default_users_file(settings: Settings) -> Path:
    return settings.auth.config_file or settings.data_dir / "users.yaml"


def load_auth_config(path: Path) -> AuthConfig:
    """Read and check the users file; a missing or malformed file is a ConfigError."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"Sign-in users file {path} does not exist: {SETUP_HINT}.") from exc
    except (OSError, yaml.YAMLError) as exc:
        # The YAML error can quote the file's text (hashes, the cookie key): name only its kind.
        raise ConfigError(
            f"Cannot read the sign-in users file {path}: {type(exc).__name__}"
        ) from exc
    try:
        usernames = data["credentials"]["usernames"]
        cookie = data["cookie"]
        config = AuthConfig(
            credentials={"usernames": dict(usernames or {})},
            cookie_name=str(cookie["name"]),
            cookie_key=str(cookie["key"]),
            cookie_expiry_days=float(cookie["expiry_days"]),
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise ConfigError(
            f"Sign-in users file {path} is not in the expected shape (credentials.usernames "
            "and cookie.name/key/expiry_days); recreate it with `python -m rag users add`."
        ) from exc
    for name, entry in config.credentials["usernames"].items():
        if not isinstance(entry, dict) or not str(entry.get("password", "")).startswith("$2"):
            raise ConfigError(
                f"User {name!r} in {path} has no bcrypt-hashed password; set it with "
                "`python -m rag users add`."
            )
    if len(config.cookie_key) < 32:
        raise ConfigError(f"The cookie key in {path} is shorter than 32 characters.")
    return config


def add_user(
    path: Path, username: str, password: str, *, name: str = "", admin: bool = False
) -> User:
    """Add a user with a bcrypt-hashed password; creates the file (and its cookie key)."""
    username = check_username(username)
    check_password(password)
    if Path(path).exists():
        config = load_auth_config(path)
        if username in config.credentials["usernames"]:
            raise ConfigError(
                f"User {username!r} already exists in {path}; remove it first "
                "(`python -m rag users remove`)."
            )
        data = _as_yaml(config)
    else:
        data = {
            "credentials": {"usernames": {}},
            "cookie": {"name": COOKIE_NAME, "key": secrets.token_urlsafe(32),
                       "expiry_days": COOKIE_EXPIRY_DAYS},
        }
    hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")
    roles = [ADMIN_ROLE] if admin else [USER_ROLE]
    data["credentials"]["usernames"][username] = {
        "name": name.strip() or username, "password": hashed, "roles": roles,
    }
    _write_private(Path(path), data)
    return User(username, name.strip() or username, tuple(roles))


def remove_user(path: Path, username: str) -> None:
    config = load_auth_config(path)
    if config.credentials["usernames"].pop(username.lower(), None) is None:
        raise ConfigError(f"No user {username!r} in {path}.")
    _write_private(Path(path), _as_yaml(config))


def list_users(path: Path) -> list[User]:
    return sorted(load_auth_config(path).users.values(), key=lambda u: u.username)


def check_username(username: str) -> str:
    if not _USERNAME.match(username):
        raise ConfigError(
            f"User name {username!r} is not valid: 1-64 lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit."
        )
    return username


def check_password(password: str) -> None:
    """Why a password cannot be used; the message never contains it."""
    if password != password.strip():
        raise ConfigError("The password starts or ends with a space (the sign-in form drops it).")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConfigError(f"The password is shorter than {MIN_PASSWORD_CHARS} characters.")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ConfigError(
            f"The password is longer than {MAX_PASSWORD_BYTES} bytes (bcrypt's limit)."
        )


# -- serving ---------------------------------------------------------------------------------
def is_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` is reachable from this machine only.

    No address counts as every interface: that is where Streamlit binds without one.
    """
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it resolves to whatever the network says


def check_serving(address: str | None, settings: Settings) -> None:
    """Refuse to serve beyond loopback without sign-in; with sign-in, its file must load."""
    if settings.auth.config_file is not None:
        if not load_auth_config(settings.auth.config_file).credentials["usernames"]:
            raise ConfigError(
                f"Sign-in users file {settings.auth.config_file} has no users: {SETUP_HINT}."
            )
        return
    if not is_loopback(address):
        where = address or "every network interface"
        raise ConfigError(f"Refusing to serve {where} without sign-in: {SETUP_HINT}.")


# -- file ------------------------------------------------------------------------------------
def _as_yaml(config: AuthConfig) -> dict[str, Any]:
    return {
        "credentials": config.credentials,
        "cookie": {"name": config.cookie_name, "key": config.cookie_key,
                   "expiry_days": config.cookie_expiry_days},
    }


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Write the file with mode 0600 from its first byte, replacing it whole (no torn file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".users-", suffix=".yaml", dir=path.parent)  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle, sort_keys=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
