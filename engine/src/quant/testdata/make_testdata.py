#!/usr/bin/env python3
"""Writes the reference files the quant tests compare against: <TYPE>.bin per block format.

The expected values come from the `gguf` Python package (gguf-py's numpy implementation of every
ggml type, written independently of ggml's C code). Real block bytes come from the fixture models;
formats no fixture uses (Q4_1, Q5_0, Q5_1) are quantized by gguf-py from real F16 weights.

File layout (little endian): b"FBQ1", u32 ggml type id, u32 n, u32 m,
  raw blocks holding n elements, n f32 (gguf-py dequantize of those blocks),
  m f32 quantizer inputs, raw blocks holding m elements (gguf-py quantize of those inputs).

Usage: python3 make_testdata.py [/path/to/shared/fixtures]   (pip install gguf numpy)
"""
import struct
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

FIXTURES = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures") / "models"
OUT = Path(__file__).resolve().parent

# (type, model file holding tensors of that type, or None to quantize F16 weights with gguf-py)
SOURCES = [
    (T.Q4_0, "qwen35moe-tiny-Q4_0.gguf"),
    (T.Q4_1, None),
    (T.Q5_0, None),
    (T.Q5_1, None),
    (T.Q8_0, "qwen35moe-tiny-Q8_0.gguf"),
    (T.Q2_K, "qwen35moe-tiny-Q2_K.gguf"),
    (T.Q3_K, "qwen35moe-tiny-Q3_K_M.gguf"),
    (T.Q4_K, "qwen35moe-tiny-Q4_K_M.gguf"),
    (T.Q5_K, "qwen35moe-tiny-Q5_K_M.gguf"),
    (T.Q6_K, "qwen35moe-tiny-Q6_K.gguf"),
    (T.IQ4_NL, "qwen35moe-tiny-IQ4_NL.gguf"),
    (T.IQ4_XS, "qwen35moe-tiny-IQ4_XS.gguf"),
    (T.MXFP4, "qwen35moe-tiny-MXFP4_MOE.gguf"),
]
ROWS = 4  # rows of 256 elements per file


def f16_rows(n_rows):
    """Real weights: rows of the F16 model's first 2-D block tensor, as f32."""
    r = gguf.GGUFReader(FIXTURES / "qwen35moe-tiny-F16.gguf")
    t = next(t for t in r.tensors if t.tensor_type == T.F16 and t.name.startswith("blk.0.ffn_down_exps"))
    data = np.asarray(t.data, dtype=np.float16).reshape(-1, 256).astype(np.float32)
    pick = np.linspace(0, data.shape[0] - 1, n_rows).astype(int)
    return data[pick]


def real_blocks(ty, model):
    """Raw bytes of ROWS rows spread over the first tensor of type `ty` in `model`."""
    r = gguf.GGUFReader(FIXTURES / model)
    t = next(t for t in r.tensors if t.tensor_type == ty)
    row_bytes = 256 // gguf.GGML_QUANT_SIZES[ty][0] * gguf.GGML_QUANT_SIZES[ty][1]
    raw = np.asarray(t.data).view(np.uint8).reshape(-1, row_bytes)
    pick = np.linspace(0, raw.shape[0] - 1, ROWS).astype(int)
    print(f"  {ty.name}: {model} {t.name} rows {list(pick)}")
    return raw[pick].reshape(-1)


def quantizer_inputs():
    """Real rows plus synthetic ones: zeros, a constant, outliers, one sign, tiny and large values."""
    rng = np.random.default_rng(1234)
    real = f16_rows(2)
    synth = rng.standard_normal((4, 256)).astype(np.float32)
    synth[0, 32:64] = 0.0
    synth[0, 128:160] = 0.75
    synth[1, ::37] *= 50.0
    synth[2] = np.abs(synth[2]) + 0.25
    synth[3] = synth[3] * np.float32(1e-3)
    synth[3, :128] *= np.float32(1e5)
    return np.concatenate([real, synth, np.zeros((1, 256), np.float32)]).reshape(-1).astype(np.float32)


def main():
    for ty, model in SOURCES:
        if model is not None:
            raw = real_blocks(ty, model)
        else:
            raw = quantize(f16_rows(ROWS), ty).reshape(-1)
            print(f"  {ty.name}: gguf-py quantized F16 rows")
        values = dequantize(raw, ty).reshape(-1).astype(np.float32)
        n = values.size
        try:
            q_in = quantizer_inputs()
            q_out = quantize(q_in.reshape(-1, 256), ty).reshape(-1)
        except NotImplementedError:
            q_in, q_out = np.zeros(0, np.float32), np.zeros(0, np.uint8)
        path = OUT / f"{ty.name}.bin"
        with open(path, "wb") as f:
            f.write(b"FBQ1" + struct.pack("<III", int(ty), n, q_in.size))
            f.write(raw.tobytes())
            f.write(values.astype("<f4").tobytes())
            f.write(q_in.astype("<f4").tobytes())
            f.write(np.asarray(q_out, dtype=np.uint8).tobytes())
        print(f"wrote {path.name}: {n} dequantized values, {q_in.size} quantizer inputs")


if __name__ == "__main__":
    main()
