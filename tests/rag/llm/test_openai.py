"""The openai backend against a real HTTP server speaking the OpenAI protocol."""

from __future__ import annotations

import logging
import socket

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import SecretStr

from rag.errors import BackendError, ConfigError
from rag.llm import check_connection, get_chat_model
from rag.llm.presets import load_decoding_preset
from rag.settings import LLMSettings, Settings
from tests.servers.http_stub import TEST_API_KEY as SECRET_KEY
from tests.servers.openai_stub import OpenAIStub

MESSAGES = [SystemMessage("Answer briefly."), HumanMessage("What is the capital of France?")]


def settings_for(url: str, **llm: object) -> Settings:
    fields = {"backend": "openai", "model": "stub-model", "base_url": url,
              "api_key": SecretStr(SECRET_KEY), "timeout_s": 5.0, "max_retries": 0, **llm}
    return Settings(llm=LLMSettings(**fields))


def assert_clean(err: BaseException) -> None:
    assert SECRET_KEY not in str(err)
    assert SECRET_KEY not in repr(err)


def test_streams_reply_and_sends_decoding_params(openai_server: OpenAIStub) -> None:
    decoding = load_decoding_preset("top_p").model_copy(update={"seed": 7, "max_new_tokens": 12})
    model = get_chat_model(settings_for(openai_server.url), decoding)

    chunks = [c.content for c in model.stream(MESSAGES)]

    assert "".join(chunks) == openai_server.state.reply
    assert len([c for c in chunks if c]) >= 2  # really streamed, piece by piece
    request = openai_server.requests[-1]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET_KEY}"
    body = request.body
    assert body["model"] == "stub-model"
    assert body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    assert body["stream"] is True
    assert body["temperature"] == 0.7
    assert body["top_p"] == 0.9
    assert body["max_completion_tokens"] == 12
    assert body["seed"] == 7
    # The OpenAI API has no such fields: they must not be sent (a strict server rejects them).
    assert "top_k" not in body and "repetition_penalty" not in body


def test_greedy_sends_temperature_zero_and_invoke_works(openai_server: OpenAIStub) -> None:
    model = get_chat_model(settings_for(openai_server.url), load_decoding_preset("greedy"))
    reply = model.invoke(MESSAGES)
    assert reply.content == openai_server.state.reply
    body = openai_server.requests[-1].body
    assert body["temperature"] == 0.0
    assert "top_p" not in body or body["top_p"] is None


def test_key_never_in_repr_or_logs(openai_server: OpenAIStub, caplog) -> None:
    model = get_chat_model(settings_for(openai_server.url), load_decoding_preset("greedy"))
    assert SECRET_KEY not in repr(model)
    assert SECRET_KEY not in str(settings_for(openai_server.url))
    with caplog.at_level(logging.DEBUG):
        model.invoke(MESSAGES)
        openai_server.play("unauthorized")
        with pytest.raises(BackendError):
            model.invoke(MESSAGES)
    assert caplog.records  # the clients did log at debug level
    assert SECRET_KEY not in caplog.text


def test_unauthorized_says_key_rejected(openai_server: OpenAIStub) -> None:
    openai_server.play("unauthorized")
    model = get_chat_model(settings_for(openai_server.url), load_decoding_preset("greedy"))
    with pytest.raises(BackendError, match="401 Unauthorized: the API key was rejected") as info:
        list(model.stream(MESSAGES))
    assert_clean(info.value)


def test_wrong_key_is_rejected_and_not_echoed(openai_server: OpenAIStub) -> None:
    wrong = "sk-wrong-key-0123456789"
    model = get_chat_model(settings_for(openai_server.url, api_key=SecretStr(wrong)),
                           load_decoding_preset("greedy"))
    with pytest.raises(BackendError, match="401") as info:
        model.invoke(MESSAGES)
    assert wrong not in str(info.value)


def test_rate_limit_retries_then_reports_retry_after(openai_server: OpenAIStub) -> None:
    openai_server.play("rate_limit")
    model = get_chat_model(settings_for(openai_server.url, max_retries=1),
                           load_decoding_preset("greedy"))
    with pytest.raises(BackendError, match=r"429 Too Many Requests.*retry after 1s") as info:
        model.invoke(MESSAGES)
    assert len(openai_server.requests) == 2  # one retry, honouring retry-after
    assert_clean(info.value)


def test_stall_times_out(openai_server: OpenAIStub) -> None:
    openai_server.play("stall")
    model = get_chat_model(settings_for(openai_server.url, timeout_s=1.0),
                           load_decoding_preset("greedy"))
    with pytest.raises(BackendError, match=r"timed out after 1s") as info:
        list(model.stream(MESSAGES))
    assert_clean(info.value)


def test_stream_cut_midway_is_an_error_not_a_short_answer(openai_server: OpenAIStub) -> None:
    openai_server.play("cut")
    model = get_chat_model(settings_for(openai_server.url), load_decoding_preset("greedy"))
    received: list[str] = []
    with pytest.raises(BackendError, match="cut before the reply was complete") as info:
        for chunk in model.stream(MESSAGES):
            received.append(str(chunk.content))
    assert "".join(received)  # some text arrived before the cut
    assert_clean(info.value)


def test_connection_refused() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    model = get_chat_model(settings_for(url), load_decoding_preset("greedy"))
    with pytest.raises(BackendError, match=f"cannot connect to {url}: connection refused"):
        model.invoke(MESSAGES)
    with pytest.raises(BackendError, match="connection refused"):
        check_connection(settings_for(url))


def test_check_connection_success_and_failures(openai_server: OpenAIStub) -> None:
    text = check_connection(settings_for(openai_server.url))
    assert text == f"connected to {openai_server.url}: 1 model(s); model 'stub-model' is available"
    assert openai_server.requests[-1].path == "/v1/models"
    assert openai_server.requests[-1].headers["authorization"] == f"Bearer {SECRET_KEY}"

    openai_server.play("unauthorized")
    with pytest.raises(BackendError, match="401 Unauthorized") as info:
        check_connection(settings_for(openai_server.url))
    assert_clean(info.value)

    openai_server.play("stall")
    with pytest.raises(BackendError, match="timed out after 1s"):
        check_connection(settings_for(openai_server.url, timeout_s=1.0))


def test_missing_model_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"llm\.model"):
        get_chat_model(settings_for("http://127.0.0.1:1/v1", model=""),
                       load_decoding_preset("greedy"))


@pytest.mark.asyncio
async def test_async_stream_and_cut(openai_server: OpenAIStub) -> None:
    model = get_chat_model(settings_for(openai_server.url), load_decoding_preset("greedy"))
    pieces = [str(c.content) async for c in model.astream(MESSAGES)]
    assert "".join(pieces) == openai_server.state.reply
    openai_server.play("cut")
    with pytest.raises(BackendError, match="cut before the reply was complete") as info:
        [c async for c in model.astream(MESSAGES)]
    assert_clean(info.value)
