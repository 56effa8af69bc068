"""Sentence embeddings from an int8 ONNX export (:mod:`rag.store.onnx_export`) via onnxruntime:
the encoder output mean pooled and L2 normalised in numpy, as sentence-transformers does after
its encoder.

onnxruntime and transformers are imported when an encoder is made, not with this module.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import ConfigError
from rag.store.onnx_export import (
    DEFAULT_MAX_SEQ_LENGTH,
    INPUT_NAMES,
    cached_int8_export,
    read_json,
)

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class OnnxEncoder:
    """Sentence embeddings (mean pooled) from an exported encoder via onnxruntime.

    Offers the part of SentenceTransformer's interface the app uses: ``encode``,
    ``tokenizer``, ``get_embedding_dimension()`` and ``max_seq_length``.
    """

    def __init__(self, onnx_file: Path | str, *, threads: int = 0) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        onnx_file = Path(onnx_file)
        folder = onnx_file.parent
        st_config = read_json(folder / "sentence_bert_config.json")
        self.max_seq_length = int(st_config.get("max_seq_length") or DEFAULT_MAX_SEQ_LENGTH)
        modules = read_json(folder / "modules.json") or []
        # The packaged model ends in a Normalize module: its vectors are unit length whatever
        # the caller asks, as with sentence-transformers.
        self.normalises = any(str(m.get("type", "")).endswith("Normalize") for m in modules)
        self._dimension = int(read_json(folder / "config.json").get("hidden_size") or 0)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(
            str(folder), model_max_length=self.max_seq_length
        )
        # A fast tokenizer called with padding/truncation from two threads at once can fail
        # ("Already borrowed"); the index and the chat share one encoder.
        self.tokenizer_lock = threading.Lock()

    def get_embedding_dimension(self) -> int:
        return self._dimension

    def encode(
        self,
        sentences: str | list[str],
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        convert_to_numpy: bool = True,
        normalize_embeddings: bool = False,
        output_value: str = "sentence_embedding",
    ) -> Any:
        """Vectors of ``sentences`` in input order (one vector for a single string).

        ``output_value="token_embeddings"``: as sentence-transformers, one array per text of
        its wordpieces' vectors, [CLS] and [SEP] included, padding not (not normalised).
        ``show_progress_bar`` is accepted for compatibility and never shows one.
        """
        if not convert_to_numpy:
            raise ValueError("OnnxEncoder.encode returns numpy arrays only")
        if output_value == "token_embeddings":
            if isinstance(sentences, str):  # one array for one text, as sentence-transformers
                return self._token_embeddings([sentences], batch_size)[0]
            return self._token_embeddings(list(sentences), batch_size)
        if output_value != "sentence_embedding":
            raise ValueError(f"OnnxEncoder.encode has no output {output_value!r}")
        if isinstance(sentences, str):
            single = self.encode([sentences], batch_size, normalize_embeddings=normalize_embeddings)
            return single[0]
        texts = list(sentences)
        vectors = np.empty((len(texts), self._dimension), dtype=np.float32)
        # Longest first in batches of similar lengths pads less, as sentence-transformers does.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            vectors[rows] = self._encode_batch([texts[i] for i in rows])
        if normalize_embeddings or self.normalises:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.clip(norms, 1e-12, None)
        return vectors

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        hidden, mask = self._hidden_states(batch)
        weights = mask[..., None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)

    def _token_embeddings(self, texts: list[str], batch_size: int) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for start in range(0, len(texts), batch_size):
            hidden, mask = self._hidden_states(texts[start:start + batch_size])
            out.extend(states[: int(m.sum())] for states, m in zip(hidden, mask, strict=True))
        return out

    def _hidden_states(self, batch: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The last layer's wordpiece states of a batch and its attention mask."""
        with self.tokenizer_lock:
            encoded = self.tokenizer(
                batch, padding=True, truncation="longest_first", max_length=self.max_seq_length,
                return_tensors="np",
            )
        feeds = {name: encoded[name].astype(np.int64) for name in INPUT_NAMES}
        return self.session.run(None, feeds)[0], encoded["attention_mask"]


def load_int8_encoder(model_path: Path | str, cache_dir: Path | str) -> OnnxEncoder:
    """The int8 encoder of ``model_path``, exported into ``cache_dir`` on first use."""
    onnx_file = cached_int8_export(model_path, cache_dir)
    try:
        return OnnxEncoder(onnx_file)
    except Exception as exc:  # onnxruntime/tokenizers errors: one message naming the file
        raise ConfigError(f"cannot load the int8 ONNX model {onnx_file}: {exc}") from exc
