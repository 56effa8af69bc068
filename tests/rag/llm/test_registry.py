"""The backend registry, capabilities for the UI and errors for unknown names (no model load)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import SecretStr

from rag.errors import ConfigError
from rag.llm import (
    BACKENDS,
    DECODING_PARAMS,
    backend_capabilities,
    check_connection,
    get_chat_model,
)
from rag.llm.huggingface import HFEndpointChatModel
from rag.llm.local import LocalChatModel
from rag.llm.openai import GuardedChatOpenAI
from rag.llm.presets import load_decoding_preset
from rag.settings import LLMSettings, Settings


def test_registry_keys() -> None:
    assert list(BACKENDS) == ["local", "openai", "huggingface"]


def test_unknown_backend_lists_the_keys() -> None:
    settings = Settings(llm=LLMSettings(backend="llamacpp"))
    for call in (lambda: get_chat_model(settings, load_decoding_preset("greedy")),
                 lambda: check_connection(settings),
                 lambda: backend_capabilities("llamacpp")):
        with pytest.raises(ConfigError, match="'llamacpp'; available: local, openai, huggingface"):
            call()


def test_capabilities_say_what_is_honoured_and_why_not() -> None:
    local = backend_capabilities("local")
    assert local.honoured == DECODING_PARAMS
    assert local.reason("top_k") == ""
    openai_caps = backend_capabilities("openai")
    assert openai_caps.honoured == ("temperature", "top_p", "max_new_tokens", "seed")
    assert not openai_caps.honours("top_k")
    assert "no top_k" in openai_caps.reason("top_k")
    assert "repetition_penalty" in openai_caps.reason("repetition_penalty")
    hf = backend_capabilities("huggingface")
    assert set(hf.unsupported) == {"top_k", "repetition_penalty"}
    with pytest.raises(ConfigError, match="unknown decoding parameter"):
        hf.honours("beam_width")
    with pytest.raises(TypeError):
        hf.unsupported["seed"] = "no"  # type: ignore[index]  # frozen for the UI


def test_factories_build_the_right_models_without_loading_anything() -> None:
    decoding = load_decoding_preset("top_k")
    local = get_chat_model(Settings(), decoding)
    assert isinstance(local, LocalChatModel)
    assert (local.temperature, local.top_k, local.repetition_penalty) == (0.7, 40, 1.1)
    assert local._loaded is None  # weights load on first use, not at construction

    remote = LLMSettings(model="m", base_url="http://127.0.0.1:1/v1", api_key=SecretStr("k" * 8))
    openai_model = get_chat_model(Settings(llm=remote.model_copy(update={"backend": "openai"})),
                                  decoding)
    assert isinstance(openai_model, GuardedChatOpenAI)
    hf = get_chat_model(Settings(llm=remote.model_copy(update={"backend": "huggingface"})),
                        decoding)
    assert isinstance(hf, HFEndpointChatModel)


def test_with_decoding_swaps_parameters_and_keeps_the_weights() -> None:
    model = get_chat_model(Settings(), load_decoding_preset("greedy"))
    assert isinstance(model, LocalChatModel)
    hot = model.with_decoding(load_decoding_preset("creative"))
    assert (hot.temperature, hot.top_p, hot.seed) == (1.0, 0.95, 1234)
    assert model.temperature == 0.0


def test_importing_the_package_loads_no_model_library() -> None:
    code = "import sys, rag.llm; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
