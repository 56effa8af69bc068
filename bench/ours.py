"""Tasks that measure our own pipeline (run in the app's environment, .venv).

Each task runs in a fresh child process (see bench.child) and returns a JSON-able dict. Model
loading is done before the clock starts and reported separately, so throughput figures compare
the same work: turning files (or chunk texts) into stored vectors.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

import psutil

from bench.corpus import sample_queries


def bench_settings(index_dir: str | None = None, **overrides: Any):
    """Settings for a benchmark run: on-disk store in a scratch folder, everything else default."""
    from rag.settings import Settings, StoreSettings

    fields: dict[str, Any] = dict(overrides)
    if index_dir is not None:
        fields["store"] = StoreSettings(mode="disk", path=Path(index_dir), collection="bench")
    return Settings(**fields)


def corpus_files(corpus_dir: str) -> list[Path]:
    """The documents of a generated corpus (its manifest excluded), in a stable order."""
    return sorted(
        p for p in Path(corpus_dir).rglob("*") if p.is_file() and p.name != "manifest.json"
    )


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def chunk_corpus(args: dict) -> dict:
    """Parse and chunk the corpus with our parsers, write the chunk texts to a JSONL file.

    The texts are the input of the raw-embedding and ONNX measurements, so every embedding
    figure is on exactly the chunks our ingestion produces.
    """
    from ingest import chunk_units, parse_file
    from rag.store.embeddings import get_embeddings

    settings = bench_settings()
    embeddings = get_embeddings(settings)
    embeddings.count_tokens("warm-up")  # loads the model, which is not chunking time
    files = corpus_files(args["corpus_dir"])
    out = Path(args["out"])
    parse_s = chunk_s = 0.0
    count = 0
    with out.open("w", encoding="utf-8") as sink:
        for path in files:
            start = time.perf_counter()
            parsed = parse_file(path)
            parse_s += time.perf_counter() - start
            start = time.perf_counter()
            chunks = chunk_units(
                parsed,
                source=str(path),
                doc_id=hashlib.sha256(str(path).encode()).hexdigest()[:16],
                length_function=embeddings.count_tokens,
                chunk_tokens=settings.chunking.chunk_tokens,
                overlap_tokens=settings.chunking.overlap_tokens,
            )
            chunk_s += time.perf_counter() - start
            for chunk in chunks:
                sink.write(json.dumps(chunk.page_content) + "\n")
            count += len(chunks)
    return {"files": len(files), "chunks": count, "parse_s": parse_s, "chunk_s": chunk_s}


def read_texts(path: str, limit: int | None = None) -> list[str]:
    """The chunk texts written by :func:`chunk_corpus`; with ``limit``, an evenly spaced sample
    (every n-th chunk), so a sample has the corpus's mix of formats and lengths."""
    with open(path, encoding="utf-8") as source:
        texts = [json.loads(line) for line in source]
    if limit is not None and len(texts) > limit:
        step = len(texts) / limit
        texts = [texts[int(i * step)] for i in range(limit)]
    return texts


def raw_embedding(args: dict) -> dict:
    """The limit: the configured model alone encoding the chunk texts, nothing else."""
    from rag.store.embeddings import get_embeddings

    settings = bench_settings()
    texts = read_texts(args["texts"], args.get("limit"))
    start = time.perf_counter()
    # The very encoder our ingestion uses, called directly: no splitting, no store; each text
    # cut where ingestion cuts it (embedding.max_tokens), the cut timed with the encoding.
    embeddings = get_embeddings(settings)
    model = embeddings.encoder
    model.encode(["warm-up"], normalize_embeddings=True)
    load_s = time.perf_counter() - start
    batch_size = int(args.get("batch_size") or settings.embedding.batch_size)
    start = time.perf_counter()
    vectors = model.encode(embeddings.truncate(texts), batch_size=batch_size,
                           normalize_embeddings=True)
    seconds = time.perf_counter() - start
    return {
        "chunks": len(texts),
        "seconds": seconds,
        "chunks_per_s": len(texts) / seconds,
        "batch_size": batch_size,
        "dim": int(vectors.shape[1]),
        "load_s": load_s,
    }


