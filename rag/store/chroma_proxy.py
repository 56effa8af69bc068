"""``python -m rag chroma-proxy``: a Chroma server that answers only requests carrying the token.

Chroma 1.5's own server ignores its auth settings (started with a token provider and a
credential, it still lists collections to a request without one). So the token is checked in
front of it: ``chroma run`` listens on 127.0.0.1 only, and Debian's nginx (``make proxy-deps``)
listens on ``--host``/``--port``, answers 401 to any request whose ``Authorization`` header is
not ``Bearer <token>`` (what the app sends when ``store.token`` is set), strips the header
before Chroma, and terminates TLS when given a certificate and key.

The token comes from the settings (``RAG_STORE__TOKEN``, the variable the app's clients read
too), never from the command line, where ``ps`` would show it. The nginx configuration that has
to hold it is the template ``chroma_proxy.nginx.conf`` filled into a fresh run folder only this
user can open (folder 0700, file 0600), deleted when the proxy stops.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from rag.endpoints import is_loopback
from rag.errors import ConfigError, StoreError
from rag.settings import Settings

NGINX = Path("/usr/sbin/nginx")
CHROMA = Path(sys.executable).parent / "chroma"
TEMPLATE = Path(__file__).with_name("chroma_proxy.nginx.conf")
CONFIG_NAME = "nginx.conf"
# 32 URL-safe characters are 192 bits: guessing is hopeless even without rate limiting.
MIN_TOKEN_CHARS = 32
# The token sits in an HTTP header and in a quoted nginx string: no quotes, spaces or '$'.
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+/=-]+")
# Characters that would end or change a quoted nginx string.
_UNSAFE_IN_CONFIG = re.compile(r'["\\$;\n\r{}]')
_START_TIMEOUT_S = 90.0
_STOP_TIMEOUT_S = 15.0
TOKEN_ADVICE = (
    "set RAG_STORE__TOKEN (or CHROMA_TOKEN with make chroma-server) to a long random value, "
    "e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
)


def check_token(token: SecretStr | None) -> str:
    """The token's value if it is fit for the proxy; ConfigError (never quoting it) if not."""
    if token is None or not token.get_secret_value():
        raise ConfigError(f"the Chroma proxy needs a token: {TOKEN_ADVICE}")
    value = token.get_secret_value()
    if len(value) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"the Chroma token is too short ({len(value)} characters, at least "
            f"{MIN_TOKEN_CHARS}): {TOKEN_ADVICE}"
        )
    if not _TOKEN_CHARS.fullmatch(value):
        raise ConfigError(
            "the Chroma token may only hold letters, digits and . _ ~ + / = - (it travels in "
            f"an HTTP header): {TOKEN_ADVICE}"
        )
    return value


@dataclass(frozen=True)
class ProxyPlan:
    """Where the proxy listens, where Chroma keeps its data, and the TLS files if any."""

    host: str
    port: int
    data: Path
    chroma_port: int = 0  # 0: a free loopback port chosen at start
    tls_cert: Path | None = None
    tls_key: Path | None = None
    access_log: str = "/dev/stdout"  # a path, or "off"

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("TLS needs both --tls-cert and --tls-key")
        for path in (self.tls_cert, self.tls_key):
            if path is not None and not path.is_file():
                raise ConfigError(f"TLS file not found: {path}")
        if not self.tls and not is_loopback(self.host):
            raise ConfigError(
                f"the proxy would listen on {self.host} without TLS, so the token would cross "
                "the network in clear text: give --tls-cert and --tls-key (see the README's "
                "'Chroma server' recipe for a self-signed pair), or listen on 127.0.0.1"
            )
        texts = [self.access_log, str(self.data), str(self.tls_cert), str(self.tls_key)]
        if any(_UNSAFE_IN_CONFIG.search(text) for text in texts):
            raise ConfigError("paths for the proxy may not contain quotes, '$', ';' or braces")

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"


