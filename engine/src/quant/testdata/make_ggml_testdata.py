#!/usr/bin/env python3
"""Writes <TYPE>.ggml.bin: llama.cpp's own reference quantizer output and vec_dot results, taken
by calling a llama.cpp build's shared libraries (libggml-base: quantize_row_*_ref; libggml-cpu:
ggml_vec_dot_*_generic and the dispatched SIMD kernel). The Rust tests compare against these.

Layout (little endian): b"FBG1", u32 ggml type id, u32 dot type id, u32 m, u32 rows,
  m f32 quantizer inputs, the ref quantizer's blocks for them,
  m f32 activations, the dot type's ref quantizer blocks for them,
  rows+1 f32 ggml_vec_dot_*_generic results (row r: the 256 elements of row r; last: all m),
  rows+1 f32 results of the dispatched (SIMD) ggml_vec_dot_* for the same operands,
  the activations quantized by libggml-cpu's quantize_row_<dot type> (what llama.cpp's CPU backend
  uses for activations: on x86 it differs from the ref in rounding for Q8_0/Q8_1).

Usage: python3 make_ggml_testdata.py /path/to/llama.cpp/build/bin   (needs numpy)
"""
import ctypes
import struct
import sys
from pathlib import Path

import numpy as np

LIB = Path(sys.argv[1] if len(sys.argv) > 1 else "/root/.cache/fitbench-reference/build/bin")
OUT = Path(__file__).resolve().parent

base = ctypes.CDLL(str(LIB / "libggml-base.so"), mode=ctypes.RTLD_GLOBAL)
cpu = ctypes.CDLL(str(LIB / "libggml-cpu.so"), mode=ctypes.RTLD_GLOBAL)
cpu.ggml_cpu_init()  # fills the f16 lookup table the CPU kernels read scales through

# name, ggml id, block size, type size
TYPES = {
    "Q4_0": (2, 32, 18), "Q4_1": (3, 32, 20), "Q5_0": (6, 32, 22), "Q5_1": (7, 32, 24),
    "Q8_0": (8, 32, 34), "Q8_1": (9, 32, 36), "Q2_K": (10, 256, 84), "Q3_K": (11, 256, 110),
    "Q4_K": (12, 256, 144), "Q5_K": (13, 256, 176), "Q6_K": (14, 256, 210), "Q8_K": (15, 256, 292),
    "IQ4_NL": (20, 32, 18), "IQ4_XS": (23, 256, 136), "MXFP4": (39, 32, 17),
}
# weight type -> ggml vec_dot_type
DOT = {
    "Q4_0": "Q8_0", "Q5_0": "Q8_0", "Q8_0": "Q8_0", "IQ4_NL": "Q8_0", "MXFP4": "Q8_0",
    "Q4_1": "Q8_1", "Q5_1": "Q8_1",
    "Q2_K": "Q8_K", "Q3_K": "Q8_K", "Q4_K": "Q8_K", "Q5_K": "Q8_K", "Q6_K": "Q8_K", "IQ4_XS": "Q8_K",
}


def cname(name):
    """ggml's spelling in symbol names: q4_0, q4_K, iq4_xs."""
    return name.lower().replace("_k", "_K")


def nbytes(name, n):
    _, bs, ts = TYPES[name]
    return n // bs * ts


def quantize(name, x):
    fn = getattr(base, f"quantize_row_{cname(name)}_ref")
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.zeros(nbytes(name, x.size), dtype=np.uint8)
    fn(x.ctypes.data, out.ctypes.data, x.size)
    return out


def vec_dot(fn_name, n, w, a):
    fn = getattr(cpu, fn_name)
    fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
                   ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    s = np.zeros(1, dtype=np.float32)
    fn(n, s.ctypes.data, 0, w.ctypes.data, 0, a.ctypes.data, 0, 1)
    return s[0]


def inputs(seed):
    """Rows of 256: normal, zeros in places, a constant run, outliers, one sign, tiny and large."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 256)).astype(np.float32)
    x[0, 32:64] = 0.0
    x[0, 128:160] = 0.75
    x[1, ::37] *= 50.0
    x[2] = np.abs(x[2]) + 0.25
    x[3] *= np.float32(1e-3)
    x[3, :128] *= np.float32(1e5)
    x[4] *= np.float32(0.02)  # like real weights
    x[5] = -np.abs(x[5])
    x[6] = 0.0
    return x


def main():
    for name, (tid, bs, ts) in TYPES.items():
        x = inputs(7 + tid)
        rows = x.shape[0]
        flat = x.reshape(-1)
        q = quantize(name, flat)
        dot = DOT.get(name, name)
        a = np.random.default_rng(100 + tid).standard_normal(flat.size).astype(np.float32)
        a[256:512] = 0.0
        a[512:768] *= np.float32(30.0)
        # Ties: with amax 127 the scale is 1, so halves sit exactly between two quants; the ref
        # rounds them away from zero, the x86 from_float to even.
        a[768:1024] = (np.arange(256) % 64 - 32).astype(np.float32) + np.float32(0.5)
        a[768:1024:32] = 127.0
        qa = quantize(dot, a)
        generic, simd = [], []
        if name in DOT:
            kern = f"ggml_vec_dot_{cname(name)}_{cname(dot)}"
            for r in list(range(rows)) + [None]:
                if r is None:
                    n, w, av = flat.size, q, qa
                else:
                    n = 256
                    w = np.ascontiguousarray(q[nbytes(name, 256) * r: nbytes(name, 256) * (r + 1)])
                    av = np.ascontiguousarray(qa[nbytes(dot, 256) * r: nbytes(dot, 256) * (r + 1)])
                generic.append(vec_dot(kern + "_generic", n, w, av))
                simd.append(vec_dot(kern, n, w, av))
        else:
            generic = simd = [0.0] * (rows + 1)
        cpu_from_float = getattr(cpu, f"quantize_row_{cname(dot)}")
        cpu_from_float.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        qa_cpu = np.zeros_like(qa)
        cpu_from_float(a.ctypes.data, qa_cpu.ctypes.data, a.size)
        path = OUT / f"{name}.ggml.bin"
        with open(path, "wb") as f:
            f.write(b"FBG1" + struct.pack("<IIII", tid, TYPES[dot][0], flat.size, rows))
            f.write(flat.astype("<f4").tobytes())
            f.write(q.tobytes())
            f.write(a.astype("<f4").tobytes())
            f.write(qa.tobytes())
            f.write(np.asarray(generic, dtype="<f4").tobytes())
            f.write(np.asarray(simd, dtype="<f4").tobytes())
            f.write(qa_cpu.tobytes())
        print(f"wrote {path.name} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
