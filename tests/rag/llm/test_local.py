"""The local backend with the real packaged SmolLM2-135M model (short generations only)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from rag.llm import check_connection, get_chat_model
from rag.llm.local import LocalChatModel, convert_gguf, converted_folder, packaged_gguf_path
from rag.llm.presets import load_decoding_preset
from rag.settings import Settings

pytestmark = pytest.mark.slow

MESSAGES = [
    SystemMessage("You are a helpful assistant."),
    HumanMessage("Write a long story about a dragon who lives in a castle."),
]


def local_model(cache_dir: Path, preset: str = "greedy", **update: object) -> LocalChatModel:
    decoding = load_decoding_preset(preset).model_copy(update=update)
    model = get_chat_model(Settings(cache_dir=cache_dir), decoding)
    assert isinstance(model, LocalChatModel)
    return model


def generator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "local-llm-generate"]


def test_streams_token_by_token(project_cache_dir: Path) -> None:
    model = local_model(project_cache_dir, max_new_tokens=12)
    chunks = [str(c.content) for c in model.stream(MESSAGES)]
    assert len([c for c in chunks if c]) >= 2
    assert "".join(chunks).strip()


def test_greedy_is_deterministic(project_cache_dir: Path) -> None:
    model = local_model(project_cache_dir, max_new_tokens=12)
    first = model.invoke(MESSAGES).content
    assert first and model.invoke(MESSAGES).content == first


def test_seeded_sampling_repeats_and_differs_from_greedy(project_cache_dir: Path) -> None:
    sampled = local_model(project_cache_dir, "creative", max_new_tokens=8, seed=11)
    one, two = sampled.invoke(MESSAGES).content, sampled.invoke(MESSAGES).content
    assert one == two
    greedy = local_model(project_cache_dir, max_new_tokens=8).invoke(MESSAGES).content
    assert one != greedy


def test_max_new_tokens_is_honoured(project_cache_dir: Path) -> None:
    model = local_model(project_cache_dir, max_new_tokens=5)
    reply = model.invoke(MESSAGES)
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] <= 5
    assert reply.response_metadata["finish_reason"] == "length"
    assert model.count_tokens(str(reply.content)) <= 6  # re-tokenising may merge or split one


def test_cancel_event_stops_generation_early(project_cache_dir: Path) -> None:
    model = local_model(project_cache_dir, max_new_tokens=200)
    cancel = threading.Event()
    pieces: list[str] = []
    usage = None
    for chunk in model.stream(MESSAGES, cancel=cancel):
        pieces.append(str(chunk.content))
        usage = chunk.usage_metadata or usage
        if len(pieces) == 3:
            cancel.set()
    assert len(pieces) <= 5  # the 3 read, at most one in flight, the closing usage chunk
    assert usage is not None and usage["output_tokens"] < 10  # not the 200 allowed
    assert not generator_threads()  # the background generate() has ended


def test_leaving_the_stream_early_ends_the_generation_thread(project_cache_dir: Path) -> None:
    model = local_model(project_cache_dir, max_new_tokens=200)
    stream = model.stream(MESSAGES)
    next(stream)
    next(stream)
    stream.close()
    assert not generator_threads()


def test_stop_sequence_cuts_the_reply(project_cache_dir: Path) -> None:
    model = local_model(project_cache_dir, max_new_tokens=16)
    full = str(model.invoke(MESSAGES).content)
    words = full.split()
    assert len(words) >= 3
    stop = f" {words[2]}"
    cut = str(model.invoke(MESSAGES, stop=[stop]).content)
    assert cut == full[: full.index(stop)]


def test_count_tokens_and_context_window(project_cache_dir: Path) -> None:
    model = local_model(project_cache_dir)
    assert model.context_window == 8192  # SmolLM2-135M config: max_position_embeddings
    assert model.count_tokens("") == 0
    assert 1 <= model.count_tokens("Paris") <= 2
    assert model.count_tokens("The capital of France is Paris.") > model.count_tokens("Paris")


def test_check_connection_reports_the_model(project_cache_dir: Path) -> None:
    text = check_connection(Settings(cache_dir=project_cache_dir))
    assert text.startswith("local model SmolLM2-135M-Instruct")
    assert "8192-token context" in text
    assert text.endswith(("bfloat16)", "float32)"))


def test_gguf_is_converted_once_then_reused(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    gguf = packaged_gguf_path()
    started = time.perf_counter()
    folder = convert_gguf(gguf, tmp_path)
    convert_seconds = time.perf_counter() - started
    assert folder == converted_folder(gguf, tmp_path)
    assert (folder / "config.json").is_file()
    assert [p.name for p in (tmp_path / "models").iterdir()] == [folder.name]  # no temp left

    stamp = (folder / "config.json").stat().st_mtime_ns
    started = time.perf_counter()
    assert convert_gguf(gguf, tmp_path) == folder
    assert time.perf_counter() - started < 0.5 < convert_seconds
    assert (folder / "config.json").stat().st_mtime_ns == stamp  # not rewritten

    started = time.perf_counter()
    reloaded = AutoModelForCausalLM.from_pretrained(folder)
    assert time.perf_counter() - started < convert_seconds / 2
    assert reloaded.config.architectures == ["LlamaForCausalLM"]
    shutil.rmtree(folder)  # 0.5 GB: do not leave it in pytest's kept temp folders


def test_bfloat16_holds_half_the_bytes_and_keeps_the_greedy_answer(project_cache_dir: Path) -> None:
    question = [HumanMessage("What is the capital of France? Answer in one word.")]
    full = local_model(project_cache_dir, max_new_tokens=24).model_copy(update={"dtype": "float32"})
    half = full.model_copy(update={"dtype": "bfloat16"})
    assert full.loaded is not half.loaded  # one cached model per dtype
    assert str(half.loaded.model.dtype) == "torch.bfloat16"
    assert str(full.loaded.model.dtype) == "torch.float32"
    # Weights only: a few small buffers (rotary frequencies) stay float32 by design.
    def weight_bytes(model: LocalChatModel) -> int:
        return sum(p.numel() * p.element_size() for p in model.loaded.model.parameters())

    assert weight_bytes(half) * 2 == weight_bytes(full)
    assert "Paris" in str(full.invoke(question).content)
    assert "Paris" in str(half.invoke(question).content)


def test_auto_dtype_follows_the_cpu_flags(tmp_path: Path) -> None:
    from rag.errors import ConfigError
    from rag.llm.local import native_bfloat16, resolve_dtype

    with_bf16 = tmp_path / "bf16"
    with_bf16.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n")
    without = tmp_path / "avx2"
    without.write_text("flags\t\t: fpu sse2 avx2 fma\n")
    assert native_bfloat16(with_bf16) and not native_bfloat16(without)
    assert not native_bfloat16(tmp_path / "missing")
    expected = "bfloat16" if native_bfloat16() else "float32"
    assert resolve_dtype("auto") == expected
    assert resolve_dtype("float32") == "float32"
    with pytest.raises(ConfigError, match="int4"):
        resolve_dtype("int4")
