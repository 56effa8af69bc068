"""A planted API key goes through a whole session and must surface nowhere but where it belongs.

One session, everything under tmp_path with DEBUG logging to a file: the openai backend
(stream, connection check, rejected key), ``python -m rag ask`` with the key in the
environment (accepted and rejected), a chat saved and exported as Markdown, and the Streamlit
app with the key typed into the sidebar's password field. Then every file under the session's
folders, the log, the captured outputs and the app's page are searched for the key. The stub
server must have received it in its Authorization header, so the key was really used.
"""

from __future__ import annotations

import html
import json
import logging
import os
from pathlib import Path

import pytest
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from rag.answer.chain import ChatService
from rag.answer.history import ChatHistory, history_path
from rag.answer.reply import AskRequest
from rag.errors import BackendError
from rag.llm import check_connection
from rag.settings import ChunkSettings, IngestSettings, LLMSettings, Settings, StoreSettings
from rag.store.index import DocumentIndex
from tests.reliability.helpers import REPO, rag_env, run_rag
from tests.servers.openai_stub import openai_stub

pytestmark = pytest.mark.slow

PLANTED = "sk-test-PLANTED-abc123XYZ"
WRONG = "sk-test-WRONG-def456UVW"  # a second secret: the rejected key must not leak either
REPLY = "The Zephyr-9 coffee machine must be descaled every 42 days [1]."
DOC = (
    "# Zephyr-9 coffee machine\n\n## Maintenance\n\nThe Zephyr-9 coffee machine must be "
    "descaled every 42 days. Descaling takes 18 minutes and uses the blue cleaning tablet.\n"
)
QUESTION = "How often must the Zephyr-9 coffee machine be descaled?"


def files_containing(root: Path, secrets: list[str]) -> list[str]:
    found = []
    needles = [s.encode() for s in secrets]
    for path in root.rglob("*"):
        if path.is_file() and any(n in path.read_bytes() for n in needles):
            found.append(str(path.relative_to(root)))
    return found


def bearer_tokens(server) -> set[str]:
    return {r.headers.get("authorization", "").removeprefix("Bearer ") for r in server.requests}


@pytest.fixture
def debug_log(tmp_path):
    """Every logger at DEBUG into a file for the test (undone afterwards)."""
    path = tmp_path / "session.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


