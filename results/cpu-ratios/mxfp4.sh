#!/usr/bin/env bash
# MXFP4_MOE slice: llama-bench, then the engine before and after the nibble-table prompt tiles
# (OLD, NEW: two fitbench-engine builds), same file, -t 2, alternated twice.
# The slice: fitbench synth --like qwen3.5-35b-a3b --layers 4 --quant MXFP4_MOE -o $M
set -u
L=${L:-$HOME/.cache/fitbench-reference/bin}
M=${M:-/work/synth-out/qwen35moe-35b-a3b-4L-MXFP4_MOE.gguf}
OLD=${OLD:?fitbench-engine without gemm_nibble}
NEW=${NEW:-target/release/fitbench-engine}
date -u
for round in 1 2; do
  echo "== round $round: llama-bench"
  LD_LIBRARY_PATH=$L $L/llama-bench -m $M -t 2 -r 3 -p 512 -n 128 -o md 2>/dev/null | grep -E '\| *(pp|tg)'
  echo "== round $round: engine, vec_dot per output ($OLD)"
  $OLD bench -m $M -t 2 -r 3 -p 512 -n 128 -o md 2>/dev/null | grep -E '\| *(pp|tg)'
  echo "== round $round: engine, nibble tiles ($NEW)"
  $NEW bench -m $M -t 2 -r 3 -p 512 -n 128 -o md 2>/dev/null | grep -E '\| *(pp|tg)'
done
date -u
