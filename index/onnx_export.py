"""The sentence-transformers model exported locally to ONNX and run with ONNX Runtime (NEWSQA_EMBED_BACKEND=onnx).

Why not sentence-transformers' own `backend="onnx"`: it loads through optimum-onnx, whose only release (0.1.0)
requires transformers<4.58, while this project pins transformers 5.23; the two cannot be installed together.
So the export is done here with `torch.onnx` from the packaged weights (once, cached under cache_dir/onnx,
offline), optionally int8-quantized with ONNX Runtime's dynamic quantizer, and inference mirrors the model's
sentence-transformers pipeline: the same tokenizer.json, truncation at max_seq_length, mean pooling, unit length.
Answering with an exported model needs neither torch nor transformers: only onnxruntime and tokenizers.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)
BATCH_SIZE = 4   # int8 ONNX Runtime on 2 cores: ~130 chunks/s in batches of 4, ~87 in 32 (less padding)
OPSET = 17
# NEWSQA_EMBED_BACKEND=onnx-int8: int8 weights (per channel) and uint8 activations; measured on this 2-core
# AVX-512-VNNI machine by `python -m eval.bench`. Per-channel keeps cosine to the torch vectors at ~0.99;
# per-tensor fell to ~0.93. Not the default (float32, `onnx`): see index/embedder.py ENCODERS.
QUANTIZE = False
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxExportError(RuntimeError):
    """The model cannot be exported or loaded; the message names the folder and the extra to install."""


def export_folder(model_dir: Path, cache_dir: Path) -> Path:
    """Where this model's export lives: keyed by its config and weights' size, so a new model gets a new folder."""
    weights = sorted(p for p in model_dir.glob("*") if p.suffix in {".safetensors", ".bin"})
    key = hashlib.sha256((model_dir / "config.json").read_bytes()
                         + "".join(f"{p.name}:{p.stat().st_size}" for p in weights).encode()).hexdigest()[:12]
    return Path(cache_dir) / f"{model_dir.name}-{key}"


def export_onnx(model_dir: Path, target: Path) -> Path:
    """Export the transformer (token embeddings out, pooling done in numpy) to target; atomic via a temp name."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:  # pragma: no cover - torch is a core dependency
        raise OnnxExportError(f"exporting to ONNX needs torch and transformers: {exc}") from exc

    # eager attention: its graph is plain MatMul/Softmax, which every ONNX Runtime optimizer understands
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # keywords: transformers 5 moved positions
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    sample = torch.ones(2, 16, dtype=torch.long)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(TokenEmbeddings(), (sample, sample, torch.zeros_like(sample)), str(partial), dynamo=False,
                          input_names=list(INPUTS), output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=OPSET)
    partial.replace(target)
    return target


def fuse_onnx(source: Path, target: Path, model_dir: Path) -> Path:
    """ONNX Runtime's transformer optimizer: attention, layer-norm and GELU subgraphs fused into single kernels."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((model_dir / "config.json").read_text())
    fused = optimize_model(str(source), model_type="bert", num_heads=config["num_attention_heads"],
                           hidden_size=config["hidden_size"])
    log.info("fused operators: %s", {k: v for k, v in fused.get_fused_operator_statistics().items() if v})
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    fused.save_model_to_file(str(partial))
    partial.replace(target)
    return target


def quantize_onnx(source: Path, target: Path) -> Path:
    """Dynamic int8 quantization of the MatMul weights, per output channel."""
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise OnnxExportError(f"int8 quantization needs the onnx extra (pip install -e '.[onnx]'): {exc}") from exc
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    quantize_dynamic(str(source), str(partial), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    partial.replace(target)
    return target


def ensure_onnx_model(model_dir: Path, cache_dir: Path, quantized: bool = QUANTIZE) -> Path:
    """The exported (and quantized) model file, made on first use and reused after."""
    model_dir = Path(model_dir)
    folder = export_folder(model_dir, Path(cache_dir))
    full = folder / "model_fused.onnx"
    if not full.exists():
        log.info("exporting %s to ONNX in %s (once)", model_dir, folder)
        raw = export_onnx(model_dir, folder / "model.onnx")
        fuse_onnx(raw, full, model_dir)
        raw.unlink()
    if not quantized:
        return full
    small = folder / "model_qint8.onnx"
    if not small.exists():
        quantize_onnx(full, small)
    return small


class OnnxEmbedder:
    """The Embedder protocol on ONNX Runtime: the model's tokenizer, its max_seq_length, mean pooling, unit length."""

    def __init__(self, name: str, model_dir: Path, cache_dir: Path, quantized: bool = QUANTIZE,
                 threads: int = 0) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise OnnxExportError(f"NEWSQA_EMBED_BACKEND=onnx needs onnxruntime (pip install -e '.[onnx]'): {exc}") \
                from exc
        model_dir = Path(model_dir)
        self.name = name
        self.path = ensure_onnx_model(model_dir, cache_dir, quantized)
        self.max_tokens = _max_seq_length(model_dir)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]") or 0)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        # longest first, in batches, as sentence-transformers does: less padding per batch
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.vstack([self._encode([texts[i] for i in order[start:start + BATCH_SIZE]])
                             for start in range(0, len(order), BATCH_SIZE)])
        out = np.empty_like(vectors)
        out[order] = vectors
        return out.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0].tolist()


def _max_seq_length(model_dir: Path) -> int:
    """sentence-transformers truncates at the model's max_seq_length (256 for all-MiniLM-L6-v2), not at 512."""
    config = model_dir / "sentence_bert_config.json"
    pooling = model_dir / "1_Pooling" / "config.json"
    if pooling.exists() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens", True):
        raise OnnxExportError(f"{model_dir}: only mean-pooling models run on the ONNX backend")
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256
