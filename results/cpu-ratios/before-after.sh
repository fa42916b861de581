#!/usr/bin/env bash
# Prompt throughput of two fitbench-engine builds (OLD, NEW) beside llama-bench on the same files,
# -t 2, pp512 only, alternated in two rounds. Models: the arguments (default: the Q4_0, Q8_0 and
# MXFP4_MOE 4-layer slices of Qwen3.5-35B-A3B from `fitbench synth`).
set -u
L=${L:-$HOME/.cache/fitbench-reference/bin}
OLD=${OLD:?the fitbench-engine build before the change}
NEW=${NEW:-target/release/fitbench-engine}
S=${S:-/work/synth-out}
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=($S/qwen35moe-35b-a3b-4L-Q4_0.gguf $S/qwen35moe-35b-a3b-4L-Q8_0.gguf $S/qwen35moe-35b-a3b-4L-MXFP4_MOE.gguf)
date -u
for round in 1 2; do
  for M in "${MODELS[@]}"; do
    echo "== round $round: $(basename $M)"
    echo -n "llama-bench: "; LD_LIBRARY_PATH=$L $L/llama-bench -m $M -t 2 -r 3 -p 512 -n 0 -o md 2>/dev/null | grep -E '\| *pp'
    echo -n "old: "; $OLD bench -m $M -t 2 -r 3 -p 512 -n 0 -o md 2>/dev/null | grep -E '\| *pp'
    echo -n "new: "; $NEW bench -m $M -t 2 -r 3 -p 512 -n 0 -o md 2>/dev/null | grep -E '\| *pp'
  done
done
date -u
