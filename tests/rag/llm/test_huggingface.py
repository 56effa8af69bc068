"""The huggingface backend against a real HTTP server speaking TGI's chat-completions API."""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_tests.unit_tests import ChatModelUnitTests
from pydantic import SecretStr

from rag.errors import BackendError, ConfigError
from rag.llm import check_connection, get_chat_model
from rag.llm.huggingface import HFEndpointChatModel
from rag.llm.presets import load_decoding_preset
from rag.settings import LLMSettings, Settings
from tests.servers.http_stub import TEST_API_KEY as SECRET_KEY
from tests.servers.tgi_stub import TGIStub

MESSAGES = [
    SystemMessage("Answer briefly."),
    HumanMessage("Capital of Italy?"),
    AIMessage("Rome."),
    HumanMessage("What is the capital of France?"),
]


def settings_for(url: str, **llm: object) -> Settings:
    fields = {"backend": "huggingface", "base_url": url, "api_key": SecretStr(SECRET_KEY),
              "timeout_s": 5.0, "max_retries": 0, **llm}
    return Settings(llm=LLMSettings(**fields))


def assert_clean(err: BaseException) -> None:
    assert SECRET_KEY not in str(err)
    assert SECRET_KEY not in repr(err)


def test_works_with_hub_offline_switch_on(tgi_server: TGIStub, monkeypatch) -> None:
    # huggingface_hub's own client refuses every request in offline mode; ours must not.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = get_chat_model(settings_for(tgi_server.url), load_decoding_preset("greedy"))
    assert model.invoke(MESSAGES).content == tgi_server.state.reply
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_streams_reply_and_sends_decoding_params(tgi_server: TGIStub) -> None:
    decoding = load_decoding_preset("top_p").model_copy(update={"seed": 3, "max_new_tokens": 50})
    model = get_chat_model(settings_for(tgi_server.url, model="my/model"), decoding)

    chunks = [str(c.content) for c in model.stream(MESSAGES)]

    assert "".join(chunks) == tgi_server.state.reply
    assert len([c for c in chunks if c]) >= 2
    request = tgi_server.requests[-1]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert request.body == {
        "model": "my/model",
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Capital of Italy?"},
            {"role": "assistant", "content": "Rome."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        "stream": True,
        "max_tokens": 50,
        "temperature": 0.7,
        "top_p": 0.9,
        "seed": 3,
    }


def test_max_new_tokens_reaches_the_server(tgi_server: TGIStub) -> None:
    decoding = load_decoding_preset("greedy").model_copy(update={"max_new_tokens": 3})
    model = get_chat_model(settings_for(tgi_server.url), decoding)
    reply = model.invoke(MESSAGES)
    assert reply.content == "Paris is the"
    assert reply.response_metadata["finish_reason"] == "length"
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] == 3


def test_key_never_in_repr_or_logs(tgi_server: TGIStub, caplog) -> None:
    model = get_chat_model(settings_for(tgi_server.url), load_decoding_preset("greedy"))
    assert SECRET_KEY not in repr(model)
    with caplog.at_level(logging.DEBUG):
        model.invoke(MESSAGES)
        tgi_server.play("unauthorized")
        with pytest.raises(BackendError):
            model.invoke(MESSAGES)
    assert caplog.records
    assert SECRET_KEY not in caplog.text


def test_unauthorized(tgi_server: TGIStub) -> None:
    tgi_server.play("unauthorized")
    model = get_chat_model(settings_for(tgi_server.url), load_decoding_preset("greedy"))
    with pytest.raises(BackendError, match="401 Unauthorized: the API key was rejected") as info:
        list(model.stream(MESSAGES))
    assert_clean(info.value)


def test_overloaded_retries_then_reports(tgi_server: TGIStub) -> None:
    tgi_server.play("rate_limit")
    model = get_chat_model(settings_for(tgi_server.url, max_retries=1),
                           load_decoding_preset("greedy"))
    with pytest.raises(BackendError, match=r"429 Too Many Requests.*retry after 1s.*overloaded"):
        model.invoke(MESSAGES)
    assert len(tgi_server.requests) == 2


def test_stall_times_out(tgi_server: TGIStub) -> None:
    tgi_server.play("stall")
    model = get_chat_model(settings_for(tgi_server.url, timeout_s=1.0),
                           load_decoding_preset("greedy"))
    with pytest.raises(BackendError, match="timed out after 1s") as info:
        list(model.stream(MESSAGES))
    assert_clean(info.value)


def test_stream_cut_midway(tgi_server: TGIStub) -> None:
    tgi_server.play("cut")
    model = get_chat_model(settings_for(tgi_server.url), load_decoding_preset("greedy"))
    received: list[str] = []
    with pytest.raises(BackendError, match="cut before the reply was complete"):
        for chunk in model.stream(MESSAGES):
            received.append(str(chunk.content))
    assert "".join(received) == "Paris is"


def test_error_event_inside_the_stream(tgi_server: TGIStub) -> None:
    tgi_server.play("stream_error")
    model = get_chat_model(settings_for(tgi_server.url), load_decoding_preset("greedy"))
    with pytest.raises(BackendError, match="out of memory"):
        model.invoke(MESSAGES)


def test_check_connection(tgi_server: TGIStub) -> None:
    for base in (tgi_server.url, f"{tgi_server.url}/v1"):
        text = check_connection(settings_for(base))
        assert text == f"connected to {tgi_server.url}: the endpoint is healthy"
        assert tgi_server.requests[-1].path == "/health"
        assert tgi_server.requests[-1].headers["authorization"] == f"Bearer {SECRET_KEY}"
    tgi_server.play("unauthorized")
    with pytest.raises(BackendError, match="401 Unauthorized") as info:
        check_connection(settings_for(tgi_server.url))
    assert_clean(info.value)
    with pytest.raises(BackendError, match=r"cannot connect to .*: connection refused"):
        check_connection(settings_for("http://127.0.0.1:9"))


def test_missing_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"llm\.base_url"):
        get_chat_model(settings_for(""), load_decoding_preset("greedy"))


class TestHFEndpointChatModelUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return HFEndpointChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"base_url": "http://127.0.0.1:9", "model": "tgi"}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False
