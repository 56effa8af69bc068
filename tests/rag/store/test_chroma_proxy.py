"""The Chroma server behind the token-checking proxy (issue 17, finding 7).

Real processes on 127.0.0.1 free ports: ``python -m rag chroma-proxy`` starts ``chroma run`` and
Debian's nginx (``make proxy-deps``). A request without the token, or with a wrong one, is
refused by the proxy; the app's store with the right token adds and queries end to end, over
plain HTTP and over TLS with a self-signed certificate; the token shows up in no error, log or
output, and the configuration that holds it is private and gone after the proxy stops.
"""

from __future__ import annotations

import os
import secrets
import signal
import ssl
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from rag.errors import ConfigError, StoreError
from rag.settings import Settings, StoreSettings
from rag.store.chroma_proxy import NGINX, ProxyPlan, check_token, render_nginx_config
from rag.store.clients import get_client, list_collections, user_store_settings
from rag.store.index import DocumentIndex
from tests.rag.conftest import make_settings
from tests.servers.processes import free_port, stop_process

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[3]
TOKEN = secrets.token_urlsafe(32)
WRONG = secrets.token_urlsafe(32)
HEARTBEAT = "/api/v2/heartbeat"
COLLECTIONS = "/api/v2/tenants/default_tenant/databases/default_database/collections"


@dataclass
class RunningProxy:
    port: int
    process: subprocess.Popen
    output: Path
    access_log: Path
    ca_file: Path | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.ca_file else "http"

    def text(self) -> str:
        parts = [self.output.read_text(errors="replace")]
        if self.access_log.exists():
            parts.append(self.access_log.read_text(errors="replace"))
        return "\n".join(parts)

    def run_dir(self) -> Path:
        for line in self.output.read_text(errors="replace").splitlines():
            if line.startswith("nginx configuration"):
                return Path(line.split(": ", 1)[1].split(",")[0]).parent
        raise AssertionError(f"the proxy did not name its configuration:\n{self.text()}")


def status_of(proxy: RunningProxy, path: str, token: str | None) -> int:
    request = urllib.request.Request(f"{proxy.scheme}://127.0.0.1:{proxy.port}{path}")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    context = ssl.create_default_context(cafile=str(proxy.ca_file)) if proxy.ca_file else None
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def start_proxy(folder: Path, *tls_args: str, ca_file: Path | None = None) -> RunningProxy:
    if not NGINX.exists():
        pytest.fail("nginx missing: run `make proxy-deps` (apt-get install nginx)")
    port = free_port()
    output = folder / "proxy.out"
    access_log = folder / "access.log"
    env = {**os.environ, "RAG_STORE__TOKEN": TOKEN, "PYTHONPATH": str(REPO),
           "ANONYMIZED_TELEMETRY": "False"}
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "rag", "chroma-proxy", "--host", "127.0.0.1", "--port",
             str(port), "--data", str(folder / "data"), "--access-log", str(access_log),
             *tls_args],
            cwd=folder, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )
    proxy = RunningProxy(port, process, output, access_log, ca_file)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"chroma-proxy exited with {process.returncode}:\n{proxy.text()}")
        try:
            if status_of(proxy, HEARTBEAT, TOKEN) == 200:
                return proxy
        except OSError:
            pass
        time.sleep(0.3)
    stop_process(process, timeout=15)
    pytest.fail(f"chroma-proxy did not answer within 90 s:\n{proxy.text()}")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Iterator[RunningProxy]:
    running = start_proxy(tmp_path_factory.mktemp("chroma-proxy"))
    try:
        yield running
    finally:
        stop_process(running.process, timeout=30)


