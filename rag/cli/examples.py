"""``python -m rag examples``: what the app answers today to the README's example questions.

    python -m rag examples [data/examples.txt] [--corpus data/corpus] [--write README.md]

The sample corpus is indexed into its own collection (``eval_examples``), each question asked
through the app's chain with the default settings, and a Markdown table printed: the question,
the reply as the app shows it, how it was produced, and the cited source with its locator.
``--write`` puts the table between the ``<!-- examples:start -->`` and ``<!-- examples:end -->``
lines of a file; a test checks the README's table is what this command prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any

from rag.errors import ConfigError
from rag.settings import Settings

START, END = "<!-- examples:start -->", "<!-- examples:end -->"
REPLY_CHARS = 160
HOW = {"generated": "generated, verified", "quoted": "quoted", "declined": "declined"}


def add_subcommands(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "examples", parents=[common],
        help="answer the example questions and print the README's table",
    )
    parser.add_argument("questions", nargs="?", type=Path, default=Path("data/examples.txt"),
                        help="one question per line (default: data/examples.txt)")
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--write", type=Path, metavar="FILE",
                        help="replace the table between the example markers of FILE")
    parser.set_defaults(handler=run_examples)


def read_questions(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the example questions ({exc.strerror})") from exc
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _cell(text: str) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= REPLY_CHARS else text[: REPLY_CHARS - 1].rstrip() + "…"


def examples_table(index: Any, questions: Sequence[str], settings: Settings,
                   chat_model: Any = None) -> str:
    """The Markdown table of the app's replies to ``questions`` over ``index``."""
    from rag.answer.chain import ChatService
    from rag.answer.reply import AskRequest

    service = ChatService(index, chat_model=chat_model, settings=settings)
    rows = ["| Question | The app's reply | How | Cited source · locator |",
            "| --- | --- | --- | --- |"]
    for question in questions:
        answer = service.ask(AskRequest(question))
        cited = [s for s in answer.sources if s.number in answer.cited]
        where = "; ".join(
            f"`{PurePath(s.source).name}` · `{s.locator}`" if s.locator
            else f"`{PurePath(s.source).name}`" for s in cited
        ) or "—"
        rows.append(f"| {_cell(question)} | {_cell(answer.text)} | {HOW[answer.path]} | "
                    f"{where} |")
    return "\n".join(rows)


def replace_table(text: str, table: str, where: str = "file") -> str:
    """``text`` with the block between the example markers replaced by ``table``."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ConfigError(f"{where}: needs one {START} line before one {END} line")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def example_settings(settings: Settings) -> Settings:
    """The settings given, in a collection of their own, with the local model's weights in
    float32: 'auto' picks bfloat16 on CPUs that have it, whose greedy replies differ, and the
    table must read the same on every machine that checks it."""
    return settings.model_copy(update={
        "store": settings.store.model_copy(update={"collection": "eval_examples"}),
        "llm": settings.llm.model_copy(update={"dtype": "float32"}),
    })


def run_examples(args: argparse.Namespace, settings: Settings) -> int:
    from rag.store.index import DocumentIndex

    questions = read_questions(args.questions)
    if not args.corpus.is_dir():
        raise ConfigError(f"--corpus {args.corpus} is not a folder")
    chosen = example_settings(settings)
    index = DocumentIndex(chosen)
    index.ingest_paths([args.corpus])
    table = examples_table(index, questions, chosen)
    if args.write is not None:
        text = args.write.read_text(encoding="utf-8")
        args.write.write_text(replace_table(text, table, str(args.write)), encoding="utf-8")
        print(f"wrote the table into {args.write}")
    else:
        print(table)
    return 0
