"""Command line: ``python -m rag <command> ...``.

Commands here: ``ingest``, ``list``, ``delete``, ``search``. Global options (``--store``,
``--path``, ``--host``, ``--port``, ``--collection``) go before or after the command.

Adding a command from another module (e.g. ``ask``, ``eval``):

1. In your module write ``add_subcommands(subparsers, common)``: for each command call
   ``subparsers.add_parser(name, parents=[common], help=...)``, add its arguments and
   ``set_defaults(handler=fn)`` where ``fn(args, settings) -> int`` returns the exit code.
   Import heavy things inside ``fn``, not at module top: ``--help`` should stay fast.
2. Append the module's dotted name to ``COMMAND_MODULES`` below.

``main`` is the one error boundary: a ``RagError``/``IngestError`` raised anywhere below
becomes one line on stderr and exit code 2. Nothing below the handlers prints; handlers print
results to stdout.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ingest.errors import IngestError
from rag.errors import ConfigError, RagError
from rag.settings import Settings, get_settings

# Modules whose ``add_subcommands(subparsers, common)`` registers more commands.
COMMAND_MODULES: list[str] = [
    "rag.cli.main", "rag.cli.ask", "rag.eval.cli", "rag.eval.ab_cli", "rag.eval.fit_cli",
    "rag.store.chroma_proxy", "rag.cli.examples", "rag.cli.users",
]

EXIT_OK, EXIT_SOME_FAILED, EXIT_ERROR = 0, 1, 2
_SNIPPET_CHARS = 160


# -- parser ----------------------------------------------------------------------------------
def _common_options(defaults: Any) -> argparse.ArgumentParser:
    """Store options accepted by every command; ``defaults`` is None or SUPPRESS."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("store options (default: RAG_STORE__* settings)")
    group.add_argument(
        "--store", choices=("memory", "disk", "server"), default=defaults, help="store mode"
    )
    group.add_argument("--path", type=Path, default=defaults, help="index folder (disk mode)")
    group.add_argument("--host", default=defaults, help="Chroma server host (server mode)")
    group.add_argument("--port", type=int, default=defaults, help="Chroma server port")
    group.add_argument("--collection", default=defaults, help="collection name")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rag",
        description="Chat with your documents: ingest, inspect and search the index.",
        parents=[_common_options(None)],
    )
    # SUPPRESS after the command: an option not repeated there keeps the value given before.
    common = _common_options(argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_subcommands(subparsers, common)
    return parser


def add_subcommands(subparsers: Any, common: argparse.ArgumentParser) -> None:
    ingest = subparsers.add_parser(
        "ingest", parents=[common], help="add files and folders to the index (incremental)"
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument(
        "--if-empty", action="store_true", help="do nothing when the collection has documents"
    )
    ingest.add_argument(
        "--force", action="store_true", help="re-parse and re-embed even unchanged files"
    )
    ingest.set_defaults(handler=run_ingest)

    listing = subparsers.add_parser("list", parents=[common], help="list indexed documents")
    listing.set_defaults(handler=run_list)

    delete = subparsers.add_parser("delete", parents=[common], help="remove a document")
    delete.add_argument("doc", metavar="DOC", help="doc_id, source or path")
    delete.set_defaults(handler=run_delete)

    search = subparsers.add_parser("search", parents=[common], help="search the index")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    search.add_argument(
        "--mode", default=None, help="dense, mmr, bm25 or hybrid (default: RAG_RETRIEVAL__MODE)"
    )
    search.set_defaults(handler=run_search)


def settings_from_args(args: argparse.Namespace, base: Settings | None = None) -> Settings:
    """``base`` settings with the store options given on the command line applied."""
    if base is None:
        try:
            base = get_settings()
        except ValidationError as exc:
            raise ConfigError(f"invalid RAG_* settings in the environment: {exc}") from exc
    update = {
        key: value
        for key, value in (
            ("mode", args.store),
            ("path", args.path),
            ("host", args.host),
            ("port", args.port),
            ("collection", args.collection),
        )
        if value is not None
    }
    try:
        store = base.store.model_validate({**base.store.model_dump(), **update})
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid store options: {problems}") from exc
    return base.model_copy(update={"store": store})


def _open_index(settings: Settings) -> Any:
    from rag.store.index import DocumentIndex

    return DocumentIndex(settings)


# -- commands --------------------------------------------------------------------------------
def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    index = _open_index(settings)
    if args.if_empty:
        documents = index.list_documents()
        if documents:
            print(
                f"collection {index.name} already has {len(documents)} documents; "
                "nothing to do (--if-empty)"
            )
            return EXIT_OK
    with _ProgressBar() as bar:
        report = index.ingest_paths(args.paths, progress=bar.update, force=args.force)
    for result in report.files:
        detail = f"{result.chunks} chunks"
        if result.status == "ingested":
            detail += f", {result.embedded} embedded, {result.reused} reused"
        if result.ocr_pages:
            detail += f", {result.ocr_pages} page{'s' * (result.ocr_pages > 1)} read by OCR"
        if result.status in ("failed", "skipped"):
            detail = result.reason
        print(f"{result.status:<9}  {result.path}  ({detail})")
        for warning in result.warnings:
            print(f"           warning: {warning}")
    print(report.summary().splitlines()[0])
    # Skipped files (binary data, hidden files) are listed above but are not an error.
    return EXIT_SOME_FAILED if report.failed else EXIT_OK


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    index = _open_index(settings)
    documents = index.list_documents()
    if not documents:
        print(f"collection {index.name} is empty")
        return EXIT_OK
    print(f"{'DOC_ID':<16}  {'FORMAT':<8}  {'CHUNKS':>6}  {'INGESTED':<16}  SOURCE")
    for doc in documents:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(doc.ingested_at))
        print(f"{doc.doc_id:<16}  {doc.format:<8}  {doc.chunks:>6}  {when:<16}  {doc.source}")
    total = sum(d.chunks for d in documents)
    print(f"{len(documents)} documents, {total} chunks in collection {index.name}")
    return EXIT_OK


def run_delete(args: argparse.Namespace, settings: Settings) -> int:
    index = _open_index(settings)
    removed = index.delete(args.doc)
    print(f"deleted {args.doc} ({removed} chunks)")
    return EXIT_OK


def run_search(args: argparse.Namespace, settings: Settings) -> int:
    from rag.retrieval.modes import retrieve

    index = _open_index(settings)
    retrieval = settings.retrieval
    chunks = retrieve(
        index,
        args.query,
        mode=args.mode or retrieval.mode,
        k=args.k,
        fetch_k=max(retrieval.fetch_k, args.k),
        min_score=retrieval.min_score,
        settings=settings,
    )
    # The dense relevance (cosine, 0..1) reads the same in every mode; the mode's own score
    # (fused, BM25 over the best) is what the list is ordered by, so it is shown beside it.
    mode = args.mode or retrieval.mode
    rows = []
    for rank, c in enumerate(chunks, start=1):
        scores = [] if c.dense_score is None else [f"cos {c.dense_score:.3f}"]
        if c.dense_score is None or c.score != c.dense_score:
            scores.append(f"{mode} {c.score:.3f}")
        rows.append((rank, " · ".join(scores), c.doc))
    if not rows:
        print("no results")
    for rank, score, doc in rows:
        locator = doc.metadata.get("locator", "")
        where = f"{doc.metadata.get('source', '?')}" + (f" | {locator}" if locator else "")
        snippet = " ".join(doc.page_content.split())
        if len(snippet) > _SNIPPET_CHARS:
            snippet = snippet[: _SNIPPET_CHARS - 1] + "…"
        header = " ".join(str(doc.metadata.get("header", "")).split())
        print(f"{rank:>2}. {score}  {where}" + (f"\n    [{header}]" if header else "")
              + f"\n    {snippet}")
    return EXIT_OK


class _ProgressBar:
    """A tqdm bar over files with the embedding rate, fed by ``IngestProgress`` events."""

    def __enter__(self) -> _ProgressBar:
        from tqdm import tqdm

        self._bar = tqdm(total=0, unit="file", file=sys.stderr, dynamic_ncols=True)
        return self

    def update(self, event: Any) -> None:
        if event.ocr is not None:  # a line per page: OCR takes seconds a page
            self._bar.write(event.ocr.describe(), file=sys.stderr)
        self._bar.total = event.files_total
        self._bar.n = event.files_done
        self._bar.set_postfix_str(
            f"{event.chunks_done} chunks, {event.chunks_per_s:.1f} chunks/s, {event.current}",
            refresh=False,
        )
        self._bar.refresh()

    def __exit__(self, *exc: object) -> None:
        self._bar.close()


# -- entry point -----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
        return int(args.handler(args, settings))
    except (RagError, IngestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
