#!/usr/bin/env python3
"""Writes the I-quant dequantization reference files `<type>.bin` beside this script.

The expected values come from the `gguf` Python package (`gguf.quants.dequantize`), a numpy
implementation written independently of ggml's C code. Usage:

    pip install gguf numpy
    python3 make_iq_testdata.py [FIXTURES_DIR]   # default: ../shared/fixtures beside the checkout

Each file holds, little-endian:
    b"IQTD", u32 version (1), u32 ggml type id, u32 n_blocks, u32 n_real_blocks,
    u64 grid_digest (FNV-1a 64 over gguf-py's grid for this type, as ggml stores it:
                     one little-endian u64 (u32 for the 3-bit grids) per grid point),
    n_blocks raw blocks, then n_blocks * 256 f32 expected values.
The first n_real_blocks blocks are copied from the fixture models (llama-quantize output); the rest
are random bytes with a sane f16 scale (they reach grid points and sign patterns real data may not).
"""
import struct
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants as q

HERE = Path(__file__).resolve().parent
MODELS = ["IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ1_S", "IQ1_M", "UD-IQ2_XXS"]
TYPES = {
    T.IQ2_XXS: ("iq2_xxs", q.IQ2_XXS),
    T.IQ2_XS: ("iq2_xs", q.IQ2_XS),
    T.IQ2_S: ("iq2_s", q.IQ2_S),
    T.IQ3_XXS: ("iq3_xxs", q.IQ3_XXS),
    T.IQ3_S: ("iq3_s", q.IQ3_S),
    T.IQ1_S: ("iq1_s", q.IQ1_S),
    T.IQ1_M: ("iq1_m", q.IQ1_M),
}
REAL_BLOCKS = 4
RANDOM_BLOCKS = 3
QK_K = 256


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def grid_bytes(cls) -> bytes:
    """The grid as ggml-common.h lays it out: byte j of point k is element j of point k."""
    cls.init_grid()
    grid = cls.grid.reshape(cls.grid_shape)
    return np.asarray(grid, dtype=np.int64).astype(np.int8).view(np.uint8).tobytes()


def real_blocks(fixtures: Path, qtype) -> list[bytes]:
    """A few blocks from different tensors of this type across the fixture models."""
    tensors = []
    for model in MODELS:
        reader = gguf.GGUFReader(fixtures / "models" / f"qwen35moe-tiny-{model}.gguf")
        for t in reader.tensors:
            if t.tensor_type == qtype:
                tensors.append((model, t))
    _, type_size = gguf.GGML_QUANT_SIZES[qtype]
    picks = [tensors[i * (len(tensors) - 1) // max(REAL_BLOCKS - 1, 1)] for i in range(REAL_BLOCKS)]
    out = []
    for k, (model, t) in enumerate(picks):
        raw = np.asarray(t.data).reshape(-1).view(np.uint8)
        n_blocks = raw.size // type_size
        index = (n_blocks * (2 * k + 1)) // (2 * REAL_BLOCKS)  # spread over the tensor
        out.append(raw[index * type_size:(index + 1) * type_size].tobytes())
        print(f"  {qtype.name}: {model} {t.name} block {index}/{n_blocks}")
    return out


def random_blocks(qtype, rng) -> list[bytes]:
    _, type_size = gguf.GGML_QUANT_SIZES[qtype]
    out = []
    for _ in range(RANDOM_BLOCKS):
        block = bytearray(rng.integers(0, 256, type_size, dtype=np.uint8).tobytes())
        d = np.float16(rng.uniform(1e-3, 5e-2)).view(np.uint16).item()
        if qtype == T.IQ1_M:
            # the f16 super-scale is spread over the top nibbles of the four u16 scale words
            sc = list(struct.unpack_from("<4H", block, 48))
            for i in range(4):
                sc[i] = (sc[i] & 0x0FFF) | (((d >> (4 * i)) & 0xF) << 12)
            struct.pack_into("<4H", block, 48, *sc)
        else:
            struct.pack_into("<H", block, 0, d)
        out.append(bytes(block))
    return out


def main() -> None:
    if len(sys.argv) > 1:
        fixtures = Path(sys.argv[1])
    else:
        fixtures = HERE.parents[3] / ".." / "shared" / "fixtures"
    rng = np.random.default_rng(20251123)
    for qtype, (name, cls) in TYPES.items():
        _, type_size = gguf.GGML_QUANT_SIZES[qtype]
        blocks = real_blocks(fixtures, qtype) + random_blocks(qtype, rng)
        data = np.frombuffer(b"".join(blocks), dtype=np.uint8).reshape(len(blocks), type_size)
        expected = gguf.quants.dequantize(data, qtype).astype(np.float32).reshape(-1)
        assert expected.size == len(blocks) * QK_K and np.all(np.isfinite(expected))
        header = b"IQTD" + struct.pack("<IIII", 1, int(qtype), len(blocks), REAL_BLOCKS)
        header += struct.pack("<Q", fnv1a64(grid_bytes(cls)))
        path = HERE / f"{name}.bin"
        path.write_bytes(header + data.tobytes() + expected.astype("<f4").tobytes())
        print(f"wrote {path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
