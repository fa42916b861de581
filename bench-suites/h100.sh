#!/usr/bin/env bash
# For a session with an H100 (CUDA 13 toolkit, driver 580): llama.cpp's llama-bench (CUDA build)
# and fitbench-engine side by side on Qwen3.5-35B-A3B's real shapes (40 layers, Q4_K_M, random
# weights), fully in VRAM and with --n-cpu-moe 20; records go to results/ with the host
# fingerprint, plus the generation rate as a fraction of the HBM bandwidth bound.
#
#   bench-suites/h100.sh [WORKDIR]      WORKDIR (default /tmp/fitbench-h100) holds the model and llama.cpp
#
# llama.cpp's source must travel with the run when the machine has no package registry: make it
# here with `../shared/tools/reference-llama.sh --pack llama-src.tar.gz` and set
# LLAMA_SRC_TARBALL=path/to/llama-src.tar.gz (cmake and ninja must be on the GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(realpath -m "${1:-/tmp/fitbench-h100}")
mkdir -p "$work" results
TARGET="${CARGO_TARGET_DIR:-target}"

# NVRTC must match the driver: PTX from a newer NVRTC (the pip wheel is 13.5 and emits PTX ISA 9.5)
# is rejected by driver 580 (CUDA 13.0, PTX ISA 9.0) at module load. Use the toolkit's.
if [ -z "${FITBENCH_NVRTC:-}" ] && [ -f /usr/local/cuda/lib64/libnvrtc.so.13 ]; then
  export FITBENCH_NVRTC=/usr/local/cuda/lib64/libnvrtc.so.13
fi
nvidia-smi || true

echo "== build fitbench and fitbench-engine (feature cuda is on by default)"
cargo build --release -p fitbench -p fitbench-engine
fb="$TARGET/release/fitbench"
fe="$TARGET/release/fitbench-engine"

echo "== llama.cpp with CUDA"
if [ -n "${LLAMA_SRC_TARBALL:-}" ]; then
  tar xzf "$LLAMA_SRC_TARBALL" -C "$work"
  export REFERENCE_SRC="$work/llama.cpp"
fi
REFERENCE_CUDA=1 bash ../shared/tools/reference-llama.sh "$work/llama" | tail -1
llama_bench="$work/llama/bin/llama-bench"

echo "== the device: fitbench probe (GPU bandwidths through the engine's CUDA backend)"
"$fb" probe --json > "$work/probe.json"
"$fb" probe

model="$work/qwen35moe-35b-a3b-Q4_K_M.gguf"
if [ ! -f "$model" ]; then
  echo "== synthesize the 40-layer model (about 20 GB)"
  "$fb" synth --like qwen3.5-35b-a3b --quant Q4_K_M -o "$model"
fi
"$fe" info -m "$model" -ngl 99 | tail -3
"$fe" info -m "$model" -ngl 99 --n-cpu-moe 20 | tail -3

echo "== GPU correctness first (fixtures against llama.cpp's logits, all in VRAM and split)"
cargo test --release -p fitbench-engine --test cuda_reference_logits -- --nocapture
cargo test --release -p fitbench-engine --lib cuda -- --nocapture

echo "== llama-bench"
"$fb" bench bench-suites/h100-35b-a3b.yaml -m "$model" --engine llama-bench \
  --llama-bench "$llama_bench" --results results --no-plot
echo "== fitbench-engine"
"$fb" bench bench-suites/h100-35b-a3b.yaml -m "$model" --engine fitbench \
  --engine-exe "$fe" --results results --no-plot

echo "== HBM bound: bytes read per generated token / measured device bandwidth"
python3 - "$model" "$work/probe.json" <<'PY' | tee "results/$(date -u +%F)-h100-35b-a3b-hbm-bound.txt"
import json, struct, sys
path, probe = sys.argv[1], json.load(open(sys.argv[2]))
f = open(path, "rb")
u32 = lambda: struct.unpack("<I", f.read(4))[0]
u64 = lambda: struct.unpack("<Q", f.read(8))[0]
def s(): return f.read(u64()).decode()
SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
def val(t):
    if t == 8: return s()
    if t == 9:
        at, n = u32(), u64(); return [val(at) for _ in range(n)]
    b = f.read(SIZES[t]); return struct.unpack({1:"<B",0:"<b",2:"<h",3:"<H",4:"<i",5:"<I",6:"<f",7:"<?",10:"<q",11:"<Q",12:"<d"}[t], b)[0]
f.read(4); u32(); nt, nkv = u64(), u64()
meta = {}
for _ in range(nkv):
    k = s(); meta[k] = val(u32())
# ggml type -> (block elements, block bytes)
TS = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18), 6: (32, 22), 12: (256, 144), 13: (256, 176), 14: (256, 210), 10: (256, 84), 11: (256, 110)}
arch = meta["general.architecture"]
n_exp, n_used = meta[f"{arch}.expert_count"], meta[f"{arch}.expert_used_count"]
total = active = 0
for _ in range(nt):
    name = s(); nd = u32(); dims = [u64() for _ in range(nd)]; ty = u32(); u64()
    n = 1
    for d in dims: n *= d
    be, bb = TS[ty]
    b = n // be * bb
    total += b
    if name == "token_embd.weight":
        b = b // dims[1]          # one row per token
    elif "_exps" in name:
        b = b * n_used // n_exp   # only the routed experts are read
    active += b
gpu = next(g for g in probe["gpus"] if g["backend"] == "cuda")
bw = gpu.get("measured_bandwidth_gbs")
print(f"weights {total/1e9:.2f} GB; read per token {active/1e9:.3f} GB (k={n_used} of {n_exp} experts)")
print(f"{gpu['name']}: theoretical {gpu['bandwidth_gbs']} GB/s, measured device-to-device {bw} GB/s")
if bw:
    print(f"HBM bound (all in VRAM): {bw*1e9/active:.1f} tokens/s; divide the measured tg128 rate by this for the fraction")
PY
echo "records: results/ (commit them with the host fingerprint they carry)"
