"""Both remote backends against a REAL OpenAI-compatible server: `transformers serve` running
the converted SmolLM2 folder on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from rag.llm import check_connection, get_chat_model
from rag.llm.presets import load_decoding_preset
from rag.settings import LLMSettings, Settings
from tests.servers.transformers_serve import transformers_serve

pytestmark = [pytest.mark.slow, pytest.mark.server]

QUESTION = [HumanMessage("What is the capital of France?")]


@pytest.fixture(scope="module")
def served(smollm2_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with transformers_serve(smollm2_folder, tmp_path_factory.mktemp("serve")) as url:
        yield url


def stream_text(settings: Settings) -> list[str]:
    decoding = load_decoding_preset("greedy").model_copy(update={"max_new_tokens": 8})
    model = get_chat_model(settings, decoding)
    return [str(chunk.content) for chunk in model.stream(QUESTION)]


def test_openai_backend_streams_from_transformers_serve(served: str, smollm2_folder: Path):
    settings = Settings(llm=LLMSettings(backend="openai", base_url=f"{served}/v1",
                                        model=str(smollm2_folder), timeout_s=120))
    pieces = stream_text(settings)
    assert len([p for p in pieces if p]) >= 2
    assert "".join(pieces).strip()
    # transformers serve lists only hub-cache models, not a served local folder.
    assert check_connection(settings).startswith(f"connected to {served}/v1: ")


def test_huggingface_backend_streams_from_transformers_serve(served: str, smollm2_folder: Path):
    settings = Settings(llm=LLMSettings(backend="huggingface", base_url=served,
                                        model=str(smollm2_folder), timeout_s=120))
    pieces = stream_text(settings)
    assert len([p for p in pieces if p]) >= 2
    assert "".join(pieces).strip()
    assert check_connection(settings).endswith("the endpoint is healthy")
