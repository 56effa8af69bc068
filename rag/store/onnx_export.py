"""An int8 ONNX export of a local sentence-transformers model (:mod:`rag.store.onnx_encoder`
runs it).

Why not sentence-transformers' own ``backend="onnx"`` and ``export_dynamic_quantized_onnx_model``:
both go through optimum's ``optimum.onnxruntime``, which now lives in ``optimum-onnx``; its only
release (0.1.0) requires transformers<4.58, and the app pins transformers 5.23. So the export
here uses what is installed, in three steps:

1. torch's (TorchScript) ONNX exporter for the BERT encoder, with eager attention: the graph
   traced from SDPA builds its mask in a way onnxruntime's fusions do not recognise;
2. onnxruntime's BERT graph optimiser, which fuses attention, GELU and layer norms;
3. onnxruntime's dynamic quantisation: int8 weights per channel for the fused attention and the
   MatMuls, except each layer's first feed-forward MatMul (``intermediate.dense``). Quantising
   that one too is ~20% faster but drops the cosine to the fp32 vectors from >= 0.98 to ~0.96
   on one-token texts ("?", " "); per-tensor scales or quantising the embedding Gather cost
   ~7 points on this model.

Mean pooling and L2 normalisation, which sentence-transformers does after the encoder, are done
in numpy by :class:`rag.store.onnx_encoder.OnnxEncoder`. Activations are quantised per batch
(dynamic quantisation), so a text's vector moves slightly (cosine > 0.99) with the texts it is
batched with.

Exports are made from the installed weights only (nothing is downloaded) into a temporary
folder that is renamed into place once complete, with a manifest (sizes and sha256 of every
file) written last: a crash mid-export never leaves a folder that passes
:func:`is_complete_export`, and a damaged one is exported again rather than used.

Imports of torch, transformers, onnx and onnxruntime happen inside the functions: the bench
venv imports this module for its throughput task, and importing it must stay cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

# Bump when the export changes (opset, quantisation options, files): the cache key includes
# it, so an old export is never loaded by new code.
EXPORTER_VERSION = 1
FP32_FILE = "model.onnx"
INT8_FILE = "model_qint8.onnx"
MANIFEST_FILE = "export.json"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# Tokenizer and sentence-transformers module configs, copied so an export folder is
# self-contained (the encoder needs no access to the source folder).
COPIED_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
    "config.json", "sentence_bert_config.json", "modules.json", "1_Pooling/config.json",
)
# sentence-transformers' default window when a model folder does not name one.
DEFAULT_MAX_SEQ_LENGTH = 256

_export_lock = threading.Lock()  # threads of one process export a folder once


def _check_mean_pooling(model_path: Path) -> None:
    pooling = model_path / "1_Pooling" / "config.json"
    if not pooling.is_file():
        return  # a plain transformers folder: sentence-transformers would mean-pool it too
    config = json.loads(pooling.read_text(encoding="utf-8"))
    if not config.get("pooling_mode_mean_tokens", False):
        raise ConfigError(
            f"the onnx-int8 embedding backend supports mean-pooling models only; {model_path} "
            "pools otherwise: use embedding.backend torch"
        )


def export_fp32_onnx(model_path: Path, target: Path) -> Path:
    """The encoder of a local sentence-transformers BERT model as ONNX (fp32) at ``target``."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    encoder = AutoModel.from_pretrained(str(model_path), attn_implementation="eager").eval()
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
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer's notes concern values that are the same for every input here (mask
        # length = sequence length; no negative token indices), and the deprecation note is the
        # choice made below: none is something a user can act on.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*aten::index", category=UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            LastHiddenState(encoder),
            tuple(sample[name] for name in INPUT_NAMES),
            str(target),
            input_names=list(INPUT_NAMES),
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic,
            opset_version=17,
            # The TorchScript exporter: the torch.export path would need onnxscript, which
            # nothing else here uses.
            dynamo=False,
        )
    return target


def fuse_bert_graph(raw_file: Path, target: Path, config: dict[str, Any]) -> Path:
    """``raw_file`` with attention, GELU and layer norms fused by onnxruntime's optimiser."""
    from onnxruntime.transformers.optimizer import optimize_model

    # opt_level 1: portable rewrites only; higher levels bake in this machine's CPU features.
    fused = optimize_model(
        str(raw_file),
        model_type="bert",
        num_heads=int(config.get("num_attention_heads", 0)),
        hidden_size=int(config.get("hidden_size", 0)),
        opt_level=1,
    )
    fused.save_model_to_file(str(target))
    return target


@contextmanager
def _root_logging_left_alone() -> Iterator[None]:
    """onnxruntime's quantiser calls ``logging.warning()``, which in a process that set up no
    logging installs a stderr handler on the root logger: its advice to whoever wrote the
    exporter ("consider pre-processing") would reach the user, then every library's log lines.
    A null handler for the duration keeps the root logger as it was; a configured one is used."""
    root = logging.getLogger()
    if root.handlers:
        yield
        return
    guard = logging.NullHandler()
    root.addHandler(guard)
    try:
        yield
    finally:
        root.removeHandler(guard)