@pytest.fixture(scope="module")
def tls_proxy(tmp_path_factory) -> Iterator[RunningProxy]:
    folder = tmp_path_factory.mktemp("chroma-proxy-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    running = start_proxy(folder, "--tls-cert", str(cert), "--tls-key", str(key), ca_file=cert)
    try:
        yield running
    finally:
        stop_process(running.process, timeout=30)


def server_settings(tmp_path: Path, proxy: RunningProxy, token: str | None) -> Settings:
    settings = make_settings(tmp_path, "server", ("127.0.0.1", proxy.port))
    store = settings.store.model_copy(update={
        "token": SecretStr(token) if token else None,
        "ssl": proxy.ca_file is not None,
        "ca_file": proxy.ca_file,
    })
    return settings.model_copy(update={"store": store})


def add_and_query(settings: Settings, embeddings, tmp_path: Path) -> None:
    doc = tmp_path / "lighthouse.md"
    doc.write_text("# Skerry lighthouse\n\nThe lamp of the Skerry lighthouse is lit at dusk "
                   "and turns every 12 seconds.\n", encoding="utf-8")
    index = DocumentIndex(settings, embeddings=embeddings)
    report = index.ingest_paths([doc])
    assert report.failed == 0, report
    hits = index.search("How often does the Skerry lamp turn?", k=2)
    assert hits and "12 seconds" in hits[0].doc.page_content
    assert settings.store.collection in list_collections(get_client(settings))


# -- the proxy over HTTP ----------------------------------------------------------------------
def test_a_request_without_the_token_or_with_a_wrong_one_is_refused(proxy):
    for path in (HEARTBEAT, COLLECTIONS):
        assert status_of(proxy, path, None) == 401
        assert status_of(proxy, path, WRONG) == 401
        assert status_of(proxy, path, TOKEN.upper()) == 401  # compared exactly
        assert status_of(proxy, path, TOKEN) == 200


def test_the_store_with_the_token_adds_and_queries_end_to_end(proxy, embeddings, tmp_path):
    add_and_query(server_settings(tmp_path, proxy, TOKEN), embeddings, tmp_path)


def test_the_store_without_or_with_a_wrong_token_is_refused_without_showing_it(
    proxy, tmp_path
):
    for token in (None, WRONG):
        with pytest.raises(StoreError) as refused:
            get_client(server_settings(tmp_path, proxy, token))
        message = str(refused.value)
        assert "401" in message and f"127.0.0.1:{proxy.port}" in message, message
        assert "RAG_STORE__TOKEN" in message, message
        assert WRONG not in message and TOKEN not in message


def test_a_down_server_is_reported_without_the_token(tmp_path):
    settings = Settings(store=StoreSettings(mode="server", host="127.0.0.1", port=free_port(),
                                            token=SecretStr(TOKEN)))
    with pytest.raises(StoreError) as down:
        get_client(settings)
    assert TOKEN not in str(down.value) and TOKEN not in repr(down.value)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())


# -- TLS ------------------------------------------------------------------------------------
def test_over_tls_the_store_verifies_the_certificate_and_works(tls_proxy, embeddings,
                                                               tmp_path):
    assert status_of(tls_proxy, HEARTBEAT, None) == 401
    add_and_query(server_settings(tmp_path, tls_proxy, TOKEN), embeddings, tmp_path)


def test_over_tls_an_unknown_certificate_is_refused_without_the_token(tls_proxy, tmp_path):
    settings = server_settings(tmp_path, tls_proxy, TOKEN)
    unverified = settings.store.model_copy(update={"ca_file": None})
    with pytest.raises(StoreError, match=r"(?i)certificate") as refused:
        get_client(settings.model_copy(update={"store": unverified}))
    assert TOKEN not in str(refused.value)


# -- configuration that would expose the token -------------------------------------------------
def test_a_token_is_never_sent_in_clear_text_to_another_host():
    store = StoreSettings(mode="server", host="192.0.2.7", port=8000, token=SecretStr(TOKEN))
    with pytest.raises(ConfigError, match="clear text") as refused:
        get_client(Settings(store=store))
    assert TOKEN not in str(refused.value)
    with pytest.raises(ConfigError, match="clear text"):
        ProxyPlan(host="0.0.0.0", port=8000, data=Path("unused"))


def test_the_configured_token_goes_to_the_configured_server_only():
    base = StoreSettings(mode="server", host="db.internal", port=8000, ssl=True,
                         token=SecretStr(TOKEN))
    assert user_store_settings(base, {"host": "DB.internal "}).token is not None
    assert user_store_settings(base, {"host": "attacker.example"}).token is None
    assert user_store_settings(base, {"port": 8001}).token is None


@pytest.mark.parametrize("token", [None, "", "short-token", "x" * 40 + " space", "a" * 40 + '"'])
def test_unfit_tokens_are_refused_without_being_quoted(token):
    with pytest.raises(ConfigError, match="RAG_STORE__TOKEN") as refused:
        check_token(SecretStr(token) if token is not None else None)
    if token:
        assert token not in str(refused.value)


def test_the_template_is_filled_completely(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.touch()
    key.touch()
    plain = ProxyPlan(host="127.0.0.1", port=8000, data=tmp_path)
    tls = ProxyPlan(host="0.0.0.0", port=8443, data=tmp_path, tls_cert=cert, tls_key=key)
    for plan in (plain, tls):
        text = render_nginx_config(plan, TOKEN, tmp_path, 9000)
        assert "@" not in text, text
        assert f'"Bearer {TOKEN}"' in text and "proxy_pass http://127.0.0.1:9000;" in text
    assert "listen 0.0.0.0:8443 ssl;" in text and f'ssl_certificate "{cert}";' in text


# -- the launcher's own hygiene (last: it stops the module's proxy) -------------------------
def test_the_config_is_private_while_running_and_gone_after_a_clean_stop(proxy):
    run_dir = proxy.run_dir()
    config = run_dir / "nginx.conf"
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert TOKEN in config.read_text(encoding="utf-8")  # the one place it is written
    proxy.process.send_signal(signal.SIGTERM)
    assert proxy.process.wait(timeout=30) == 0, proxy.text()
    assert not run_dir.exists()
    assert TOKEN not in proxy.text() and WRONG not in proxy.text()
    assert "401" in proxy.access_log.read_text()  # refused requests are logged, tokens not
