"""``python -m rag ask "question"``: stream a cited answer to the terminal, then its sources.

Registered in ``rag.cli.main`` through :func:`add_subcommands`. The same ``ChatService`` the app
uses answers; API keys come from the environment (``RAG_LLM__API_KEY``), never from argv, so
they stay out of shell history and process lists.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import TYPE_CHECKING, Any, TextIO, get_args

from rag.answer.questions import check_question_length
from rag.settings import ReplyMode, Settings

if TYPE_CHECKING:
    from rag.answer.reply import AnswerStream

_SNIPPET_CHARS = 200
WITHDRAWN = "the text above is not supported by the sources"


def add_subcommands(subparsers: Any, common: argparse.ArgumentParser) -> None:
    ask = subparsers.add_parser(
        "ask", parents=[common], help="answer a question from the documents, with sources"
    )
    ask.add_argument("question", help="the question")
    ask.add_argument("--backend", help="LLM backend: local, openai or huggingface")
    ask.add_argument("--model", help="model folder/GGUF (local) or model name (remote)")
    ask.add_argument("--base-url", help="endpoint of an OpenAI-compatible or HF server")
    ask.add_argument("--reply", choices=get_args(ReplyMode),
                     help="who writes the reply: the LLM (generate), a quote of the best "
                     "sentence (quote), or auto: quote with the small local model (default)")
    ask.add_argument("--preset", help="prompt preset from prompts/ (default: grounded)")
    ask.add_argument("--decoding", help="decoding preset from prompts/decoding/")
    ask.add_argument("--mode", help="retrieval mode: dense, mmr, bm25 or hybrid")
    ask.add_argument("-k", type=int, help="chunks to retrieve")
    ask.add_argument("--temperature", type=float, help="override the decoding temperature")
    ask.set_defaults(handler=run_ask)


def settings_for_ask(args: argparse.Namespace, settings: Settings) -> Settings:
    llm = {
        key: value
        for key, value in (("backend", args.backend), ("model", args.model),
                           ("base_url", args.base_url))
        if value is not None
    }
    if llm:
        settings = settings.model_copy(update={"llm": settings.llm.model_copy(update=llm)})
    if args.reply is not None:
        settings = settings.model_copy(
            update={"answer": settings.answer.model_copy(update={"reply": args.reply})})
    return settings


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.answer.chain import ChatService
    from rag.answer.reply import AskRequest
    from rag.store.index import DocumentIndex

    # Before the index and models load: a refused question costs nothing.
    check_question_length(args.question, settings)
    settings = settings_for_ask(args, settings)
    service = ChatService(DocumentIndex(settings), settings=settings)
    overrides = (("temperature", args.temperature),) if args.temperature is not None else ()
    request = AskRequest(
        question=args.question,
        prompt_preset=args.preset,
        decoding_preset=args.decoding,
        decoding_overrides=overrides,
        retrieval_mode=args.mode,
        k=args.k,
    )
    write_answer(service.stream(request), sys.stdout)
    return 0


def write_answer(stream: AnswerStream, out: TextIO) -> None:
    """Stream the reply to ``out`` as it is generated, then the reply that stands and its
    sources. A terminal cannot take back what it printed: a generated text the grounding
    check rejected stays on screen, so it is marked as withdrawn before the quote replacing it.
    """
    streamed = []
    for piece in stream:
        streamed.append(piece)
        out.write(piece)
        out.flush()
    out.write("\n")
    answer = stream.answer
    assert answer is not None
    if answer.text != "".join(streamed).strip():
        if answer.path == "quoted":
            out.write(f"[withdrawn: {WITHDRAWN}]\n")
        out.write(f"\n{answer.text}\n")
    out.write(f"\n[{answer.path_label}]\n")
    if answer.standalone_question != answer.question:
        out.write(f"(searched for: {answer.standalone_question})\n")
    if answer.sources:
        heading = "Closest passages" if answer.path == "declined" else "Sources"
        out.write(f"\n{heading}:\n")
    for source in answer.sources:
        mark = "*" if source.number in answer.cited else " "
        where = f"{source.source} · {source.locator}" if source.locator else source.source
        read_by = " · text read by OCR" if source.ocr else ""  # may hold misread words
        out.write(f"{mark}[{source.number}] {where}  (score {source.score:.2f}){read_by}\n")
        if source.header:
            out.write(f"      [{' '.join(source.header.split())}]\n")
        snippet = " ".join(source.snippet.split())[:_SNIPPET_CHARS]
        out.write(textwrap.indent(textwrap.fill(snippet, 96), "      ") + "\n")
