"""Throughput of the int8 ONNX embedding backend against fp32 torch, for ``make bench``.

The export and the encoder live in :mod:`rag.store.onnx_export` and
:mod:`rag.store.onnx_encoder` (the app's ``onnx-int8`` embedding backend); this task runs in
.venv-bench, which has onnx and onnxruntime.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from rag.store.onnx_encoder import OnnxEncoder
from rag.store.onnx_export import FP32_FILE, export_int8_onnx


def onnx_throughput(args: dict) -> dict:
    """Chunks/s of fp32 torch (sentence-transformers), fp32 ONNX and int8 ONNX on the same texts,
    and how close the int8 vectors stay to the fp32 ones (cosine)."""
    from sentence_transformers import SentenceTransformer

    from bench.ours import read_texts

    model_path = Path(args["model_path"])
    texts = read_texts(args["texts"], args.get("limit"))
    batch_size = int(args.get("batch_size", 64))
    start = time.perf_counter()
    int8_file = export_int8_onnx(model_path, Path(args["out_dir"]), keep_fp32=True)
    export_s = time.perf_counter() - start

    def rate(encode) -> tuple[float, np.ndarray]:
        encode(texts[:8])
        start = time.perf_counter()
        vectors = encode(texts)
        return len(texts) / (time.perf_counter() - start), vectors

    def onnx_encode(encoder: OnnxEncoder):
        return lambda t: encoder.encode(t, batch_size=batch_size, normalize_embeddings=True)

    torch_model = SentenceTransformer(str(model_path), device="cpu")
    torch_rate, reference = rate(
        lambda t: torch_model.encode(t, batch_size=batch_size, normalize_embeddings=True)
    )
    fp32_rate, _ = rate(onnx_encode(OnnxEncoder(int8_file.parent / FP32_FILE)))
    int8_rate, quantised = rate(onnx_encode(OnnxEncoder(int8_file)))
    cosine = (reference * quantised).sum(axis=1)
    return {
        "chunks": len(texts),
        "torch_fp32_chunks_per_s": torch_rate,
        "onnx_fp32_chunks_per_s": fp32_rate,
        "onnx_int8_chunks_per_s": int8_rate,
        "int8_speedup_vs_torch": int8_rate / torch_rate,
        "int8_cosine_mean": float(cosine.mean()),
        "int8_cosine_min": float(cosine.min()),
        "export_s": export_s,
        "int8_file": str(int8_file),
        "int8_mb": int8_file.stat().st_size / 2**20,
    }