def quantise_int8(fp32_file: Path, target: Path) -> Path:
    """Dynamic int8 quantisation of ``fp32_file`` (weights per channel) into ``target``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep_fp32 = [
        node.name for node in onnx.load(str(fp32_file), load_external_data=False).graph.node
        if node.op_type == "MatMul" and "/intermediate/dense/" in node.name
    ]
    with _root_logging_left_alone():
        quantize_dynamic(
            str(fp32_file),
            str(target),
            op_types_to_quantize=["MatMul", "Attention"],
            nodes_to_exclude=keep_fp32,
            per_channel=True,
            weight_type=QuantType.QInt8,
            # Fused nodes (com.microsoft domain) defeat ONNX shape inference: their outputs are
            # float tensors.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_manifest(folder: Path, source: Path) -> None:
    files = sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST_FILE
    )
    manifest = {
        "exporter_version": EXPORTER_VERSION,
        "source": str(source),
        "files": {name: {"bytes": (folder / name).stat().st_size,
                         "sha256": _sha256(folder / name)} for name in files},
    }
    # Written last: its presence (and agreement) is what marks the folder complete.
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def is_complete_export(folder: Path | str) -> bool:
    """True when ``folder`` holds a finished export of this exporter version, every file intact."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        if manifest.get("exporter_version") != EXPORTER_VERSION:
            return False
        files = manifest["files"]
        if INT8_FILE not in files:
            return False
        for name, expected in files.items():
            path = folder / name
            if path.stat().st_size != expected["bytes"] or _sha256(path) != expected["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False  # missing, unreadable or malformed: not a usable export
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_dead_partials(out_dir: Path) -> None:
    """Temp folders of ``out_dir`` left by exports that were killed (their process is gone)."""
    for partial in out_dir.parent.glob(f".{out_dir.name}.*.partial"):
        pid = partial.name.removeprefix(f".{out_dir.name}.").split(".")[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def _move_into_place(built: Path, out_dir: Path) -> None:
    """Rename ``built`` to ``out_dir``; a damaged ``out_dir`` is replaced, a complete one kept."""
    for _attempt in range(3):
        try:
            built.rename(out_dir)
            return
        except OSError:
            if is_complete_export(out_dir):  # another process finished first: use theirs
                shutil.rmtree(built, ignore_errors=True)
                return
            # A damaged or unfinished-format folder is in the way: move it aside, then retry.
            stale = out_dir.with_name(f".{out_dir.name}.{uuid.uuid4().hex[:8]}.stale")
            try:
                out_dir.rename(stale)
            except FileNotFoundError:
                continue  # someone else moved it meanwhile
            shutil.rmtree(stale, ignore_errors=True)
    raise OSError(f"cannot move the ONNX export into {out_dir}")


def export_int8_onnx(
    model_path: Path | str, out_dir: Path | str, *, keep_fp32: bool = False
) -> Path:
    """Export ``model_path`` (a local sentence-transformers folder) to int8 ONNX in ``out_dir``.

    Returns the path of ``model_qint8.onnx``; the tokenizer and module configs are copied next
    to it, and with ``keep_fp32`` the fused fp32 ``model.onnx`` it was quantised from. A
    complete existing export is reused; an incomplete or damaged one is replaced. Raises
    ConfigError when the model cannot be exported.
    """
    model_path, out_dir = Path(model_path), Path(out_dir)
    if is_complete_export(out_dir):
        return out_dir / INT8_FILE
    if not (model_path / "config.json").is_file():
        raise ConfigError(f"cannot export {model_path} to ONNX: no config.json in that folder")
    _check_mean_pooling(model_path)
    built = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        _remove_dead_partials(out_dir)
        built.mkdir()
        try:
            raw = export_fp32_onnx(model_path, built / "model_unfused.onnx")
            fp32 = fuse_bert_graph(raw, built / FP32_FILE, read_json(model_path / "config.json"))
            raw.unlink()
            quantise_int8(fp32, built / INT8_FILE)
        except Exception as exc:  # torch/onnx raise many kinds: one message naming the model
            raise ConfigError(f"cannot export {model_path} to int8 ONNX: {exc}") from exc
        if not keep_fp32:
            fp32.unlink()
        for name in COPIED_FILES:
            if (model_path / name).is_file():
                (built / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(model_path / name, built / name)
        _write_manifest(built, model_path)
        _move_into_place(built, out_dir)
    except OSError as exc:  # e.g. a read-only or full cache_dir
        raise ConfigError(f"cannot write the ONNX export to {out_dir}: {exc}") from exc
    finally:
        if built.exists():
            shutil.rmtree(built, ignore_errors=True)
    return out_dir / INT8_FILE


def export_key(model_path: Path | str) -> str:
    """Cache folder name of ``model_path``'s export: changes with the folder, its weights (size
    and mtime) and the exporter version, so a reinstalled model or a new exporter re-exports."""
    model_path = Path(model_path).resolve()
    fingerprint = [str(model_path), f"exporter={EXPORTER_VERSION}"]
    for path in sorted(model_path.iterdir()):
        if path.is_file() and path.suffix in {".safetensors", ".bin", ".json", ".txt"}:
            stat = path.stat()
            fingerprint.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    digest = hashlib.sha256("\n".join(fingerprint).encode("utf-8")).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{model_path.parent.name}-{model_path.name}")
    return f"{readable}-v{EXPORTER_VERSION}-{digest}"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def cached_int8_export(model_path: Path | str, cache_dir: Path | str) -> Path:
    """``model_qint8.onnx`` of ``model_path`` under ``cache_dir/onnx/<key>``, exported on first
    use and reused after (by this and any other process)."""
    out_dir = Path(cache_dir) / "onnx" / export_key(model_path)
    with _export_lock:
        return export_int8_onnx(model_path, out_dir)
