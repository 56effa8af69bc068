"""Token streaming from ``model.generate`` running in a background thread.

The generating thread must end whenever the consumer stops: a Stop button sets a cancel
event, and a consumer that simply stops iterating closes the generator. Both reach the
thread through a StoppingCriteria checked after every token.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer, set_seed

from rag.errors import BackendError

# How long the consumer waits for the next token before checking the cancel event again.
_POLL_SECONDS = 0.2
# (input tokens, output tokens, finish reason) sent once, after the last text piece.
Usage = tuple[int, int, str]


class _EventStop(StoppingCriteria):
    """Stops generation as soon as the event is set (checked after each new token)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any):
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)


def _hold_back(text: str, stops: list[str]) -> int:
    """How many trailing characters could be the start of a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:n]):
                longest = max(longest, n)
                break
    return longest


def stream_generation(
    model: Any,
    tokenizer: Any,
    chat: list[dict[str, str]],
    generation_kwargs: dict[str, Any],
    *,
    seed: int | None,
    stop: list[str],
    cancel: threading.Event | None,
) -> Iterator[tuple[str, Usage | None]]:
    """Yield ``(text piece, None)`` per decoded token, then ``("", usage)`` once."""
    inputs = tokenizer.apply_chat_template(
        chat, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    input_len = int(inputs["input_ids"].shape[1])
    halt = threading.Event()  # set when the consumer leaves early or the caller cancels
    streamer = TextIteratorStreamer(
        tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=_POLL_SECONDS
    )
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            if seed is not None:
                set_seed(seed)
            with torch.inference_mode():
                result["output"] = model.generate(
                    **inputs,
                    **generation_kwargs,
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([_EventStop(halt)]),
                    pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                )
        except Exception as exc:  # handed to the consumer, which raises it as BackendError
            result["error"] = exc
            streamer.end()

    worker = threading.Thread(target=run, name="local-llm-generate", daemon=True)
    worker.start()
    text = ""
    sent = 0
    stopped_by = ""
    try:
        while True:
            if cancel is not None and cancel.is_set():
                stopped_by = "cancelled"
                break
            try:
                piece = next(streamer)
            except StopIteration:
                break
            except queue.Empty:  # no token within the poll interval: look at cancel again
                if not worker.is_alive() and streamer.text_queue.empty():
                    break
                continue
            text += piece
            hit = [text.index(s) for s in stop if s in text]
            if hit:
                text = text[: min(hit)]
                stopped_by = "stop"
                break
            ready = len(text) - _hold_back(text, stop)
            if ready > sent:
                yield text[sent:ready], None
                sent = ready
    finally:
        halt.set()
        worker.join()
    if "error" in result:
        raise BackendError(f"local generation failed: {result['error']}") from result["error"]
    if len(text) > sent:
        yield text[sent:], None
    output = result.get("output")
    produced = int(output.shape[1]) - input_len if output is not None else 0
    finish = stopped_by or ("length" if produced >= generation_kwargs["max_new_tokens"] else "stop")
    yield "", (input_len, produced, finish)
