"""An int8 ONNX export of the packaged embedding model, made locally, and its throughput.

Why not sentence-transformers' own ``backend="onnx"`` and ``export_dynamic_quantized_onnx_model``:
both go through optimum's ``optimum.onnxruntime``, which now lives in ``optimum-onnx``; its only
release (0.1.0) requires transformers<4.58, and the app pins transformers 5.23. So the export
here uses what is installed: torch's ONNX exporter for the BERT encoder, then onnxruntime's
dynamic quantisation (int8 weights, per channel, MatMul only: quantising the embedding Gather and
per-tensor scales cost ~7 points of cosine agreement on this model; MatMul per-channel keeps
~0.99). Mean pooling and L2 normalisation, which sentence-transformers does after the encoder,
are done in numpy by :class:`OnnxEmbedder`.

Needs ``onnx`` (for the quantiser) and ``onnxruntime``; nothing is downloaded.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
    "config.json", "sentence_bert_config.json",
)


def export_fp32_onnx(model_path: Path, out_dir: Path) -> Path:
    """The encoder of a local sentence-transformers BERT model as ONNX (fp32)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "model.onnx"
    encoder = AutoModel.from_pretrained(str(model_path)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_path))

    class LastHiddenState(torch.nn.Module):
        # Keyword arguments: transformers 5's forward takes more positional parameters than
        # the exporter passes, so a thin wrapper fixes the mapping.
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    sample = tokenizer(["an example sentence", "two"], padding=True, return_tensors="pt")
    dynamic = {name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(
            LastHiddenState(encoder),
            tuple(sample[name] for name in INPUT_NAMES),
            str(target),
            input_names=list(INPUT_NAMES),
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,  # the torch.export path needs onnxscript, not installed
        )
    for name in TOKENIZER_FILES:
        if (model_path / name).exists():
            shutil.copy2(model_path / name, out_dir / name)
    return target


def export_int8_onnx(model_path: Path | str, out_dir: Path | str) -> Path:
    """Export ``model_path`` (a local sentence-transformers folder) to int8 ONNX in ``out_dir``.

    Returns the path of ``model_qint8.onnx``; ``model.onnx`` (fp32) and the tokenizer files are
    written next to it. Reuses an existing export.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model_path, out_dir = Path(model_path), Path(out_dir)
    quantised = out_dir / "model_qint8.onnx"
    if quantised.exists():
        return quantised
    fp32 = out_dir / "model.onnx"
    if not fp32.exists():
        export_fp32_onnx(model_path, out_dir)
    partial = out_dir / "model_qint8.onnx.partial"
    quantize_dynamic(
        str(fp32),
        str(partial),
        op_types_to_quantize=["MatMul"],
        per_channel=True,
        weight_type=QuantType.QInt8,
    )
    partial.rename(quantised)
    return quantised


class OnnxEmbedder:
    """Sentence embeddings (mean pooled, normalised) from an exported encoder via onnxruntime."""

    def __init__(self, onnx_file: Path, *, threads: int = 0, max_length: int = 256) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = AutoTokenizer.from_pretrained(str(onnx_file.parent))
        self.max_length = max_length

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        # Sort by length so each batch pads to similar lengths, as sentence-transformers does.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        vectors = np.empty((len(texts), 0), dtype=np.float32)
        pieces = []
        for start in range(0, len(order), batch_size):
            batch = [texts[i] for i in order[start:start + batch_size]]
            enc = self.tokenizer(
                batch, padding=True, truncation=True, max_length=self.max_length,
                return_tensors="np",
            )
            hidden = self.session.run(None, {n: enc[n].astype(np.int64) for n in INPUT_NAMES})[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            pieces.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        if pieces:
            stacked = np.vstack(pieces)
            vectors = np.empty_like(stacked)
            vectors[order] = stacked
        return vectors


def onnx_throughput(args: dict) -> dict:
    """Chunks/s of fp32 torch (sentence-transformers), fp32 ONNX and int8 ONNX on the same texts,
    and how close the int8 vectors stay to the fp32 ones (cosine)."""
    from sentence_transformers import SentenceTransformer

    from bench.ours import read_texts

    model_path = Path(args["model_path"])
    texts = read_texts(args["texts"], args.get("limit"))
    batch_size = int(args.get("batch_size", 64))
    start = time.perf_counter()
    int8_file = export_int8_onnx(model_path, Path(args["out_dir"]))
    export_s = time.perf_counter() - start

    def rate(encode) -> tuple[float, np.ndarray]:
        encode(texts[:8])
        start = time.perf_counter()
        vectors = encode(texts)
        return len(texts) / (time.perf_counter() - start), vectors

    torch_model = SentenceTransformer(str(model_path), device="cpu")
    torch_rate, reference = rate(
        lambda t: torch_model.encode(t, batch_size=batch_size, normalize_embeddings=True)
    )
    fp32 = OnnxEmbedder(int8_file.parent / "model.onnx")
    fp32_rate, _ = rate(lambda t: fp32.encode(t, batch_size))
    int8 = OnnxEmbedder(int8_file)
    int8_rate, quantised = rate(lambda t: int8.encode(t, batch_size))
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