@pytest.fixture
def session_env(tmp_path, monkeypatch):
    """The app's environment: data, index, cache and uploads under tmp_path/session."""
    root = tmp_path / "session"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "zephyr.md").write_text(DOC, encoding="utf-8")
    env = rag_env(root, root / "index")
    for key in ("RAG_STORE__MODE", "RAG_STORE__PATH", "RAG_DATA_DIR", "RAG_CACHE_DIR",
                "RAG_INGEST__UPLOAD_DIR", "RAG_CHUNKING__CHUNK_TOKENS",
                "RAG_CHUNKING__OVERLAP_TOKENS"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("RAG_LLM__API_KEY", raising=False)
    # Streamlit reads .streamlit/config.toml from the working directory when its options are
    # first asked for; from root it would find none, and the app refuses an unset address
    # (every interface) without sign-in. Read the repository's first.
    from streamlit import config as streamlit_config

    streamlit_config.get_option("server.address")
    monkeypatch.chdir(root)
    return root, env


def session_settings(root: Path, url: str, key: str) -> Settings:
    return Settings(
        data_dir=root / "data",
        cache_dir=root / "cache",
        store=StoreSettings(mode="disk", path=root / "index"),
        chunking=ChunkSettings(chunk_tokens=64, overlap_tokens=0),
        ingest=IngestSettings(upload_dir=root / "uploads"),
        llm=LLMSettings(backend="openai", model="stub-model", base_url=url,
                        api_key=SecretStr(key), max_retries=0, timeout_s=30),
    )


def test_planted_key_appears_nowhere_but_the_authorization_header(
    session_env, debug_log, embeddings, tmp_path, monkeypatch
):
    root, env = session_env
    outputs: list[str] = []
    with openai_stub(api_key=PLANTED, reply=REPLY) as server:
        settings = session_settings(root, server.url, PLANTED)
        index = DocumentIndex(settings, embeddings=embeddings)
        assert index.ingest_paths(["docs"]).failed == 0

        # The backend: connection check, a streamed answer, its repr and its settings.
        outputs.append(check_connection(settings))
        service = ChatService(index, settings=settings)
        answer = service.ask(AskRequest(question=QUESTION))
        assert answer.generated and "42" in answer.text, answer
        outputs += [repr(answer), repr(settings), str(settings.model_dump()),
                    settings.model_dump_json()]
        logging.getLogger("rag.secrets-test").debug("settings in a log line: %s", settings)

        # A rejected key: the stub's 401 echoes it, as OpenAI's does.
        wrong = session_settings(root, server.url, WRONG)
        with pytest.raises(BackendError) as rejected:
            ChatService(index, settings=wrong).ask(AskRequest(question=QUESTION))
        assert "401" in str(rejected.value)
        outputs += [str(rejected.value), repr(rejected.value)]
        with pytest.raises(BackendError) as refused:
            check_connection(wrong)
        outputs.append(str(refused.value))

        # The history store and its Markdown export (the user's download).
        history = ChatHistory(history_path(settings))
        chat = history.create()
        history.add_message(chat.id, "user", QUESTION)
        history.add_message(chat.id, "assistant", answer.text, sources=answer.sources,
                            path=answer.path)
        exported = root / "data" / "export.md"
        exported.write_text(history.export_markdown(chat.id), encoding="utf-8")
        assert "42" in exported.read_text(encoding="utf-8")

        # The CLI, key in the environment only (never in argv).
        args = ("ask", "--backend", "openai", "--base-url", server.url, "--model",
                "stub-model", QUESTION)
        cli = run_rag(root, {**env, "RAG_LLM__API_KEY": PLANTED}, *args)
        assert cli.returncode == 0, cli.stderr[-2000:]
        assert "42" in cli.stdout
        cli_wrong = run_rag(root, {**env, "RAG_LLM__API_KEY": WRONG}, *args)
        assert cli_wrong.returncode == 2 and "401" in cli_wrong.stderr, cli_wrong.stderr[-2000:]
        outputs += [cli.stdout, cli.stderr, cli_wrong.stdout, cli_wrong.stderr]

        # The app: key typed into the sidebar's password field, one question answered (the
        # admin allows the stub's URL: users may only type listed endpoints).
        monkeypatch.setenv("RAG_LLM__ALLOWED_ENDPOINTS", json.dumps([server.url]))
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
        at.selectbox(key="backend").select("openai").run()
        at.text_input(key="model-openai").input("stub-model")
        at.text_input(key="base_url-openai").input(server.url)
        at.text_input(key="api_key-openai").input(PLANTED).run()
        at.chat_input(key="chat_input").set_value(QUESTION).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        replies = [m for m in at.chat_message if m.name == "assistant"]
        # The reply is redrawn from the history store after the app's st.rerun().
        assert any("42" in md.value for m in replies for md in m.markdown), "no answer shown"
        page = [str(node.proto) for node in at._tree if getattr(node, "proto", None)]
        password_field = str(at.text_input(key="api_key-openai").proto)
        # As shown too: the app writes messages with character references (ui.untrusted).
        outputs += [html.unescape(p) for p in page if p != password_field]

        received = bearer_tokens(server)

    # The key was used: backend, CLI and app all authenticated with it.
    assert PLANTED in received and WRONG in received
    app_chats = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(app_chats) >= 3, "backend, CLI and app each asked the stub"
    for request in server.requests:  # and only in the header, never in a body
        assert PLANTED not in str(request.body)

    assert debug_log.stat().st_size > 0, "DEBUG logging captured nothing"
    leaks = [text[:300] for text in outputs if PLANTED in text or WRONG in text]
    assert not leaks, leaks
    assert not files_containing(tmp_path, [PLANTED, WRONG]), "key written to disk"
    assert os.environ.get("RAG_LLM__API_KEY") is None  # the test itself left nothing behind