def ingest(args: dict) -> dict:
    """Our ingestion end to end into an on-disk collection (first run or unchanged re-run)."""
    from rag.store.embeddings import get_embeddings
    from rag.store.index import DocumentIndex

    settings = bench_settings(args["index_dir"])
    start = time.perf_counter()
    embeddings = get_embeddings(settings)
    embeddings.embed_query("warm-up")
    index = DocumentIndex(settings)
    load_s = time.perf_counter() - start
    # Time spent inside the embedding calls, to split ingestion into embedding vs everything
    # else (parse, chunk, store): a share that CPU contention from other processes distorts
    # far less than a ratio of two runs made minutes apart.
    embed_clock = [0.0]
    encode = embeddings.embed_documents

    def timed_embed(texts: list[str]) -> list[list[float]]:
        began = time.perf_counter()
        try:
            return encode(texts)
        finally:
            embed_clock[0] += time.perf_counter() - began

    embeddings.embed_documents = timed_embed  # type: ignore[method-assign]
    # A real folder is ingested as a user would (the folder itself: each file's place in it
    # heads its chunks); the generated corpus as its file list, as before.
    files = ([Path(args["corpus_dir"])] if args.get("as_folder")
             else corpus_files(args["corpus_dir"]))
    profile_to = args.get("profile")
    start = time.perf_counter()
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        report = profiler.runcall(index.ingest_paths, files)
        profiler.dump_stats(profile_to)
    else:
        report = index.ingest_paths(files)
    seconds = time.perf_counter() - start
    results = list(report.files)
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    failed = [f"{r.path}: {r.reason}" for r in results if r.status == "failed"][:5]
    chunks = sum(r.chunks for r in results)
    return {
        "files": len(results),
        "chunks": chunks,
        "embedded": sum(r.embedded for r in results),
        "statuses": statuses,
        "failed": failed,
        "seconds": seconds,
        "chunks_per_s": chunks / seconds if seconds else 0.0,
        "files_per_s": len(results) / seconds if seconds else 0.0,
        "embed_s": embed_clock[0],
        "outside_embedding_share": 1 - embed_clock[0] / seconds if seconds else 0.0,
        "load_s": load_s,
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[q - 1]


def retrieval_latency(args: dict) -> dict:
    """p50/p95 of retrieve() per mode on an existing index; RSS at rest afterwards."""
    from rag.retrieval.modes import retrieve
    from rag.store.embeddings import get_embeddings
    from rag.store.index import DocumentIndex

    settings = bench_settings(args["index_dir"])
    get_embeddings(settings).embed_query("warm-up")
    index = DocumentIndex(settings)
    queries = sample_queries(int(args.get("queries", 40)))
    cfg = settings.retrieval
    modes: dict[str, dict] = {}
    for mode in args["modes"]:
        # The first query of a mode pays one-off costs (BM25 index build, HNSW load): reported
        # on its own, then excluded from the percentiles.
        start = time.perf_counter()
        retrieve(index, "warm-up question", mode=mode, k=cfg.k, fetch_k=cfg.fetch_k,
                 min_score=cfg.min_score, settings=settings)
        first = time.perf_counter() - start
        latencies = []
        for query in queries:
            start = time.perf_counter()
            retrieve(index, query, mode=mode, k=cfg.k, fetch_k=cfg.fetch_k,
                     min_score=cfg.min_score, settings=settings)
            latencies.append(time.perf_counter() - start)
        modes[mode] = {
            "first_ms": first * 1000,
            "p50_ms": _percentile(latencies, 50) * 1000,
            "p95_ms": _percentile(latencies, 95) * 1000,
            "queries": len(latencies),
        }
    return {"modes": modes, "rss_at_rest_mb": _rss_mb()}


def first_answer(args: dict) -> dict:
    """A fresh process answering one question: imports, index, model load, retrieval, LLM."""
    started = time.perf_counter()
    from rag.answer.chain import ChatService
    from rag.answer.reply import AskRequest
    from rag.store.index import DocumentIndex

    imported = time.perf_counter()
    settings = bench_settings(args["index_dir"], cache_dir=Path(args["cache_dir"]))
    service = ChatService(DocumentIndex(settings), settings=settings)
    answer = service.ask(AskRequest(question=args["question"]))
    done = time.perf_counter()
    return {
        "import_s": imported - started,
        "ask_s": done - imported,
        "in_process_s": done - started,
        "path": answer.path,
        "timings": answer.timings,
    }


def search_queries(args: dict) -> dict:
    """The top ``k`` chunks per query and mode on an existing index, for scoring by the parent
    (the realdocs comparison scores ours and the tutorial's results with the same code)."""
    from rag.retrieval.modes import retrieve
    from rag.store.embeddings import get_embeddings
    from rag.store.index import DocumentIndex

    settings = bench_settings(args["index_dir"])
    get_embeddings(settings).embed_query("warm-up")
    index = DocumentIndex(settings)
    k = int(args.get("k", 10))
    fetch_k = max(settings.retrieval.fetch_k, k)
    results: dict[str, list[list[dict]]] = {}
    latencies: dict[str, list[float]] = {}
    for mode in args["modes"]:
        retrieve(index, "warm-up question", mode=mode, k=k, fetch_k=fetch_k, min_score=0.0,
                 settings=settings)
        ranked, took = [], []
        for query in args["queries"]:
            start = time.perf_counter()
            chunks = retrieve(index, query, mode=mode, k=k, fetch_k=fetch_k, min_score=0.0,
                              settings=settings)
            took.append(time.perf_counter() - start)
            ranked.append([{"text": c.doc.page_content, "meta": dict(c.doc.metadata)}
                           for c in chunks])
        results[mode] = ranked
        latencies[mode] = took
    return {"results": results,
            "p50_ms": {m: _percentile(t, 50) * 1000 for m, t in latencies.items()}}
