"""LangChain's standard chat-model suites, run on our chat models.

The integration suite runs the real packaged SmolLM2-135M (8 new tokens per call). The
features a 135M text-only model lacks (tools, structured output, images, audio, PDF) are
switched off through the suite's own properties; nothing is skipped by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from rag.llm.local import LocalChatModel
from rag.settings import Settings

# The suites' async tests carry no marker and pytest-asyncio runs in strict mode; the suites
# forbid overriding their tests, so the module is marked, and pytest-asyncio's warning that
# sync tests need no such mark is silenced.
pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore:The test <Function test_.*asyncio:pytest.PytestWarning"),
]


class _LocalModelSetup:
    """What both standard suites need to know about the packaged local model."""

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return LocalChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # Short replies keep the suites within a few minutes on two CPU cores.
        return {"max_new_tokens": 8, "cache_dir": Settings().cache_dir}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False


class TestLocalChatModelUnit(_LocalModelSetup, ChatModelUnitTests):
    pass


@pytest.mark.slow
class TestLocalChatModelIntegration(_LocalModelSetup, ChatModelIntegrationTests):
    @property
    def supports_json_mode(self) -> bool:
        return False

    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def supports_image_urls(self) -> bool:
        return False

    @property
    def supports_pdf_inputs(self) -> bool:
        return False

    @property
    def supports_audio_inputs(self) -> bool:
        return False

    @property
    def supports_video_inputs(self) -> bool:
        return False

    @property
    def supports_anthropic_inputs(self) -> bool:
        return False

    @property
    def supports_image_tool_message(self) -> bool:
        return False

    @property
    def supports_pdf_tool_message(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True
