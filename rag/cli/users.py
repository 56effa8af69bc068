"""``python -m rag users add|list|remove`` and ``python -m rag serve-check ADDRESS``.

Registered in ``rag.cli.main`` through :func:`add_subcommands`. A password is read from the terminal
(asked twice, not echoed) or, when stdin is not a terminal, from its first line: never from
argv, where shell history and ``ps`` would keep it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from rag.access.users import add_user, check_serving, default_users_file, list_users, remove_user
from rag.errors import ConfigError
from rag.settings import Settings


def add_subcommands(subparsers: Any, common: argparse.ArgumentParser) -> None:
    users = subparsers.add_parser("users", help="sign-in users: add, list, remove")
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    file_help = "users file (default: RAG_AUTH__CONFIG_FILE, else <data dir>/users.yaml)"

    add = actions.add_parser("add", help="add a user; the password is read from stdin")
    add.add_argument("username", metavar="NAME", help="sign-in name (lower case)")
    add.add_argument("--admin", action="store_true", help="may change server-wide settings")
    add.add_argument("--display-name", default="", help="name shown in the app")
    add.add_argument("--file", type=Path, help=file_help)
    add.set_defaults(handler=run_users_add)

    listing = actions.add_parser("list", help="list users and their roles")
    listing.add_argument("--file", type=Path, help=file_help)
    listing.set_defaults(handler=run_users_list)

    remove = actions.add_parser("remove", help="remove a user (their chats stay on disk)")
    remove.add_argument("username", metavar="NAME")
    remove.add_argument("--file", type=Path, help=file_help)
    remove.set_defaults(handler=run_users_remove)

    check = subparsers.add_parser(
        "serve-check", help="exit 2 with the reason when ADDRESS may not be served as set up"
    )
    check.add_argument("address", metavar="ADDRESS", help="the address the app will bind")
    check.set_defaults(handler=run_serve_check)


def read_password(stream: Any = None) -> str:
    stream = stream or sys.stdin
    if stream.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise ConfigError("The two passwords differ.")
        return first
    return stream.readline().rstrip("\r\n")


def run_users_add(args: argparse.Namespace, settings: Settings) -> int:
    path = args.file or default_users_file(settings)
    user = add_user(path, args.username, read_password(), name=args.display_name,
                    admin=args.admin)
    print(f"added {user.username} ({', '.join(user.roles)}) to {path}")
    if settings.auth.config_file is None or Path(settings.auth.config_file) != Path(path):
        print(f"sign-in is on when the app runs with RAG_AUTH__CONFIG_FILE={path}")
    return 0


def run_users_list(args: argparse.Namespace, settings: Settings) -> int:
    path = args.file or default_users_file(settings)
    for user in list_users(path):
        print(f"{user.username:<24}  {', '.join(user.roles):<10}  {user.name}")
    return 0


def run_users_remove(args: argparse.Namespace, settings: Settings) -> int:
    path = args.file or default_users_file(settings)
    remove_user(path, args.username)
    print(f"removed {args.username} from {path}")
    return 0


def run_serve_check(args: argparse.Namespace, settings: Settings) -> int:
    check_serving(args.address, settings)  # a refusal is a ConfigError: one line, exit 2
    return 0