def render_nginx_config(plan: ProxyPlan, token: str, run_dir: Path, chroma_port: int) -> str:
    """The template filled in for ``plan`` (the text holds the token: keep it private)."""
    host = f"[{plan.host}]" if ":" in plan.host else plan.host
    tls = ""
    if plan.tls:
        tls = (
            f'        ssl_certificate "{plan.tls_cert}";\n'
            f'        ssl_certificate_key "{plan.tls_key}";\n'
            "        ssl_protocols TLSv1.2 TLSv1.3;\n"
        )
    values = {
        "RUN_DIR": str(run_dir),
        "ACCESS_LOG": plan.access_log,
        "LISTEN": f"{host}:{plan.port}" + (" ssl" if plan.tls else ""),
        "TLS": tls,
        "TOKEN": token,
        "CHROMA_PORT": str(chroma_port),
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def write_private(path: Path, text: str) -> None:
    """Create ``path`` readable and writable by this user only (never over an existing file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the launcher dies, so nothing is left listening."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ChromaProxy:
    """``chroma run`` on loopback behind nginx, as a context manager.

    On exit (or a failed start) both processes are stopped and the run folder, with the
    configuration holding the token, is deleted.
    """

    def __init__(self, plan: ProxyPlan, token: SecretStr | None,
                 nginx: Path = NGINX, chroma: Path = CHROMA) -> None:
        self.plan = plan
        self._token = check_token(token)
        self._nginx = nginx
        self._chroma = chroma
        self.run_dir: Path | None = None
        self.chroma_port = plan.chroma_port
        self._processes: dict[str, subprocess.Popen] = {}

    @property
    def config_path(self) -> Path:
        if self.run_dir is None:
            raise RuntimeError("the proxy is not running")
        return self.run_dir / CONFIG_NAME

    def __enter__(self) -> ChromaProxy:
        for program, advice in ((self._nginx, "run `make proxy-deps` (Debian's nginx)"),
                                (self._chroma, "run `make install`")):
            if not program.exists():
                raise ConfigError(f"{program} not found: {advice}")
        self.run_dir = Path(tempfile.mkdtemp(prefix="chroma-proxy-"))  # mode 0700
        try:
            self._start_chroma()
            self._start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_chroma(self) -> None:
        self.chroma_port = self.plan.chroma_port or _free_loopback_port()
        self.plan.data.mkdir(parents=True, exist_ok=True)
        self._processes["chroma run"] = subprocess.Popen(
            [str(self._chroma), "run", "--path", str(self.plan.data), "--host", "127.0.0.1",
             "--port", str(self.chroma_port)],
            preexec_fn=_die_with_parent,
        )
        url = f"http://127.0.0.1:{self.chroma_port}/api/v2/heartbeat"
        self._wait("chroma run", lambda: _answers(url))

    def _start_nginx(self) -> None:
        config = self.config_path
        write_private(
            config, render_nginx_config(self.plan, self._token, self.config_path.parent,
                                        self.chroma_port)
        )
        command = [str(self._nginx), "-p", str(config.parent), "-c", str(config), "-e", "stderr"]
        # Check first: a bad certificate is then one clear message, not a dying process.
        checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
        if checked.returncode != 0:
            reason = checked.stderr.replace(self._token, "***").strip()
            raise ConfigError(f"nginx refused the proxy configuration: {reason}")
        self._processes["nginx"] = subprocess.Popen(command, preexec_fn=_die_with_parent)
        probe = "127.0.0.1" if self.plan.host in ("0.0.0.0", "") else self.plan.host
        probe = "::1" if probe == "::" else probe
        self._wait("nginx", lambda: _listening(probe.strip("[]"), self.plan.port))

    def _wait(self, name: str, ready: Any) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.exited() is not None:
                raise StoreError(self._exit_reason())
            if ready():
                return
            time.sleep(0.3)
        raise StoreError(f"{name} did not start within {_START_TIMEOUT_S:g} s")

    def exited(self) -> str | None:
        """The name of a process that has stopped, or None while both run."""
        for name, process in self._processes.items():
            if process.poll() is not None:
                return name
        return None

    def _exit_reason(self) -> str:
        name = self.exited()
        code = self._processes[name].returncode if name else None
        return f"{name} exited with code {code} (its messages are above)"

    def wait(self, stop: threading.Event) -> None:
        """Until ``stop`` is set (returns) or a process dies (StoreError)."""
        while not stop.wait(0.5):
            if self.exited() is not None:
                raise StoreError(self._exit_reason())

    def stop(self) -> None:
        # nginx first: no request may reach a Chroma that is shutting down.
        for name in ("nginx", "chroma run"):
            process = self._processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_STOP_TIMEOUT_S)
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


# -- command line ---------------------------------------------------------------------------
def add_subcommands(subparsers: Any, common: argparse.ArgumentParser) -> None:
    proxy = subparsers.add_parser(
        "chroma-proxy",
        parents=[common],
        help="run a Chroma server behind nginx that requires the token (and does TLS)",
        description="chroma run on 127.0.0.1 behind Debian's nginx, which listens on "
        "--host/--port and refuses any request without 'Authorization: Bearer "
        "<RAG_STORE__TOKEN>'. Stop it with Ctrl-C or SIGTERM.",
    )
    proxy.add_argument("--data", type=Path, default=None,
                       help="chroma run's data folder (default: <data dir>/chroma-server)")
    proxy.add_argument("--chroma-port", type=int, default=0,
                       help="chroma run's loopback port behind nginx (default: a free one)")
    proxy.add_argument("--tls-cert", type=Path, default=None, help="certificate (PEM) for TLS")
    proxy.add_argument("--tls-key", type=Path, default=None, help="its private key (PEM)")
    proxy.add_argument("--access-log", default="/dev/stdout",
                       help="nginx access log: a file, or 'off' (request lines, never headers)")
    proxy.set_defaults(handler=run_chroma_proxy)


def run_chroma_proxy(args: argparse.Namespace, settings: Settings) -> int:
    plan = ProxyPlan(
        host=settings.store.host,
        port=settings.store.port,
        data=args.data or settings.data_dir / "chroma-server",
        chroma_port=args.chroma_port,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        access_log=args.access_log,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ChromaProxy(plan, settings.store.token) as proxy:
        print(f"Chroma at {plan.url}: every request needs 'Authorization: Bearer <token>' "
              f"(clients: RAG_STORE__TOKEN{', RAG_STORE__SSL=true' if plan.tls else ''}); "
              f"chroma run on 127.0.0.1:{proxy.chroma_port}, data in {plan.data}", flush=True)
        print(f"nginx configuration (it holds the token): {proxy.config_path}, mode 0600, "
              "deleted on exit", flush=True)
        proxy.wait(stop)
    return 0
